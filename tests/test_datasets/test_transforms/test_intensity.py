import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS


def build(**kwargs):
    return TRANSFORMS.build(dict(type='RescaleIntensity', **kwargs))


def test_percentiles_map_to_full_range():
    rng = np.random.default_rng(0)
    img = rng.normal(80, 10, (64, 48, 3)).clip(0, 255).astype(np.uint8)
    out = build(percentiles=(2, 98))(dict(img=img))
    lo, hi = np.percentile(img.reshape(-1), (2, 98))
    expected = np.clip((img.astype(np.float64) - lo) * 255 / (hi - lo), 0,
                       255)
    assert out['img'].dtype == np.float32
    np.testing.assert_allclose(out['img'], expected, atol=1e-3)
    assert out['exposure_factor'] == 1.0


def test_exposure_factor_shrinks_and_expands_around_mid_grey():
    img = np.array([[0, 100, 127.5, 200, 255]], np.float32)
    np.random.seed(1)
    out = build(percentiles=None, exposure_range=(0.5, 0.5))(dict(img=img))
    np.testing.assert_allclose(out['img'],
                               [[63.75, 113.75, 127.5, 163.75, 191.25]])
    assert out['exposure_factor'] == 0.5
    out = build(percentiles=None, exposure_range=(2, 2))(dict(img=img))
    np.testing.assert_allclose(out['img'], [[0, 72.5, 127.5, 255, 255]])


def test_prob_zero_never_applies():
    img = np.full((4, 4), 30, np.uint8)
    t = build(percentiles=None, exposure_range=(0.5, 2.0), prob=0.0)
    for _ in range(10):
        out = t(dict(img=img.copy()))
        assert out['exposure_factor'] == 1.0
        assert np.all(out['img'] == 30)


def test_flat_image_stays_finite():
    out = build()(dict(img=np.full((8, 8), 77, np.uint8)))
    assert np.isfinite(out['img']).all()
    assert np.all(out['img'] == 77)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match=r'\(99, 1\)'):
        build(percentiles=(99, 1))
    with pytest.raises(ValueError, match=r'\(0, 2\)'):
        build(exposure_range=(0, 2))
    with pytest.raises(ValueError, match='1.5'):
        build(prob=1.5)
