"""SpineMultiTaskClassifier: branch points, loss, TTA and hotspots."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from radplugins.datasets.transforms import disc_tta_views

WIDTHS = (4, 8, 8, 8, 8, 16, 16)


def build(branch_point='conv5', **kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='SpineMultiTaskClassifier',
            backbone=dict(type='VGGM1024', widths=WIDTHS),
            branch_point=branch_point,
            **kwargs))


@pytest.mark.parametrize(
    'point', ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7',
              None])
def test_shapes_and_sharing_for_every_branch_point(point):
    model = build(point)
    logits = model(torch.rand(2, 9, 112, 224))
    assert [tuple(lg.shape) for lg in logits] == [(2, 5), (2, 4), (2, 2),
                                                   (2, 2), (2, 2), (2, 2)]
    shared = len(model.trunk)
    assert shared == (0 if point is None else
                      ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6',
                       'fc7'].index(point) + 1)
    assert all(len(t) == 7 - shared for t in model.towers)
    if 0 < 7 - shared:
        # Towers are separate parameters, differently initialised.
        w0 = next(model.towers[0].parameters())
        w1 = next(model.towers[1].parameters())
        assert w0 is not w1 and not torch.equal(w0, w1)


def samples(labels):
    out = []
    for row in labels:
        s = DataSample()
        s.set_field(np.array(row), 'task_labels')
        out.append(s)
    return out


def test_loss_with_missing_labels_and_a_task_without_any():
    model = build()
    labels = [[0, 1, -1, 0, 1, -1], [4, -1, -1, 1, 0, -1],
              [2, 3, -1, -1, 1, -1]]
    model.set_class_frequencies(np.array(labels))
    losses = model.loss(torch.rand(3, 9, 112, 224), samples(labels))
    assert set(losses) == {
        'loss_pfirrmann', 'loss_narrowing', 'loss_upper_endplate',
        'loss_lower_endplate', 'loss_upper_marrow', 'loss_lower_marrow'
    }
    assert losses['loss_upper_endplate'].item() == 0.0
    assert losses['loss_lower_marrow'].item() == 0.0
    total = sum(losses.values())
    assert torch.isfinite(total) and total.item() > 0
    total.backward()
    assert all(
        torch.isfinite(p.grad).all() for p in model.parameters()
        if p.grad is not None)
    # alpha = 1 / freq: narrowing labels 1 and 3, once each.
    np.testing.assert_allclose(
        model.class_weights('narrowing').numpy(), [0, 2, 0, 2])


def test_tta_averages_the_54_views():
    model = build(tta=True, tta_chunk=1).eval()
    x = torch.rand(2, 9, 112, 224)
    with torch.no_grad():
        got = model.predict_scores(x)
        model.tta = False
        views = model.predict_scores(disc_tta_views(x))
    for g, v in zip(got, views):
        torch.testing.assert_close(g, v.view(2, 54, -1).mean(1))
    assert not torch.allclose(got[0], views[0][26::54])


class LinearTasks(torch.nn.Module):
    """Linear scores: y_c = <w_c, x>, the analytic hotspot is |w_c|."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.w = torch.nn.Parameter(torch.randn(2, 9, 112, 224))

    def forward(self, x):
        return [torch.einsum('nshw,cshw->nc', x, self.w)]


def test_hotspot_of_a_linear_model_is_abs_w():
    from radplugins.saliency import evidence_hotspots
    model = LinearTasks()
    x = torch.rand(3, 9, 112, 224)
    targets = torch.tensor([[0], [1], [1]])
    maps = evidence_hotspots(model, model, x, targets, [0], num_aug=0)
    expected = model.w.detach().abs()[targets[:, 0]]
    torch.testing.assert_close(maps[:, 0], expected)
    # Under a slice flip the network sees x[flip]; the gradient w.r.t.
    # the original x is |w| flipped back (the chain rule of a
    # permutation), which the inverse warp must reproduce exactly. An
    # intensity shift does not change a linear model's gradient.
    maps = evidence_hotspots(
        model, model, x, targets, [0], num_aug=4,
        aug_kwargs=dict(max_angle=0, max_shift=(0, 0), max_slice_shift=0,
                        scale_range=(1, 1), max_intensity=0.1,
                        flip_prob=1.0),
        generator=torch.Generator().manual_seed(0))
    # affine_grid's identity is exact only to float rounding.
    torch.testing.assert_close(
        maps[:, 0], expected.flip(1), atol=1e-4, rtol=1e-4)


