import cv2
import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS


def load(path, **kwargs):
    t = TRANSFORMS.build(dict(type='LoadRadiograph', **kwargs))
    return t(dict(img_path=str(path)))


@pytest.fixture
def gray():
    return np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)


def test_gray_8bit_replicated_to_three_channels(tmp_path, gray):
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    out = load(tmp_path / 'g.png')
    assert out['img'].dtype == np.uint8
    assert out['img'].shape == (12, 10, 3)
    for c in range(3):
        np.testing.assert_array_equal(out['img'][..., c], gray)
    assert out['img_shape'] == out['ori_shape'] == (12, 10)
    one = load(tmp_path / 'g.png', channels=1)['img']
    np.testing.assert_array_equal(one, gray)


def test_rgb_to_gray_uses_luminance(tmp_path):
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 200  # red
    cv2.imwrite(str(tmp_path / 'c.png'), bgr)
    one = load(tmp_path / 'c.png', channels=1)['img']
    # ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B
    assert one.shape == (4, 5)
    assert np.all(np.abs(one.astype(int) - round(0.299 * 200)) <= 1)
    three = load(tmp_path / 'c.png')['img']
    np.testing.assert_array_equal(three, bgr)


def test_16bit_scaled_to_8bit_range_without_rounding(tmp_path):
    img16 = np.array([[0, 257, 65535], [1000, 30000, 514]], np.uint16)
    cv2.imwrite(str(tmp_path / 'w.png'), img16)
    out = load(tmp_path / 'w.png', channels=1)['img']
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, img16 / 65535.0 * 255.0, rtol=1e-6)


def test_rgba_composited_over_black(tmp_path):
    bgra = np.zeros((3, 3, 4), np.uint8)
    bgra[..., :3] = 200
    bgra[..., 3] = 255
    bgra[0, 0, 3] = 0
    bgra[1, 1, 3] = 51  # 20 % opaque
    cv2.imwrite(str(tmp_path / 'a.png'), bgra)
    out = load(tmp_path / 'a.png')['img']
    assert out.shape == (3, 3, 3) and out.dtype == np.uint8
    assert np.all(out[0, 0] == 0)
    assert np.all(out[1, 1] == 40)
    assert np.all(out[2, 2] == 200)


def test_float32_option(tmp_path, gray):
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    out = load(tmp_path / 'g.png', to_float32=True)['img']
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], gray.astype(np.float32))


def test_truncated_png_names_the_file(tmp_path, gray):
    path = tmp_path / 'cut.png'
    cv2.imwrite(str(path), np.tile(gray, (20, 20)))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 40])
    with pytest.raises(OSError, match='truncated PNG') as err:
        load(path)
    assert str(path) in str(err.value)


def test_garbage_and_empty_and_missing_files(tmp_path):
    (tmp_path / 'junk.png').write_bytes(b'not an image at all')
    with pytest.raises(OSError, match='cannot decode image') as err:
        load(tmp_path / 'junk.png')
    assert 'junk.png' in str(err.value)
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(OSError, match='empty image file'):
        load(tmp_path / 'empty.png')
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load(tmp_path / 'gone.png')


def test_bad_channel_argument():
    with pytest.raises(ValueError, match='channels must be 1 or 3, got 4'):
        TRANSFORMS.build(dict(type='LoadRadiograph', channels=4))
