"""SpineNet's per-slice vertebral-body median normalisation."""
import numpy as np
from mmpretrain.registry import TRANSFORMS


def test_body_median_becomes_half_and_range_is_clipped():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 3, (112, 224, 9)).astype(np.float32)
    img[..., 0] = 0  # a zero-padded slice stays zero
    upper, lower = [20, 0, 200, 40], [20, 70, 200, 111]
    out = TRANSFORMS.build(dict(type='NormalizeDiscIntensity'))(
        dict(img=img.copy(), upper_body=upper, lower_body=lower))['img']
    for s in range(1, 9):
        bodies = np.concatenate([
            img[0:41, 20:201, s].ravel(), img[70:112, 20:201, s].ravel()
        ])
        expected = np.clip(img[..., s] * 0.5 / np.median(bodies), 0, 1)
        np.testing.assert_allclose(out[..., s], expected, rtol=1e-5)
    assert not out[..., 0].any()
    assert out.max() <= 1 and out.min() >= 0


def test_without_boxes_passes_through():
    transform = TRANSFORMS.build(dict(type='NormalizeDiscIntensity'))
    img = np.full((112, 224, 9), 2.0, np.float32)
    out = transform(dict(img=img, upper_body=None, lower_body=None))
    assert out['img'] is img and transform.num_skipped == 1
