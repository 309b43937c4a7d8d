import math
from contextlib import nullcontext

import numpy as np
import pytest
import torch

from radplugins.saliency import (local_entropy, quantize_saliency,
                                 saliency_entropy)

# The entropy runs inside the zoom's forward, so also under CPU bfloat16
# autocast (CPUAmpOptimWrapper, --amp): its sums must stay exact.
PRECISIONS = {
    'float32': nullcontext,
    'bfloat16': lambda: torch.autocast('cpu', dtype=torch.bfloat16),
}


def numpy_local_entropy(levels, num_bins, window):
    """Direct definition: histogram of the in-image window, -sum p log2 p."""
    h, w = levels.shape
    r = window // 2
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            patch = levels[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1]
            p = np.bincount(patch.ravel(), minlength=num_bins) / patch.size
            p = p[p > 0]
            out[i, j] = -(p * np.log2(p)).sum()
    return out


@pytest.mark.parametrize('precision', list(PRECISIONS))
@pytest.mark.parametrize('num_bins,window', [(4, 3), (8, 5), (16, 7)])
def test_matches_direct_numpy_computation(num_bins, window, precision):
    rng = np.random.default_rng(num_bins)
    levels = rng.integers(0, num_bins, (3, 13, 17))
    with PRECISIONS[precision]():
        ours = local_entropy(torch.from_numpy(levels), num_bins, window)
    assert ours.shape == (3, 13, 17) and ours.dtype == torch.float32
    for k in range(3):
        ref = numpy_local_entropy(levels[k], num_bins, window)
        np.testing.assert_allclose(ours[k].numpy(), ref, atol=1e-5)


def test_matches_skimage_rank_entropy():
    rank = pytest.importorskip('skimage.filters.rank')
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 16, (2, 40, 30))
    ours = local_entropy(torch.from_numpy(levels), 16, 9).numpy()
    footprint = np.ones((9, 9), np.uint8)
    for k in range(2):
        ref = rank.entropy(levels[k].astype(np.uint8), footprint)
        np.testing.assert_allclose(ours[k], ref, atol=1e-5)


def test_known_values():
    # A constant map has zero entropy; two equally frequent levels one bit.
    # (float32 rounding leaves ~2e-7 bits; the target is 1e-5.)
    assert local_entropy(torch.zeros(1, 5, 5, dtype=torch.long), 4,
                         3).abs().max() < 1e-6
    checker = torch.tensor([[(i + j) % 2 for j in range(6)]
                            for i in range(6)])[None]
    h = local_entropy(checker, 2, 5)
    # Centre window: 13 of one level and 12 of the other among 25.
    p = np.array([13, 12]) / 25
    assert h[0, 3, 3].item() == pytest.approx(-(p * np.log2(p)).sum(),
                                              abs=1e-6)
    # Corner: the in-image 3x3 part holds 5 and 4.
    p = np.array([5, 4]) / 9
    assert h[0, 0, 0].item() == pytest.approx(-(p * np.log2(p)).sum(),
                                              abs=1e-6)


def test_quantize_scales_each_map_by_its_peak():
    sal = torch.tensor([[[[0.0, -1.0], [0.5, 0.24]]],
                        [[[0.0, 10.0], [5.0, 2.4]]]])
    levels = quantize_saliency(sal, 4)
    expected = torch.tensor([[[0, 3], [2, 0]]] * 2)
    assert torch.equal(levels, expected)
    # Channel maximum of |saliency|; an all-zero map stays finite.
    rgb = torch.zeros(1, 3, 2, 2)
    rgb[0, 1, 0, 0] = -2
    assert quantize_saliency(rgb, 4)[0, 0, 0] == 3
    flat = saliency_entropy(torch.zeros(2, 3, 8, 8), 8, 3)
    assert torch.isfinite(flat).all() and flat.abs().max() < 1e-6


def test_bad_arguments():
    with pytest.raises(ValueError, match='window must be a positive odd'):
        local_entropy(torch.zeros(1, 4, 4, dtype=torch.long), 4, 4)
    with pytest.raises(ValueError, match='num_bins must be >= 2, got 1'):
        quantize_saliency(torch.zeros(1, 4, 4), 1)
    assert math.isfinite(float(saliency_entropy(torch.rand(1, 9, 9)).sum()))


@pytest.mark.parametrize('precision', list(PRECISIONS))
def test_bfloat16_saliency_is_quantised_in_float32(precision):
    """Autocast may hand over a bfloat16 map: its values are kept, but the
    scaling and the level boundaries must be float32's."""
    rng = np.random.default_rng(0)
    sal = torch.from_numpy(rng.standard_normal(
        (4, 3, 24, 24)).astype(np.float32)).bfloat16()
    num_bins = 16
    as_float32 = quantize_saliency(sal.float(), num_bins)
    # Scaling in bfloat16 itself would move pixels across boundaries.
    mag = sal.abs().amax(dim=1)
    in_bf16 = (mag / mag.flatten(1).amax(1).view(-1, 1, 1) *
               num_bins).long().clamp(0, num_bins - 1)
    assert not torch.equal(in_bf16, as_float32)
    with PRECISIONS[precision]():
        assert torch.equal(quantize_saliency(sal, num_bins), as_float32)
        entropy = saliency_entropy(sal, num_bins, 5)
    assert entropy.dtype == torch.float32
    torch.testing.assert_close(
        entropy, local_entropy(as_float32, num_bins, 5), atol=0, rtol=0)
