import numpy as np
import pytest
import torch

from radplugins.saliency import (boxes_from_maps, crop_and_resize, fit_boxes,
                                 map_boxes, map_thresholds, otsu_thresholds)


def test_flat_and_empty_maps_fall_back_to_the_whole_image():
    maps = torch.stack([torch.zeros(20, 30), torch.full((20, 30), 3.0),
                        torch.full((20, 30), float('nan'))])
    for method in ('otsu', 'percentile', 'fixed'):
        for region in ('largest', 'all'):
            boxes, found = boxes_from_maps(maps, method, 90, region)
            assert not found.any()
            assert torch.equal(boxes,
                               torch.tensor([[0., 0, 30, 20]] * 3))


def test_largest_region_vs_all_pixels():
    m = torch.zeros(1, 40, 50)
    m[0, 5:15, 10:30] = 1.0  # 200 px
    m[0, 30:33, 40:45] = 1.0  # 15 px
    boxes, found = boxes_from_maps(m, 'fixed', 0.5, 'largest')
    assert found.all()
    assert boxes.tolist() == [[10, 5, 30, 15]]
    boxes, _ = boxes_from_maps(m, 'fixed', 0.5, 'all')
    assert boxes.tolist() == [[10, 5, 45, 33]]


def test_thresholds():
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal(0, 1, 3000), rng.normal(8, 1, 1000)])
    maps = torch.tensor(data, dtype=torch.float32).view(1, 40, 100)
    ski = pytest.importorskip('skimage.filters')
    ref = ski.threshold_otsu(data, nbins=256)
    ours = otsu_thresholds(maps).item()
    bin_width = (data.max() - data.min()) / 256
    assert abs(ours - ref) <= 1.01 * bin_width
    assert map_thresholds(maps, 'percentile', 75).item() == pytest.approx(
        np.percentile(data, 75), rel=1e-5)
    assert map_thresholds(maps, 'fixed', 0.3).item() == pytest.approx(0.3)
    with pytest.raises(ValueError, match="'mean'"):
        map_thresholds(maps, 'mean')


def test_map_boxes_inverts_a_letterbox():
    # 400x200 image letterboxed into 100x100: scale 0.25, offset (0, 25).
    boxes = torch.tensor([[10., 30, 50, 60]])
    out = map_boxes(boxes, torch.tensor([[0.25, 0.25]]),
                    torch.tensor([[0., 25]]))
    assert out.tolist() == [[40, 20, 200, 140]]


def test_fit_boxes_enlarges_shifts_and_clips():
    boxes = torch.tensor([
        [50., 50, 60, 60],  # tiny, centred: grows to 224
        [0., 0, 10, 10],  # at the corner: grows, shifted inside
        [900., 10, 1000, 30],  # at the right border
        [0., 0, 300, 100],  # wider than a 150-px-high image is tall
    ])
    size = torch.tensor([[1000., 800], [1000, 800], [1000, 800], [400, 150]])
    out = fit_boxes(boxes, size, 224)
    w = out[:, 2] - out[:, 0]
    h = out[:, 3] - out[:, 1]
    assert torch.all(out[:, :2] >= 0)
    assert torch.all(out[:, 2] <= size[:, 0]) and torch.all(
        out[:, 3] <= size[:, 1])
    assert torch.allclose(w[:3], torch.tensor(224.)) and torch.allclose(
        h[:3], torch.tensor(224.))
    assert out[0].tolist() == [0.0, 0.0, 224.0, 224.0]  # shifted from -57
    assert out[1].tolist() == [0.0, 0.0, 224.0, 224.0]
    assert out[2].tolist() == [776.0, 0.0, 1000.0, 224.0]
    # Already wider than 224: kept; 224 tall does not fit in 150: clipped.
    assert out[3].tolist() == [0.0, 0.0, 300.0, 150.0]
    square = fit_boxes(torch.tensor([[100., 100, 400, 200]]), (1000, 800),
                       0, square=True)
    assert square.tolist() == [[100.0, 0.0, 400.0, 300.0]]


