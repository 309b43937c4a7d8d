import numpy as np
import pytest
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.registry import DefaultScope

from radplugins.datasets.transforms.box_edge_windows import \
    SampleBoxEdgeWindows


def block_image():
    # A bright block on a dark background covering pixels x 20..43,
    # y 30..45: its box, in continuous coordinates, is [20, 30, 44, 46].
    img = np.full((80, 90), 20, np.uint8)
    img[30:46, 20:44] = 220
    return img, np.array([[20.0, 30.0, 44.0, 46.0]])


def sample(transform, img, boxes, labels, ignore=None):
    results = dict(
        img=img,
        gt_bboxes=HorizontalBoxes(np.asarray(boxes, np.float32)),
        gt_bboxes_labels=np.asarray(labels, np.int64),
        img_path='block.png')
    if ignore is not None:
        results['gt_ignore_flags'] = np.asarray(ignore, bool)
    return transform(results)


def test_targets_are_where_the_block_ends_in_every_window():
    np.random.seed(0)
    transform = SampleBoxEdgeWindows(size=32, expand=2.0, num_per_box=40)
    img, boxes = block_image()
    out = sample(transform, img, boxes, [1])
    windows = out['inputs'].numpy()[:, 0]
    edges = out['data_samples'].edges.numpy()
    assert windows.shape == (40, 32, 32)
    assert out['data_samples'].labels.tolist() == [1] * 40
    assert sorted(out) == ['data_samples', 'inputs']
    for window, (x1, y1, x2, y2) in zip(windows, edges):
        # Undo the random negation: the block is what differs from the
        # window's corner (background, as the block sits in the middle).
        inside = np.abs(window - window[0, 0]) > 100
        ys, xs = np.nonzero(inside)
        # A bilinear sample is past half-way inside the block exactly
        # within its edges; at a window pixel spacing of under 1.5 px the
        # bounding box of such samples is within one window pixel.
        assert abs(xs.min() - x1) <= 1 and abs(xs.max() + 1 - x2) <= 1
        assert abs(ys.min() - y1) <= 1 and abs(ys.max() + 1 - y2) <= 1


def test_jittered_boxes_overlap_the_truth_by_min_iou():
    # The window is centred on the jittered box at twice its size, so in
    # window pixels the jittered box is the middle half, [16, 16, 48, 48].
    np.random.seed(1)
    transform = SampleBoxEdgeWindows(
        size=64, expand=2.0, num_per_box=200, min_iou=0.6,
        sigma_range=(0.05, 0.3))
    img, boxes = block_image()
    edges = sample(transform, img, boxes, [0])['data_samples'].edges
    middle = np.array([16.0, 16.0, 48.0, 48.0])
    # IoU by hand: intersection over union of each target with the middle.
    e = edges.numpy().astype(float)
    inter = (np.clip(np.minimum(e[:, 2], 48) - np.maximum(e[:, 0], 16), 0,
                     None) *
             np.clip(np.minimum(e[:, 3], 48) - np.maximum(e[:, 1], 16), 0,
                     None))
    union = (e[:, 2] - e[:, 0]) * (e[:, 3] - e[:, 1]) + 32 * 32 - inter
    assert (inter / union).min() >= 0.6 - 1e-4
    # Not all identical: the jitter moves them.
    assert np.ptp(edges.numpy()) > 4


def test_ignored_and_missing_boxes():
    transform = SampleBoxEdgeWindows(size=16, num_per_box=3)
    img, boxes = block_image()
    two = np.concatenate([boxes, [[60.0, 10.0, 70.0, 20.0]]])
    out = sample(transform, img, two, [0, 1], ignore=[False, True])
    assert out['inputs'].shape == (3, 1, 16, 16)
    assert out['data_samples'].labels.tolist() == [0, 0, 0]
    out = sample(transform, img, np.zeros((0, 4)), [])
    assert out['inputs'].shape == (0, 1, 16, 16)
    assert out['data_samples'].edges.shape == (0, 4)


def test_colour_images_are_averaged_and_registry_builds_it():
    with DefaultScope.overwrite_default_scope('mmdet'):
        transform = TRANSFORMS.build(
            dict(type='SampleBoxEdgeWindows', size=16, num_per_box=1,
                 augment=False))
    img, boxes = block_image()
    colour = np.dstack([img, img, img])
    np.random.seed(2)
    gray = sample(transform, img, boxes, [0])['inputs']
    np.random.seed(2)
    rgb = sample(transform, colour, boxes, [0])['inputs']
    np.testing.assert_allclose(gray.numpy(), rgb.numpy(), atol=1e-4)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='num_per_box must be >= 1, got 0'):
        SampleBoxEdgeWindows(num_per_box=0)
    with pytest.raises(ValueError, match=r'sigma_range .* got \(0.2, 0.1\)'):
        SampleBoxEdgeWindows(sigma_range=(0.2, 0.1))
    with pytest.raises(ValueError, match='min_iou must be in'):
        SampleBoxEdgeWindows(min_iou=1.0)
