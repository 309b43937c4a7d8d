import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from scipy.ndimage import map_coordinates

from radplugins.models.box_refiners import (BoxEdgeRefiner, crop_windows,
                                            decode_edges, edge_peak_mass,
                                            edge_soft_targets, from_window,
                                            to_window)


def build_refiner(**kwargs):
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(
            dict(type='BoxEdgeRefiner', num_classes=2, **kwargs))


def test_crop_windows_matches_scipy_bilinear_sampling():
    # Independent reference: scipy's map_coordinates (pixel centres at
    # integers, order 1, edge pixels repeated), sampling window pixel u at
    # image x = x0 + (u + 0.5) * sx in continuous coordinates.
    rng = np.random.default_rng(0)
    image = rng.random((40, 50)).astype(np.float32)
    box = np.array([12.3, 8.6, 30.1, 21.4])
    size, expand = 16, 1.5
    windows, frames = crop_windows(
        torch.from_numpy(image)[None],
        torch.from_numpy(box[None]).float(), size, expand)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = (box[2] - box[0]) * expand, (box[3] - box[1]) * expand
    sx, sy = w / size, h / size
    centres = np.arange(size) + 0.5
    ys = cy - h / 2 + centres * sy - 0.5
    xs = cx - w / 2 + centres * sx - 0.5
    grid_y, grid_x = np.meshgrid(ys, xs, indexing='ij')
    expected = map_coordinates(
        image.astype(np.float64), [grid_y, grid_x], order=1, mode='nearest')
    np.testing.assert_allclose(windows[0, 0].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(frames[0].numpy(),
                               [cx - w / 2, cy - h / 2, sx, sy], rtol=1e-5)
    # A window reaching past the image repeats its edge pixels.
    windows, _ = crop_windows(
        torch.from_numpy(image)[None], torch.tensor([[0.0, 0, 4, 4]]), 8,
        2.0)
    np.testing.assert_allclose(windows[0, 0, 0, 0].item(), image[0, 0],
                               atol=1e-6)


def test_window_coordinates_round_trip_and_hand_computed():
    frames = torch.tensor([[10.0, 20.0, 0.5, 2.0]])
    box = torch.tensor([[12.0, 24.0, 14.0, 30.0]])
    # (12 - 10) / 0.5 = 4, (24 - 20) / 2 = 2, (14 - 10) / 0.5, (30 - 20) / 2
    torch.testing.assert_close(to_window(box, frames),
                               torch.tensor([[4.0, 2.0, 8.0, 5.0]]))
    torch.testing.assert_close(from_window(to_window(box, frames), frames),
                               box)


def test_soft_targets_sum_to_one_with_the_edge_as_expectation():
    edges = torch.tensor([[3.5, 7.25, 10.9, 0.2]])
    targets = edge_soft_targets(edges, 16)
    torch.testing.assert_close(targets.sum(-1), torch.ones(1, 4))
    centres = torch.arange(16) + 0.5
    expectation = (targets * centres).sum(-1)
    # The last edge lies below the first centre: clamped to it.
    torch.testing.assert_close(expectation,
                               torch.tensor([[3.5, 7.25, 10.9, 0.5]]))
    # 7.25 sits between centres 6.5 and 7.5: weights 0.25 and 0.75.
    torch.testing.assert_close(targets[0, 1, 6:8], torch.tensor([0.25, 0.75]))


def test_decode_edges_ignores_a_second_peak_outside_the_window():
    logits = torch.full((1, 4, 32), -30.0)
    logits[..., 10] = 5.0
    logits[..., 11] = 5.0  # mode between 10.5 and 11.5: 11.0
    logits[..., 25] = 4.9  # far away, nearly as strong
    decoded = decode_edges(logits, window=3)
    torch.testing.assert_close(decoded, torch.full((1, 4), 11.0))
    # Without the window the far peak drags the expectation off.
    assert decode_edges(logits, window=32)[0, 0] > 14


def test_refine_returns_the_edges_its_logits_point_at(monkeypatch):
    # Logits peaked at known window positions must come back as those
    # positions in image pixels, through the same window geometry the
    # crop used, for every box and round.
    refiner = build_refiner(size=32, expand=2.0)
    boxes = torch.tensor([[10.0, 12.0, 30.0, 20.0], [40.0, 5.0, 48.0,
                                                     25.0]])
    true = torch.tensor([[11.0, 12.5, 29.0, 21.0], [41.0, 6.0, 47.5, 24.0]])

    def peaked_logits(windows, labels):
        # Windows are built from the current boxes, centred, twice their
        # size: recover their frames to aim at the true edges.
        current = peaked_logits.current
        size = 32
        extent = (current[:, 2:] - current[:, :2]).clamp(min=2) * 2.0
        origin = (current[:, :2] + current[:, 2:]) / 2 - extent / 2
        frames = torch.cat([origin, extent / size], dim=1)
        target = to_window(true, frames)
        logits = torch.log(edge_soft_targets(target, size) + 1e-12)
        peaked_logits.current = from_window(decode_edges(logits), frames)
        return logits

    peaked_logits.current = boxes
    monkeypatch.setattr(refiner, 'edge_logits', peaked_logits)
    image = torch.zeros(60, 60)
    refined = refiner.refine(image, boxes, torch.tensor([0, 1]), rounds=2)
    torch.testing.assert_close(refined, true, atol=1e-4, rtol=0)


def test_refine_checks_labels_and_keeps_empty_input():
    refiner = build_refiner()
    image = torch.zeros(20, 20)
    with pytest.raises(ValueError, match=r'labels must be in \[0, 2\)'):
        refiner.refine(image, torch.tensor([[1.0, 1, 5, 5]]),
                       torch.tensor([2]))
    assert refiner.refine(image, torch.zeros(0, 4),
                          torch.zeros(0, dtype=torch.long)).shape == (0, 4)


def test_loss_learns_a_step_edge():
    # A dark window with a bright block: a few steps of training on one
    # batch must bring the decoded edges close to the block's edges.
    torch.manual_seed(0)
    refiner = build_refiner(size=16, dilations=(1, 2))
    windows = torch.zeros(8, 1, 16, 16)
    edges = []
    for k in range(8):
        x1, y1 = 3 + k % 3, 4 + k % 2
        x2, y2 = 11 + k % 4, 12 - k % 3
        windows[k, 0, y1:y2, x1:x2] = 1
        edges.append([x1, y1, x2, y2])
    samples = [
        InstanceData(
            edges=torch.tensor(edges, dtype=torch.float32),
            labels=torch.zeros(8, dtype=torch.long))
    ]
    optimizer = torch.optim.Adam(refiner.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        losses = refiner(windows, samples, mode='loss')
        optimizer.zero_grad()
        losses['loss_edge'].backward()
        optimizer.step()
        first = losses['edge_error'].item() if first is None else first
    assert losses['edge_error'].item() < 0.5 < first


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='expand must be > 1, got 1.0'):
        BoxEdgeRefiner(num_classes=1, expand=1.0)
    with pytest.raises(ValueError, match='num_classes must be >= 1'):
        BoxEdgeRefiner(num_classes=0)
    refiner = build_refiner()
    with pytest.raises(ValueError, match="mode must be 'loss' or 'tensor'"):
        refiner(torch.zeros(1, 1, 64, 64),
                [dict(labels=torch.zeros(1), edges=torch.zeros(1, 4))],
                mode='predict')
    with pytest.raises(ValueError, match='2 windows but 1 labels'):
        refiner(torch.zeros(2, 1, 64, 64), [dict(labels=torch.zeros(1))])


def test_edge_peak_mass_hand_computed():
    # Softmax of [log 0.5, log 0.3, log 0.2] spread at positions 2, 4 and
    # 9: within 3 of the mode (2) lie 0.5 + 0.3.
    logits = torch.full((1, 4, 12), -1e4)
    logits[..., 2] = np.log(0.5)
    logits[..., 4] = np.log(0.3)
    logits[..., 9] = np.log(0.2)
    torch.testing.assert_close(
        edge_peak_mass(logits, window=3), torch.full((1, 4), 0.8))


def test_edge_confidence_is_the_mean_peak_mass(monkeypatch):
    refiner = build_refiner(size=16)
    logits = torch.full((2, 4, 16), -1e4)
    logits[:, :, 5] = 0.0  # sure of every edge
    logits[1, 0, 5] = np.log(0.4)  # box 1: one edge at 0.4, 0.6 far off
    logits[1, 0, 14] = np.log(0.6)
    monkeypatch.setattr(refiner, 'edge_logits', lambda w, l: logits)
    confidence = refiner.edge_confidence(
        torch.zeros(30, 30), torch.tensor([[2.0, 2, 8, 8], [10, 10, 20,
                                                          20]]),
        torch.tensor([0, 1]))
    # Box 1: the mode is now position 14 (0.6), so (0.6 + 1 + 1 + 1) / 4.
    torch.testing.assert_close(confidence, torch.tensor([1.0, 0.9]))


def flip_boxes_x(boxes, width):
    return torch.stack([width - boxes[:, 2], boxes[:, 1],
                        width - boxes[:, 0], boxes[:, 3]], dim=1)


def transpose_boxes(boxes):
    return boxes[:, [1, 0, 3, 2]]


@pytest.mark.parametrize('symmetries', [2, 8])
def test_symmetric_refinement_moves_with_a_flipped_image(symmetries):
    # An untrained refiner answers differently for a mirrored window;
    # averaged over the flips its answer for the mirrored image must be
    # the mirror of its answer (and, over all 8, the same for a
    # transposed image), up to float rounding.
    torch.manual_seed(0)
    refiner = build_refiner(size=16, test_symmetries=symmetries).eval()
    image = torch.rand(40, 50) * 255
    boxes = torch.tensor([[12.3, 8.6, 30.1, 21.4], [2.0, 20.5, 14.0,
                                                    38.0]])
    labels = torch.tensor([0, 1])
    refined = refiner.refine(image, boxes, labels, rounds=2)
    mirrored = refiner.refine(
        image.flip(-1), flip_boxes_x(boxes, 50), labels, rounds=2)
    torch.testing.assert_close(
        mirrored, flip_boxes_x(refined, 50), atol=1e-4, rtol=0)
    confidence = refiner.edge_confidence(image, refined, labels)
    torch.testing.assert_close(
        refiner.edge_confidence(image.flip(-1), mirrored, labels),
        confidence, atol=1e-5, rtol=0)
    if symmetries == 8:
        transposed = refiner.refine(image.T, transpose_boxes(boxes),
                                    labels, rounds=2)
        torch.testing.assert_close(
            transposed, transpose_boxes(refined), atol=1e-4, rtol=0)
    # The same refiner without the average is not equivariant, so the
    # checks above test the averaging.
    refiner.test_symmetries = 1
    plain = refiner.refine(image, boxes, labels, rounds=2)
    plain_mirrored = refiner.refine(
        image.flip(-1), flip_boxes_x(boxes, 50), labels, rounds=2)
    assert (plain_mirrored - flip_boxes_x(plain, 50)).abs().max() > 1e-2


def test_one_symmetry_is_the_plain_refiner():
    torch.manual_seed(0)
    refiner = build_refiner(size=16).eval()
    windows = torch.rand(3, 1, 16, 16)
    labels = torch.tensor([0, 1, 0])
    logits = refiner.edge_logits(windows, labels)
    torch.testing.assert_close(
        refiner.symmetric_edge_log_probs(windows, labels),
        logits.log_softmax(-1))


@pytest.mark.parametrize('symmetries', [2, 4, 8])
def test_symmetric_log_probs_map_each_view_back(symmetries):
    # A stand-in network that points each edge at the first or last bright
    # column (x1, x2) or row (y1, y2) of whatever view it is shown. Every
    # view, mapped back correctly (a flip swaps the two edges and reverses
    # their positions, a transpose swaps the axes), then points at the
    # rectangle's own rows and columns, so the average keeps all the mass
    # there; a view mapped back wrongly would put it elsewhere.
    size = 8
    refiner = build_refiner(size=size, test_symmetries=symmetries)
    windows = torch.zeros(1, 1, size, size)
    windows[0, 0, 1:3, 2:6] = 1.0  # rows 1-2, columns 2-5

    def first_and_last(mask):
        first = mask.float().argmax(-1)
        last = size - 1 - mask.flip(-1).float().argmax(-1)
        return first, last

    def bright_extent_logits(views, labels):
        bright = views[:, 0] > 0.5
        x1, x2 = first_and_last(bright.any(dim=1))
        y1, y2 = first_and_last(bright.any(dim=2))
        logits = torch.full((len(views), 4, size), -30.0)
        for edge, position in enumerate((x1, y1, x2, y2)):
            logits[torch.arange(len(views)), edge, position] = 0.0
        return logits

    refiner.edge_logits = bright_extent_logits
    log_probs = refiner.symmetric_edge_log_probs(windows, torch.tensor([0]))
    assert log_probs.argmax(-1).tolist() == [[2, 1, 5, 2]]
    torch.testing.assert_close(
        log_probs.amax(-1), torch.zeros(1, 4), atol=1e-6, rtol=0)


def test_bad_test_symmetries_are_named():
    with pytest.raises(ValueError, match='test_symmetries must be 1, 2, 4 '
                       'or 8, got 3'):
        BoxEdgeRefiner(num_classes=1, test_symmetries=3)
