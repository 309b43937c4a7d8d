import pickle
import warnings

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

IN = 64


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(
        type='ZoomInClassifier',
        backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=2,
            in_channels=512,
            loss=dict(type='CrossEntropyLoss')),
        data_preprocessor=dict(
            type='RadDataPreprocessor', mean=[128.] * 3, std=[64.] * 3),
        entropy_cfg=dict(num_bins=8, window=5))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def make_batch(sizes=((300, 200), (150, 400)), labels=(1, 0), seed=0,
               gray_images=False, gray_copies=False):
    """Real pipeline output: flip, keep a high-res copy, letterbox, pack."""
    rng = np.random.default_rng(seed)
    pipeline = [
        TRANSFORMS.build(
            dict(type='KeepHighRes', max_long_side=256, gray=gray_copies)),
        TRANSFORMS.build(dict(type='LetterboxResize', scale=IN)),
        TRANSFORMS.build(
            dict(
                type='PackInputs',
                algorithm_keys=('hr_img', ),
                meta_keys=('ori_shape', 'img_shape', 'scale_factor',
                           'letterbox_offset', 'hr_scale')))
    ]
    items = []
    for (h, w), label in zip(sizes, labels):
        img = rng.integers(0, 255, (h, w, 3)).astype(np.uint8)
        if gray_images:
            img[...] = img[..., :1]
        # A bright square: something for the network to look at.
        img[h // 3:h // 3 + 20, w // 2:w // 2 + 20] = 255
        results = dict(img=img, ori_shape=(h, w), gt_label=label)
        for t in pipeline:
            results = t(results)
        items.append(results)
    return pseudo_collate(items)


def test_loss_has_one_term_per_scale_and_trains_both():
    model = build(loss_weights=(1.0, 0.5))
    model.train()
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    assert {'s0.loss', 's1.loss'} <= set(losses)
    total = losses['s0.loss'] + losses['s1.loss']
    total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert torch.isfinite(total)


def test_second_scale_loss_is_weighted():
    model = build(loss_weights=(1.0, 0.0))
    model.train()
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    assert losses['s1.loss'].item() == 0.0
    assert losses['s0.loss'].item() > 0


@pytest.mark.parametrize('num_steps', [1, 2])
def test_predict_returns_boxes_inside_the_originals(num_steps):
    model = build(num_steps=num_steps, return_maps=True)
    model.eval()
    data = model.data_preprocessor(make_batch())
    with torch.no_grad():  # as in MMEngine's val loop
        out = model(**data, mode='predict')
    for sample, (h, w) in zip(out, ((300, 200), (150, 400))):
        boxes = sample.zoom_boxes
        assert boxes.shape == (num_steps, 4)
        assert torch.all(boxes[:, :2] >= 0)
        assert torch.all(boxes[:, 2] <= w + 1e-4)
        assert torch.all(boxes[:, 3] <= h + 1e-4)
        # At least the input size in original pixels (both images are
        # larger than 64 px), square when it fits.
        assert torch.all(boxes[:, 2] - boxes[:, 0] >= IN - 1e-4)
        assert torch.all(boxes[:, 3] - boxes[:, 1] >= IN - 1e-4)
        assert sample.scale_scores.shape == (num_steps + 1, 2)
        peaks = sample.saliency_peaks
        assert peaks.shape == (num_steps, 2)
        assert torch.all(peaks >= 0) and torch.all(peaks[:, 0] <= w) and \
            torch.all(peaks[:, 1] <= h)
        # The first peak is the arg-max of the first saliency map, mapped
        # through the letterbox.
        sal = sample.saliency_maps[0].abs().amax(0)
        y, x = divmod(int(sal.argmax()), IN)
        sx, sy = sample.scale_factor
        ox, oy = sample.letterbox_offset
        torch.testing.assert_close(
            peaks[0], torch.tensor([(x + 0.5 - ox) / sx, (y + 0.5 - oy) / sy]))
        torch.testing.assert_close(sample.pred_score,
                                   sample.scale_scores.mean(0))
        assert sample.saliency_maps.shape == (num_steps, 3, IN, IN)
        assert sample.entropy_maps.shape == (num_steps, IN, IN)
    assert not any(p.grad is not None for p in model.parameters())
    # The tall image is padded left and right: no saliency there.
    ox = out[0].letterbox_offset[0]
    assert ox > 0
    assert out[0].saliency_maps[0][..., :ox].abs().max() == 0
    assert out[0].saliency_maps[0][..., ox:IN - ox].abs().max() > 0


def test_combine_modes():
    logits = [torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 4.0]])]
    model = build(combine='last')
    torch.testing.assert_close(model._combine(logits),
                               torch.softmax(logits[1], 1))
    model.combine = 'mean_logits'
    torch.testing.assert_close(model._combine(logits),
                               torch.softmax(torch.tensor([[1.0, 2.0]]), 1))
    with pytest.raises(ValueError, match="'vote'"):
        build(combine='vote')