def test_crop_and_resize_exact_pixels_and_batched():
    img = torch.arange(2 * 3 * 8 * 10, dtype=torch.float32).view(2, 3, 8, 10)
    boxes = torch.tensor([[2., 1, 6, 5], [0., 0, 10, 8]])
    out = crop_and_resize(img, boxes, (4, 4))
    assert out.shape == (2, 3, 4, 4)
    # Same size as the box: the exact pixels.
    torch.testing.assert_close(out[0], img[0, :, 1:5, 2:6])
    # Whole image halved in width, 4/8 in height: 2x2-ish averages.
    full = crop_and_resize(img[1:], boxes[1:], (4, 5))
    expected = img[1].view(3, 4, 2, 5, 2).mean(dim=(2, 4))
    torch.testing.assert_close(full[0], expected)
    with pytest.raises(ValueError, match='one box per image'):
        crop_and_resize(img, boxes[:1], 4)


def test_saliency_peaks_by_hand():
    from radplugins.saliency import saliency_peaks

    # An 8x8 network input; the 4x8 image sits in columns 2-5 at half
    # scale (original 8x16), columns 0-1 and 6-7 are letterbox padding.
    maps = torch.zeros(2, 3, 8, 8)
    maps[0, 1, 5, 3] = -2.0  # magnitude counts: this is the peak
    maps[0, 0, 1, 4] = 1.0
    scale = torch.tensor([[0.5, 0.5]] * 2)
    offset = torch.tensor([[2.0, 0.0]] * 2)
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., 2:6] = 1
    peaks = saliency_peaks(maps, scale, offset, (8, 16), mask)
    # Pixel (x=3, y=5): centre (3.5, 5.5) -> ((3.5 - 2) / .5, 5.5 / .5).
    torch.testing.assert_close(peaks[0], torch.tensor([3.0, 11.0]))
    # The flat map peaks at the first image pixel, (2.5, 0.5) in the
    # input, not in the padding at (0.5, 0.5), which maps to x = -3.
    torch.testing.assert_close(peaks[1], torch.tensor([1.0, 1.0]))
    unmasked = saliency_peaks(maps, scale, offset)
    torch.testing.assert_close(unmasked[1], torch.tensor([-3.0, 1.0]))
    # With the image size alone, a peak in the padding is clamped to it.
    clamped = saliency_peaks(maps, scale, offset, (8, 16))
    torch.testing.assert_close(clamped[1], torch.tensor([0.0, 1.0]))


def test_saliency_peaks_of_a_bfloat16_map_are_float32_pixel_centres():
    """bfloat16 (from autocast) spaces its values 1 apart above 128: the
    half-pixel centre of column 201 must not round to 201 or 202."""
    from radplugins.saliency import saliency_peaks

    maps = torch.zeros(1, 3, 224, 224, dtype=torch.bfloat16)
    maps[0, 2, 150, 201] = 0.5
    peaks = saliency_peaks(maps, 1.0)
    assert peaks.dtype == torch.float32
    assert peaks.tolist() == [[201.5, 150.5]]


def test_boxes_and_thresholds_of_bfloat16_maps_are_those_of_float32():
    rng = np.random.default_rng(1)
    maps = torch.from_numpy(rng.random((3, 30, 40)).astype(
        np.float32)).bfloat16()
    for method, value in (('otsu', 0), ('percentile', 90), ('fixed', 0.7)):
        thresholds = map_thresholds(maps, method, value)
        assert thresholds.dtype == torch.float32
        torch.testing.assert_close(
            thresholds, map_thresholds(maps.float(), method, value))
        for region in ('largest', 'all'):
            boxes, found = boxes_from_maps(maps, method, value, region)
            ref_boxes, ref_found = boxes_from_maps(maps.float(), method,
                                                   value, region)
            assert boxes.dtype == torch.float32
            assert torch.equal(boxes, ref_boxes)
            assert torch.equal(found, ref_found)
