import json

import cv2
import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

from radplugins.datasets.transforms.flag_removal import (fill_regions,
                                                         regions_to_mask)


def build(**kwargs):
    return TRANSFORMS.build(dict(type='FillFlagRegions', **kwargs))


def textured(shape=(60, 80), channels=None, seed=0):
    rng = np.random.default_rng(seed)
    size = shape if channels is None else shape + (channels, )
    return rng.integers(0, 256, size, dtype=np.uint8)


@pytest.mark.parametrize('method', ['ring_mean', 'telea'])
@pytest.mark.parametrize('channels', [None, 3])
def test_pixels_outside_the_region_are_unchanged(method, channels):
    img = textured(channels=channels)
    box = dict(bbox=[10.0, 12.0, 25.0, 30.0])
    out = build(method=method, margin=0)(dict(img=img.copy(),
                                              flag_regions=[box]))
    inside = np.zeros(img.shape[:2], bool)
    inside[12:30, 10:25] = True
    np.testing.assert_array_equal(out['flag_mask'], inside)
    np.testing.assert_array_equal(out['img'][~inside], img[~inside])
    assert out['img'].dtype == img.dtype
    assert not np.array_equal(out['img'][inside], img[inside])


def test_ring_mean_fills_with_the_mean_of_the_surrounding_ring():
    img = textured(channels=3).astype(np.float32)
    out = build(method='ring_mean', margin=0, ring_width=3)(dict(
        img=img.copy(), flag_regions=[dict(bbox=[20, 10, 30, 22])]))
    # Hand-built ring: the 3-px frame around rows 10-21, columns 20-29.
    ring = np.zeros(img.shape[:2], bool)
    ring[7:25, 17:33] = True
    ring[10:22, 20:30] = False
    expected = img[ring].mean(axis=0)
    filled = out['img'][10:22, 20:30].reshape(-1, 3)
    np.testing.assert_allclose(filled.mean(axis=0), expected, rtol=1e-5)
    np.testing.assert_allclose(filled, np.broadcast_to(expected, filled.shape),
                               rtol=1e-5)


def test_ring_mean_fills_each_region_from_its_own_ring():
    img = np.zeros((40, 80), np.uint8)
    img[:, 40:] = 200  # left half dark, right half bright
    regions = [dict(bbox=[5, 5, 15, 15]), dict(bbox=[60, 5, 70, 15])]
    img[5:15, 5:15] = 255
    img[5:15, 60:70] = 0
    out = build(margin=0)(dict(img=img.copy(), flag_regions=regions))
    assert np.all(out['img'][5:15, 5:15] == 0)
    assert np.all(out['img'][5:15, 60:70] == 200)


def test_polygon_regions_and_margin():
    img = textured()
    triangle = dict(polygon=[[10, 10, 30, 10, 10, 30]], bbox=[10, 10, 30, 30])
    mask = regions_to_mask([triangle], img.shape, margin=0)
    reference = np.zeros(img.shape, np.uint8)
    cv2.fillPoly(reference, [np.array([[10, 10], [30, 10], [10, 30]])], 1)
    np.testing.assert_array_equal(mask, reference.astype(bool))
    grown = regions_to_mask([triangle], img.shape, margin=2)
    assert grown[mask].all() and grown.sum() > mask.sum()
    assert grown[8, 8] and not grown[7, 7]


def test_telea_continues_a_smooth_surrounding():
    # A horizontal ramp with a bright marker: inpainting should land close
    # to the ramp, far closer than the marker.
    ramp = np.tile(np.linspace(50, 150, 64, dtype=np.float32), (48, 1))
    img = ramp.copy()
    img[20:28, 30:36] = 255
    out = fill_regions(img, regions_to_mask([dict(bbox=[30, 20, 36, 28])],
                                            img.shape), 'telea')
    assert np.abs(out[20:28, 30:36] - ramp[20:28, 30:36]).max() < 5


def test_sixteen_bit_and_empty_regions():
    img = (textured().astype(np.uint16) * 257)
    out = fill_regions(img, regions_to_mask([dict(bbox=[5, 5, 9, 9])],
                                            img.shape), 'telea')
    assert out.dtype == np.uint16
    same = build()(dict(img=img.copy(), flag_regions=[]))
    np.testing.assert_array_equal(same['img'], img)


def test_regions_file_lookup(tmp_path):
    regions = {
        'images': {
            'MURA-v1.1/train/XR_HAND/patient00001/study1_positive/'
            'image1.png': {'flags': [dict(bbox=[0, 0, 4, 4])]},
            'MURA-v1.1/train/XR_HAND/patient00001/study1_positive/'
            'image2.png': {'flags': []},
        }
    }
    path = tmp_path / 'regions.json'
    path.write_text(json.dumps(regions))
    t = build(regions_file=str(path), margin=0)
    img = np.full((10, 10), 7, np.uint8)
    img[:4, :4] = 250
    out = t(dict(img=img.copy(), img_path='/data/MURA-v1.1/train/XR_HAND/'
                 'patient00001/study1_positive/image1.png'))
    assert np.all(out['img'] == 7)
    with pytest.raises(KeyError, match='image3.png'):
        t(dict(img=img.copy(), img_path='/data/MURA-v1.1/train/XR_HAND/'
               'patient00001/study1_positive/image3.png'))


def test_no_regions_at_all_is_an_error_not_a_silent_pass():
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(KeyError, match=r"a\.png has no 'flag_regions'"):
        build()(dict(img=img, img_path='a.png'))


def test_bad_arguments():
    with pytest.raises(ValueError, match="'blank'"):
        build(method='blank')
    with pytest.raises(ValueError, match='neither a polygon nor a bbox'):
        regions_to_mask([dict(score=0.9)], (4, 4), where='x.png')
    with pytest.raises(ValueError, match='does not match'):
        fill_regions(np.zeros((4, 4)), np.zeros((3, 4), bool))


@pytest.mark.parametrize('shape', ['bbox', 'polygon'])
def test_regions_in_file_pixels_follow_an_image_loaded_shrunk(
        tmp_path, shape):
    """A marker boxed in the file's pixels is filled in the copy that
    LoadRadiograph shrank to a quarter: nothing of it is left, and the
    region filled is the box scaled by 1/4, not the file-pixel box."""
    img = np.full((400, 200), 60, np.uint8)
    img[100:140, 40:80] = 250  # the marker, in file pixels
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, img)
    x1, y1, x2, y2 = 40.0, 100.0, 80.0, 140.0
    region = dict(bbox=[x1, y1, x2, y2]) if shape == 'bbox' else dict(
        polygon=[[x1, y1, x2, y1, x2, y2, x1, y2]])
    load = TRANSFORMS.build(dict(type='LoadRadiograph', max_long_side=100))
    results = load(dict(img_path=path, flag_regions=[region]))
    assert results['img'].shape[:2] == (100, 50)
    out = build(method='ring_mean', margin=1)(results)
    assert out['img'].max() < 100
    filled = np.argwhere(out['flag_mask'])
    # The marker at 1/4 scale spans rows 25-35 and columns 10-20.
    assert filled.min(0).tolist() == [24, 9]
    assert filled.max(0).tolist() in ([35, 20], [36, 21])