def test_missing_high_res_copy_is_a_clear_error():
    model = build()
    samples = [DataSample().set_gt_label(0)]
    with pytest.raises(KeyError, match='KeepHighRes'):
        model(torch.zeros(1, 3, IN, IN), samples, mode='loss')


def test_backward_per_scale_gives_the_summed_loss_update():
    """Scale-by-scale backward must equal the default step on the sum."""
    import copy

    from mmengine.optim import OptimWrapper

    per_scale = build(num_steps=2, loss_weights=(1.0, 0.5, 2.0))
    initial = copy.deepcopy(per_scale.state_dict())
    summed = copy.deepcopy(per_scale)
    summed.backward_per_scale = False
    results = []
    for model in (per_scale, summed):
        model.train()
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0))
        log = model.train_step(make_batch(), optim)
        results.append((log, dict(model.named_parameters())))
    (log_a, params_a), (log_b, params_b) = results
    assert set(log_a) == set(log_b)
    for key in log_b:
        torch.testing.assert_close(log_a[key], log_b[key], msg=key)
    moved = 0
    for name, p in params_b.items():
        torch.testing.assert_close(params_a[name], p, atol=1e-5, rtol=1e-4,
                                   msg=name)
        moved += int(not torch.equal(p, initial[name]))
    assert moved > 0  # the step really updated the weights


def test_gray_copies_zoom_like_three_channel_copies():
    """A gray radiograph loaded as 3 channels gives the same crops, hence
    the same second-scale scores, whether its copy keeps 3 channels
    (normalised in the batch) or 1 (normalised after cropping)."""
    model = build(
        num_steps=2,
        data_preprocessor=dict(
            type='RadDataPreprocessor',
            mean=[120., 128., 110.],
            std=[60., 64., 50.],
            to_rgb=True))
    model.eval()
    outs = []
    for gray_copies in (False, True):
        data = model.data_preprocessor(
            make_batch(gray_images=True, gray_copies=gray_copies))
        assert data['data_samples'][0].hr_img.shape[0] == (
            1 if gray_copies else 3)
        outs.append(model(**data, mode='predict'))
    for colour, gray in zip(*outs):
        torch.testing.assert_close(gray.zoom_boxes, colour.zoom_boxes)
        torch.testing.assert_close(
            gray.scale_scores, colour.scale_scores, atol=1e-5, rtol=1e-4)


def test_warns_about_shortcuts_that_make_a_saliency_lattice():
    with pytest.warns(UserWarning, match=r'strided 1x1.*layer2\.0\.'
                      r'downsample\.0 and 2 more.*ResNetV1d'):
        build()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        build(backbone=dict(type='ResNetV1d', depth=18, out_indices=(3, )))


def test_predictions_do_not_carry_the_high_res_batch():
    model = build()
    model.eval()
    data = model.data_preprocessor(make_batch())
    batch_bytes = data['data_samples'][0].hr_img._base.nbytes
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert all('hr_img' not in s for s in out)
    # What tools/test.py --out pickles per sample: far less than the batch
    # of copies that a kept view would drag along.
    assert len(pickle.dumps(out[0].to_dict())) < batch_bytes / 10


def _first_scale_maps(model, bias):
    model.eval()
    with torch.no_grad():
        model.head.fc.bias.copy_(torch.tensor(bias))
    data = model.data_preprocessor(make_batch())
    with torch.no_grad():
        out = model(**data, mode='predict')
    return out, torch.stack([s.saliency_maps[0] for s in out])


