import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS


def build(**kwargs):
    return TRANSFORMS.build(dict(type='LetterboxResize', **kwargs))


def test_tall_image_is_centered_and_keeps_aspect():
    img = np.full((200, 100, 3), 255, np.uint8)
    out = build(scale=50, pad_val=7)(dict(img=img))
    assert out['img'].shape == (50, 50, 3)
    assert out['img_shape'] == (50, 50)
    assert out['letterbox_size'] == (25, 50)
    assert out['letterbox_offset'] == (12, 0)
    assert out['scale_factor'] == (0.25, 0.25)
    assert np.all(out['img'][:, :12] == 7) and np.all(out['img'][:, 37:] == 7)
    assert np.all(out['img'][:, 12:37] == 255)


def test_point_maps_back_to_the_source():
    img = np.zeros((300, 400), np.float32)
    img[150, 200] = 1.0
    out = build(scale=(200, 100), center=True)(dict(img=img))
    sx, sy = out['scale_factor']
    ox, oy = out['letterbox_offset']
    y, x = np.unravel_index(np.argmax(out['img']), out['img'].shape)
    assert out['img'].shape == (100, 200)
    assert abs((x - ox) / sx - 200) <= 2 / sx
    assert abs((y - oy) / sy - 150) <= 2 / sy


def test_top_left_and_upscaling():
    img = np.ones((10, 20), np.uint8)
    out = build(scale=40, center=False)(dict(img=img))
    assert out['letterbox_offset'] == (0, 0)
    assert out['letterbox_size'] == (40, 20)
    assert np.all(out['img'][:20] == 1) and np.all(out['img'][20:] == 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'nearest-ish'"):
        build(scale=10, interpolation='nearest-ish')
    with pytest.raises(ValueError, match=r'\(0, 10\)'):
        build(scale=(0, 10))
