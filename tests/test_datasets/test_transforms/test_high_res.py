import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS


def test_copy_is_capped_and_scale_recorded():
    img = np.random.default_rng(0).integers(0, 255, (400, 1000, 3),
                                            dtype=np.uint8)
    out = TRANSFORMS.build(dict(type='KeepHighRes', max_long_side=500))(
        dict(img=img))
    assert out['hr_img'].shape == (200, 500, 3)
    assert out['hr_scale'] == 0.5
    assert out['hr_shape'] == (200, 500)
    # Area interpolation at an exact factor 2 is the mean of 2x2 blocks.
    block = img[:2, :2].astype(np.float64).mean(axis=(0, 1))
    np.testing.assert_allclose(out['hr_img'][0, 0], block, atol=1)
    assert out['img'] is img


def test_small_image_is_copied_untouched():
    img = np.zeros((30, 20), np.float32)
    out = TRANSFORMS.build(dict(type='KeepHighRes', max_long_side=64))(
        dict(img=img))
    assert out['hr_scale'] == 1.0
    np.testing.assert_array_equal(out['hr_img'], img)
    assert out['hr_img'] is not img


def test_rejects_non_positive_cap():
    with pytest.raises(ValueError, match='-1'):
        TRANSFORMS.build(dict(type='KeepHighRes', max_long_side=-1))


def test_gray_copy_of_replicated_channels_is_the_image():
    gray = np.random.default_rng(1).integers(0, 255, (40, 30),
                                             dtype=np.uint8)
    img = np.repeat(gray[..., None], 3, axis=2)
    out = TRANSFORMS.build(dict(type='KeepHighRes', gray=True))(
        dict(img=img))
    np.testing.assert_array_equal(out['hr_img'], gray)
    assert out['hr_shape'] == (40, 30)


def test_gray_copy_of_colour_is_its_luminance():
    img = np.random.default_rng(2).integers(0, 255, (30, 50, 3),
                                            dtype=np.uint8)
    out = TRANSFORMS.build(
        dict(type='KeepHighRes', max_long_side=25, gray=True))(
            dict(img=img))
    # ITU-R BT.601 luma of the BGR image, then 2x2 block means.
    b, g, r = (img[..., c].astype(np.float64) for c in range(3))
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    expected = luma.reshape(15, 2, 25, 2).mean(axis=(1, 3))
    assert out['hr_img'].shape == (15, 25)
    np.testing.assert_allclose(out['hr_img'], expected, atol=1.5)


def test_gray_copy_of_a_gray_image_is_a_copy():
    img = np.zeros((20, 10), np.uint8)
    out = TRANSFORMS.build(dict(type='KeepHighRes', gray=True))(
        dict(img=img))
    assert out['hr_img'] is not img
    np.testing.assert_array_equal(out['hr_img'], img)