def test_log_odds_hotspot_of_a_linear_model_is_abs_w_difference():
    from radplugins.saliency import evidence_hotspots
    model = LinearTasks()
    x = torch.rand(3, 9, 112, 224)
    targets = torch.tensor([[0], [1], [1]])
    maps = evidence_hotspots(model, model, x, targets, [0], num_aug=0,
                             score='log_odds')
    w = model.w.detach()
    # Two classes: d(y_c - y_other)/dx = w_c - w_other.
    expected = (w[1] - w[0]).abs().expand(3, -1, -1, -1)
    torch.testing.assert_close(maps[:, 0], expected)
    with pytest.raises(ValueError, match="'margin'"):
        evidence_hotspots(model, model, x, targets, [0], num_aug=0,
                          score='margin')


def test_smoothed_hotspot_is_the_blurred_abs_w():
    """In-plane smoothing of a linear model's hotspot equals SciPy's
    Gaussian filter of ``|w|`` slice by slice (mirrored border, 3 sigma)."""
    from scipy.ndimage import gaussian_filter

    from radplugins.saliency import evidence_hotspots
    model = LinearTasks()
    x = torch.rand(2, 9, 112, 224)
    targets = torch.tensor([[0], [1]])
    maps = evidence_hotspots(model, model, x, targets, [0], num_aug=0,
                             smooth_sigma=2.5)
    w = model.w.detach().abs().double().numpy()
    for i, c in enumerate(targets[:, 0].tolist()):
        expected = gaussian_filter(
            w[c], sigma=(0, 2.5, 2.5), mode='mirror', truncate=3.0)
        np.testing.assert_allclose(maps[i, 0].numpy(), expected, atol=1e-5)
    for bad in (-1.0, 'wide', True):
        with pytest.raises(ValueError, match='smooth_sigma'):
            evidence_hotspots(model, model, x, targets, [0], num_aug=0,
                              smooth_sigma=bad)


def test_gradient_x_input_hotspot_of_a_linear_model_is_abs_w_x():
    from radplugins.saliency import evidence_hotspots
    model = LinearTasks()
    x = torch.rand(3, 9, 112, 224)
    targets = torch.tensor([[0], [1], [1]])
    w = model.w.detach()[targets[:, 0]]
    maps = evidence_hotspots(model, model, x, targets, [0], num_aug=0,
                             attribution='gradient_x_input')
    torch.testing.assert_close(maps[:, 0], (w * x).abs())
    # A slice flip: the copy is x flipped, its gradient w, and the map of
    # the copy |w * flip(x)| flipped back is |flip(w) * x|.
    maps = evidence_hotspots(
        model, model, x, targets, [0], num_aug=4,
        aug_kwargs=dict(max_angle=0, max_shift=(0, 0), max_slice_shift=0,
                        scale_range=(1, 1), max_intensity=0, flip_prob=1.0),
        generator=torch.Generator().manual_seed(0),
        attribution='gradient_x_input')
    torch.testing.assert_close(
        maps[:, 0], (w.flip(1) * x).abs(), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="attribution 'saliency'"):
        evidence_hotspots(model, model, x, targets, [0], num_aug=0,
                          attribution='saliency')


NO_AUGMENTATION = dict(max_angle=0, max_shift=(0, 0), max_slice_shift=0,
                       scale_range=(1, 1), max_intensity=0, flip_prob=0.0)


