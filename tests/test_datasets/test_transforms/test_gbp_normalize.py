import numpy as np
from mmpretrain.registry import TRANSFORMS


def test_matches_equation_1():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (20, 30, 3)).astype(np.uint8)
    out = TRANSFORMS.build(dict(type='GBPNormalize'))(dict(img=img))['img']
    x = img.astype(np.float64)
    mean = x.sum() / x.size  # eq. (2)
    std = np.sqrt(((x - mean)**2).sum() / x.size)  # eq. (3), population
    expected = 0.5 + 0.5 * (x - mean) / std  # eq. (1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # By construction the output has mean 0.5 and std 0.5.
    assert abs(out.mean() - 0.5) < 1e-5 and abs(out.std() - 0.5) < 1e-5


def test_constant_image_maps_to_half():
    out = TRANSFORMS.build(dict(type='GBPNormalize'))(
        dict(img=np.full((5, 5), 9, np.uint8)))['img']
    assert np.all(out == 0.5)