def test_predict_target_explains_a_fixed_class():
    # A bias moves the prediction but not the gradient of a class score, so
    # "always class 1" on a model that predicts 0 must give the same maps
    # as "the predicted class" on the same model made to predict 1.
    fixed, fixed_maps = _first_scale_maps(
        build(predict_target=1, return_maps=True), [100.0, 0.0])
    assert all(int(s.pred_label) == 0 for s in fixed)
    _, class1_maps = _first_scale_maps(
        build(return_maps=True), [0.0, 100.0])
    _, class0_maps = _first_scale_maps(
        build(return_maps=True), [100.0, 0.0])
    torch.testing.assert_close(fixed_maps, class1_maps)
    assert not torch.allclose(fixed_maps, class0_maps)


def test_predict_target_is_checked():
    with pytest.raises(ValueError, match="'gt'"):
        build(predict_target='gt')
    with pytest.raises(ValueError, match='True'):
        build(predict_target=True)
    model = build(predict_target=2)
    model.eval()
    data = model.data_preprocessor(make_batch())
    with pytest.raises(ValueError, match='predict_target 2 .* 2 classes'):
        with torch.no_grad():
            model(**data, mode='predict')


def test_flat_saliency_gives_peaks_inside_the_image(monkeypatch):
    import radplugins.models.classifiers.zoom_in_classifier as zoom_module

    def flat(logits, inputs, *args, **kwargs):
        return torch.zeros_like(inputs)

    monkeypatch.setattr(zoom_module, 'class_score_gradients', flat)
    model = build(num_steps=2)
    model.eval()
    sizes = ((300, 200), (150, 400))
    data = model.data_preprocessor(make_batch(sizes=sizes))
    with torch.no_grad():
        out = model(**data, mode='predict')
    # Both images are letterboxed (one left/right, one top/bottom): the
    # first input pixel is padding, which used to be the reported peak.
    assert out[0].letterbox_offset[0] > 0 and out[1].letterbox_offset[1] > 0
    for sample, (h, w) in zip(out, sizes):
        peaks = sample.saliency_peaks
        assert torch.all(peaks >= 0), peaks
        assert torch.all(peaks[:, 0] <= w) and torch.all(peaks[:, 1] <= h)


def test_bfloat16_autocast_trains_and_predicts_in_float32_geometry(
        monkeypatch):
    """CPUAmpOptimWrapper / --amp: the network runs in bfloat16, the zoom's
    saliency, entropy, boxes and probabilities stay float32."""
    from mmengine.optim import build_optim_wrapper

    from radplugins.utils import amp_inference, precision
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)
    model = build(return_maps=True)
    model.eval()
    data = model.data_preprocessor(make_batch())
    with torch.no_grad():
        ref = model(**data, mode='predict')
    with amp_inference(model), torch.no_grad():
        out = model.test_step(make_batch())
    for sample, expected, (h, w) in zip(out, ref, ((300, 200), (150, 400))):
        for key in ('pred_score', 'scale_scores', 'zoom_boxes',
                    'saliency_peaks', 'saliency_maps', 'entropy_maps'):
            assert sample.get(key).dtype == torch.float32, key
        # The first scale: the same input, a bfloat16 forward.
        torch.testing.assert_close(sample.scale_scores[0],
                                   expected.scale_scores[0], atol=0.05,
                                   rtol=0)
        boxes = sample.zoom_boxes
        assert torch.all(boxes[:, :2] >= 0)
        assert torch.all(boxes[:, 2] <= w + 1e-4)
        assert torch.all(boxes[:, 3] <= h + 1e-4)
        assert torch.all(boxes[:, 2:] - boxes[:, :2] >= IN - 1e-4)
    assert any(not torch.equal(a.saliency_maps, b.saliency_maps)
               for a, b in zip(out, ref))
    # The classifier itself scores in float32 under a bare autocast too.
    with torch.autocast('cpu', dtype=torch.bfloat16), torch.no_grad():
        bare = model(**model.data_preprocessor(make_batch()), mode='predict')
    assert bare[0].pred_score.dtype == torch.float32
    assert bare[0].scale_scores.dtype == torch.float32

    model.train()
    optim = build_optim_wrapper(
        model, dict(type='CPUAmpOptimWrapper',
                    optimizer=dict(type='SGD', lr=0.1)))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(make_batch(), optim)
    assert {'s0.loss', 's1.loss', 'loss'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    moved = [n for n, p in model.named_parameters()
             if not torch.equal(p, before[n])]
    assert moved and all(p.dtype == torch.float32
                         for p in model.parameters())