def test_integrated_gradients_of_a_linear_model_is_abs_w_x_minus_b():
    from radplugins.saliency import evidence_hotspots
    model = LinearTasks()
    x = torch.rand(3, 9, 112, 224)
    targets = torch.tensor([[0], [1], [1]])
    w = model.w.detach()[targets[:, 0]]
    # The gradient of a linear score is w on the whole path, so every path
    # point gives (x - b) * w exactly.
    for baseline in (0.0, 0.5):
        maps = evidence_hotspots(
            model, model, x, targets, [0], num_aug=3,
            aug_kwargs=NO_AUGMENTATION,
            generator=torch.Generator().manual_seed(0),
            attribution='integrated_gradients', baseline=baseline)
        torch.testing.assert_close(
            maps[:, 0], (w * (x - baseline)).abs(), atol=1e-4, rtol=1e-4)
    # Under a slice flip the copy's evidence (flip(x) - b) * w maps back
    # to (x - b) * flip(w); the intensity shift moves the copy and its
    # reference alike.
    maps = evidence_hotspots(
        model, model, x, targets, [0], num_aug=4,
        aug_kwargs=dict(NO_AUGMENTATION, flip_prob=1.0, max_intensity=0.1),
        generator=torch.Generator().manual_seed(0),
        attribution='integrated_gradients', baseline=0.5)
    torch.testing.assert_close(
        maps[:, 0], (w.flip(1) * (x - 0.5)).abs(), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match='num_aug=0'):
        evidence_hotspots(model, model, x, targets, [0], num_aug=0,
                          attribution='integrated_gradients')


class MonotoneScore(torch.nn.Module):
    """y = sum(softplus(3 conv(x) - 2)) with non-negative weights: for
    x >= b every path gradient and every x - b is non-negative, so the
    absolute maps keep their sign and must sum to y(x) - y(b)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.conv = torch.nn.Conv2d(9, 4, 5, padding=2, bias=False)
        with torch.no_grad():
            self.conv.weight.uniform_(0, 0.2)

    def forward(self, x):
        y = torch.nn.functional.softplus(3 * self.conv(x) - 2)
        return [y.flatten(1).sum(1, keepdim=True)]


def test_integrated_gradients_completeness_against_the_path_integral():
    from radplugins.saliency import evidence_hotspots
    model = MonotoneScore()
    x = torch.rand(2, 9, 112, 224) * 0.5 + 0.5
    baseline = 0.25
    with torch.no_grad():
        gain = (model(x)[0] - model(torch.full_like(x, baseline))[0])[:, 0]
    maps = evidence_hotspots(
        model, model, x, torch.zeros(2, 1, dtype=torch.long), [0],
        num_aug=64, aug_kwargs=NO_AUGMENTATION,
        generator=torch.Generator().manual_seed(0),
        attribution='integrated_gradients', baseline=baseline)
    # Stratified sampling of a smooth one-dimensional integral: 64 points
    # are well within 1 % of the textbook completeness y(x) - y(b).
    torch.testing.assert_close(
        maps[:, 0].flatten(1).sum(1), gain, rtol=1e-2, atol=0)
    assert gain.min() > 100


def test_reference_volumes_and_path_points():
    from radplugins.saliency import (reference_volumes,
                                     stratified_path_points)
    x = torch.rand(2, 3, 16, 20)
    assert torch.equal(reference_volumes(x, 0.5), torch.full_like(x, 0.5))
    # A blur of a constant volume is the constant; of a slice, a smoothed
    # slice with the same mean away from the border.
    const = torch.full_like(x, 0.3)
    torch.testing.assert_close(
        reference_volumes(const, dict(type='blur', sigma=2.0)), const)
    blurred = reference_volumes(x, dict(type='blur', sigma=2.0))
    assert blurred.shape == x.shape and blurred.std() < x.std() / 2
    # A hand-computed Gaussian (truncated at 3 sigma, reflected border)
    # at one pixel away from the border.
    sigma, radius = 1.0, 3
    taps = np.exp(-0.5 * np.arange(-radius, radius + 1)**2 / sigma**2)
    kernel = np.outer(taps, taps) / taps.sum()**2
    blurred = reference_volumes(x, dict(type='blur', sigma=sigma))
    patch = x[1, 2, 5 - radius:5 + radius + 1, 7 - radius:7 + radius + 1]
    np.testing.assert_allclose(blurred[1, 2, 5, 7].item(),
                               (patch.numpy() * kernel).sum(), rtol=1e-5)
    for bad in (True, 'blur', dict(type='blur'), dict(type='median')):
        with pytest.raises(ValueError, match='hotspot baseline'):
            reference_volumes(x, bad)
    alpha = stratified_path_points(3, 4, torch.Generator().manual_seed(0))
    k = torch.arange(4).repeat(3)
    assert ((alpha >= k / 4) & (alpha < (k + 1) / 4)).all()


def test_predict_stores_scores_and_hotspots():
    model = build(hotspot_cfg=dict(enabled=True, num_aug=2,
                                   target='positive')).eval()
    out = model.predict(torch.rand(2, 9, 112, 224))
    assert out[0].task_preds.shape == (6, )
    assert out[0].hotspots.shape == (4, 9, 112, 224)
    assert out[0].hotspot_tasks == ('upper_endplate', 'lower_endplate',
                                    'upper_marrow', 'lower_marrow')
    assert (out[0].hotspots >= 0).all()
    # Model restored: training mode untouched, parameters trainable.
    assert all(p.requires_grad for p in model.parameters())
    # The attribution option reaches the maps: a slice of zeros has a
    # gradient but no gradient-x-input evidence.
    assert model._input_normalisation() is None
    volume = torch.rand(1, 9, 112, 224)
    volume[:, 4] = 0
    model.hotspot_cfg.update(num_aug=0)
    assert model.predict(volume)[0].hotspots[:, 4].max() > 0
    model.hotspot_cfg.update(attribution='gradient_x_input')
    maps = model.predict(volume)[0].hotspots
    assert maps[:, 4].max() == 0 and maps.max() > 0
    # Smoothing and the score option reach the maps; the blur stays within
    # each slice.
    from radplugins.saliency import smooth_in_plane
    model.hotspot_cfg.update(smooth_sigma=2.0)
    smoothed = model.predict(volume)[0].hotspots
    torch.testing.assert_close(smoothed, smooth_in_plane(maps, 2.0))
    assert smoothed[:, 4].max() == 0
    model.hotspot_cfg.update(smooth_sigma=0.0, score='log_odds')
    assert not torch.allclose(model.predict(volume)[0].hotspots, maps)
    model.hotspot_cfg.update(score='logit')
    # Against a reference of 0.5 the zero slice is evidence, and the
    # option reaches the maps.
    model.hotspot_cfg.update(attribution='integrated_gradients',
                             baseline=0.5, num_aug=2)
    maps = model.predict(volume)[0].hotspots
    assert maps[:, 4].max() > 0


def test_task_overrides_give_each_task_its_own_hotspot_settings():
    """A task with overrides gets the maps a run with those settings for
    every task gives it, and the other tasks keep theirs: each settings
    group draws its copies from the seed afresh."""
    tasks = ('upper_endplate', 'lower_endplate', 'upper_marrow',
             'lower_marrow')
    model = build(hotspot_cfg=dict(enabled=True, num_aug=2, tasks=tasks,
                                   target='positive',
                                   smooth_sigma=1.0)).eval()
    volume = torch.rand(2, 9, 112, 224)
    plain = model.predict(volume)[0].hotspots
    marrow = dict(attribution='integrated_gradients', baseline=0.5,
                  smooth_sigma=0.0)
    model.hotspot_cfg.update(**marrow)
    integrated = model.predict(volume)[0].hotspots
    model.hotspot_cfg.update(attribution='gradient', baseline=0.0,
                             smooth_sigma=1.0,
                             task_overrides=dict(upper_marrow=marrow,
                                                 lower_marrow=marrow))
    assert [cols for _, cols in model._hotspot_groups(tasks)] == [[0, 1],
                                                                  [2, 3]]
    mixed = model.predict(volume)[0].hotspots
    torch.testing.assert_close(mixed[:2], plain[:2])
    torch.testing.assert_close(mixed[2:], integrated[2:])
    assert not torch.allclose(mixed[2:], plain[2:])
    # An override equal to the shared settings adds no pass.
    model.hotspot_cfg.update(task_overrides=dict(upper_endplate=dict(
        smooth_sigma=1.0)))
    assert len(model._hotspot_groups(tasks)) == 1
    # Explaining fewer tasks leaves the overrides of the others unused:
    # the kept tasks get the maps they get among all four.
    model.hotspot_cfg.update(task_overrides=dict(upper_marrow=marrow,
                                                 lower_marrow=marrow),
                             tasks=('upper_marrow', ))
    torch.testing.assert_close(model.predict(volume)[0].hotspots,
                               mixed[2:3])
    model.hotspot_cfg.update(tasks=('lower_endplate', ))
    torch.testing.assert_close(model.predict(volume)[0].hotspots,
                               mixed[1:2])
    model.hotspot_cfg.update(tasks=tasks)
    model.hotspot_cfg.update(task_overrides=dict(upper_marow=marrow))
    with pytest.raises(ValueError, match="'upper_marow'"):
        model.predict(volume)
    # Unused overrides are still checked.
    model.hotspot_cfg.update(task_overrides=dict(narrowing=dict(
        rule='guided')))
    with pytest.raises(ValueError, match=r"narrowing.*\['rule'\]"):
        model.predict(volume)
    model.hotspot_cfg.update(task_overrides=dict(upper_marrow=dict(
        rule='guided')))
    with pytest.raises(ValueError, match=r"upper_marrow.*\['rule'\]"):
        model.predict(volume)


MEAN, STD = 0.35, 0.25


def build_normalising(**kwargs):
    return build(
        data_preprocessor=dict(
            type='mmpretrain.ClsDataPreprocessor',
            mean=[MEAN] * 9,
            std=[STD] * 9),
        **kwargs)


def test_tta_cuts_views_from_the_raw_volume():
    """With a normalising preprocessor the 54 views are cut from the raw
    volume (fill 0) and normalised afterwards, as training augments raw
    volumes; filling the normalised input with 0 would show the network
    the mean where the volume has nothing."""
    model = build_normalising(tta=True, tta_chunk=1).eval()
    raw = torch.rand(2, 9, 112, 224)
    with torch.no_grad():
        got = model.predict_scores((raw - MEAN) / STD)
        model.tta = False
        views = model.predict_scores((disc_tta_views(raw) - MEAN) / STD)
    for g, v in zip(got, views):
        torch.testing.assert_close(g, v.view(2, 54, -1).mean(1))


def test_hotspot_copies_fill_with_the_volume_zero_and_use_raw_units():
    model = build_normalising().eval()
    raw = torch.rand(1, 9, 112, 224) + 0.5
    seen = []
    task_logits = model.task_logits

    def spy(x):
        seen.append(x.detach().clone())
        return task_logits(x)

    model.task_logits = spy
    targets = torch.ones(1, 1, dtype=torch.long)
    # A pure 30-pixel shift: the copy's right border left the field of
    # view, so the network must see the normalised zero there.
    model.hotspots((raw - MEAN) / STD, targets, ['upper_marrow'],
                   num_aug=1,
                   aug_kwargs=dict(max_angle=0, max_shift=(30, 0),
                                   max_slice_shift=0, scale_range=(1, 1),
                                   max_intensity=0, flip_prob=0),
                   generator=torch.Generator().manual_seed(3))
    copy = seen[0][0]
    assert copy.min().item() == pytest.approx(-MEAN / STD, abs=1e-5)
    border = (copy - (-MEAN / STD)).abs() < 1e-5
    assert border.any(-1).any(-1).all()  # in every slice
    # Without augmentation the map is |dy/d raw| = |dy/d input| / std.
    seen.clear()
    x = ((raw - MEAN) / STD).requires_grad_(True)
    maps = model.hotspots(x.detach(), targets, ['upper_marrow'], num_aug=0)
    score = task_logits(x)[4][0, 1]
    (grad, ) = torch.autograd.grad(score, x)
    torch.testing.assert_close(maps[:, 0], grad.abs() / STD)


def test_unknown_branch_point():
    with pytest.raises(ValueError, match="unknown branch point 'conv9'"):
        build('conv9')
