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


def _bright_rectangle_jpeg(path, shape=(1000, 800), box=(200, 300, 520, 700)):
    """A JPEG with a bright rectangle ``x1, y1, x2, y2`` on a dark field."""
    img = np.full(shape, 20, np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 230
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return img


def test_truncated_jpeg_is_found_and_trailing_bytes_are_not(tmp_path):
    from radplugins.datasets.transforms.loading import (file_truncation,
                                                        find_truncation)
    _bright_rectangle_jpeg(tmp_path / 'a.jpg', shape=(64, 48),
                           box=(4, 4, 20, 30))
    content = (tmp_path / 'a.jpg').read_bytes()
    assert find_truncation(content) is None
    # Cut anywhere inside the image data (after the start of scan).
    scan = content.rfind(b'\xff\xda')
    for cut in (scan + 20, (scan + len(content)) // 2, len(content) - 2):
        assert 'truncated JPEG' in find_truncation(content[:cut])
        (tmp_path / 'cut.jpg').write_bytes(content[:cut])
        assert 'truncated JPEG' in file_truncation(str(tmp_path / 'cut.jpg'))
        with pytest.raises(OSError, match=r'cut.jpg: truncated JPEG'):
            load(tmp_path / 'cut.jpg')
    # Bytes after the end marker (some writers add them) still decode.
    (tmp_path / 'tail.jpg').write_bytes(content + b'\x12\x34' * 300)
    assert file_truncation(str(tmp_path / 'tail.jpg')) is None
    np.testing.assert_array_equal(
        load(tmp_path / 'tail.jpg')['img'], load(tmp_path / 'a.jpg')['img'])
    (tmp_path / 'empty.jpg').write_bytes(b'')
    assert file_truncation(str(tmp_path / 'empty.jpg')) == 'empty image file'


@pytest.mark.parametrize('channels', [1, 3])
def test_max_long_side_decodes_large_jpeg_reduced_and_scales_boxes(
        tmp_path, channels):
    from radplugins.datasets.transforms.loading import jpeg_reduction
    full = _bright_rectangle_jpeg(tmp_path / 'big.jpg')
    # ceil(1000 / 4) = 250 >= 200 > ceil(1000 / 8): decoded at 1/4.
    assert jpeg_reduction(1000, 200) == 4
    assert jpeg_reduction(1000, 600) == 1
    assert jpeg_reduction(1000, 500) == 2
    t = TRANSFORMS.build(
        dict(type='LoadRadiograph', channels=channels, max_long_side=200))
    boxes = np.array([[200, 300, 520, 700]], np.float32)
    out = t(dict(img_path=str(tmp_path / 'big.jpg'), gt_abnormal_boxes=boxes,
                 ann_shape=(1000, 800)))
    img = out['img'] if channels == 1 else out['img'][..., 0]
    assert img.shape == (200, 160)
    assert out['ori_shape'] == out['img_shape'] == (200, 160)
    assert out['file_shape'] == (1000, 800)
    assert out['load_scale'] == (0.2, 0.2)
    # The rectangle, shrunk 5x by an independent area resize of the
    # full-size original: same pixels within JPEG and rounding error.
    reference = cv2.resize(full, (160, 200), interpolation=cv2.INTER_AREA)
    assert np.abs(img.astype(int) - reference).mean() < 3
    np.testing.assert_allclose(out['gt_abnormal_boxes'], [[40, 60, 104, 140]])
    x1, y1, x2, y2 = out['gt_abnormal_boxes'][0].astype(int)
    assert img[y1 + 2:y2 - 2, x1 + 2:x2 - 2].min() > 200
    assert img[:, :x1 - 2].max() < 50
    # The dataset's array is not scaled in place.
    np.testing.assert_array_equal(boxes, [[200, 300, 520, 700]])
    # A small image is left as it is.
    small = TRANSFORMS.build(
        dict(type='LoadRadiograph', channels=channels, max_long_side=2000))(
            dict(img_path=str(tmp_path / 'big.jpg')))
    assert small['img'].shape[:2] == (1000, 800)
    assert small['load_scale'] == (1.0, 1.0)


def test_annotation_size_must_match_the_file(tmp_path):
    _bright_rectangle_jpeg(tmp_path / 'big.jpg')
    with pytest.raises(ValueError, match=r'big.jpg: the file is 800x1000 px, '
                       r'but its annotations are for 400x500'):
        TRANSFORMS.build(dict(type='LoadRadiograph', max_long_side=200))(
            dict(img_path=str(tmp_path / 'big.jpg'), ann_shape=(500, 400)))
    with pytest.raises(ValueError, match='max_long_side must be a positive'):
        TRANSFORMS.build(dict(type='LoadRadiograph', max_long_side=0))


@pytest.mark.parametrize('max_long_side', [None, 40])
@pytest.mark.parametrize('orientation', range(1, 9))
def test_jpeg_exif_orientation_is_applied_as_viewers_do(
        tmp_path, orientation, max_long_side):
    """Against Pillow's exif_transpose: the pixels, the shape, and a box
    annotated on the displayed image, at full and reduced decoding."""
    from PIL import Image, ImageOps
    stored = np.full((120, 80), 30, np.uint8)
    stored[10:40, 5:25] = 220  # an off-centre block shows any turn
    exif = Image.Exif()
    exif[274] = orientation
    path = tmp_path / 'o.jpg'
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    with Image.open(path) as image:
        shown = np.asarray(ImageOps.exif_transpose(image).convert('L'))
    out = TRANSFORMS.build(
        dict(type='LoadRadiograph', channels=1,
             max_long_side=max_long_side))(
                 dict(img_path=str(path), ann_shape=shown.shape))
    assert out['file_shape'] == shown.shape
    if max_long_side is None:
        assert out['img'].shape == shown.shape
        assert np.abs(out['img'].astype(int) - shown).max() <= 2
    else:
        # Decoded at 1/2 (ceil(120 / 2) >= 40 > ceil(120 / 4)) and shrunk.
        expected = cv2.resize(shown, out['img'].shape[::-1],
                              interpolation=cv2.INTER_AREA)
        assert max(out['img'].shape) == 40
        assert np.abs(out['img'].astype(int) - expected).mean() < 6


def test_tiny_image_warns_naming_file_and_size(tmp_path):
    import warnings
    cv2.imwrite(str(tmp_path / 'dot.png'), np.full((1, 1), 7, np.uint8))
    cv2.imwrite(str(tmp_path / 'ok.png'), np.zeros((32, 40), np.uint8))
    with pytest.warns(UserWarning) as record:
        out = load(tmp_path / 'dot.png')
    assert out['img'].shape == (1, 1, 3)
    assert str(record[0].message) == (
        f'{tmp_path / "dot.png"}: the image is only 1x1 px (a side is under '
        '32 px); it is unlikely to be a radiograph and its result means '
        'little')
    with pytest.warns(UserWarning, match=r'ok\.png: the image is only '
                      r'40x32 px \(a side is under 64 px\)'):
        load(tmp_path / 'ok.png', min_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load(tmp_path / 'ok.png')  # 32 px is enough by default
        load(tmp_path / 'dot.png', min_size=None)
    with pytest.raises(ValueError, match='min_size must be a positive'):
        load(tmp_path / 'ok.png', min_size=0)


def test_dicom_is_read_like_inference_reads_it(tmp_path):
    from tests.helpers import write_dicom
    # Stored 0..4000 in five column bands; no window: min-max to 0..255.
    stored = np.repeat(np.arange(5) * 1000, 8)[None].repeat(40, 0)
    expected = np.repeat(np.array([0., 63.75, 127.5, 191.25, 255.]), 8)
    # By extension, and by the DICM marker of a file without one.
    for name in ('a.dcm', 'no_extension'):
        path = write_dicom(tmp_path / name, stored)
        out = load(path)
        assert out['img'].dtype == np.float32
        assert out['img'].shape == (40, 40, 3)
        assert out['file_shape'] == (40, 40)
        for c in range(3):
            np.testing.assert_allclose(out['img'][0, :, c], expected,
                                       atol=1e-4)
        gray = load(path, channels=1)['img']
        assert gray.shape == (40, 40)
        np.testing.assert_allclose(gray[5], expected, atol=1e-4)
    # MONOCHROME1 is inverted, a cap shrinks it as any image.
    path = write_dicom(tmp_path / 'm1.dcm', stored, 'MONOCHROME1')
    np.testing.assert_allclose(load(path, channels=1)['img'][0],
                               255 - expected, atol=1e-4)
    small = load(path, max_long_side=20)
    assert small['img'].shape == (20, 20, 3)
    assert small['file_shape'] == (40, 40)
    # A broken DICOM names the file.
    (tmp_path / 'bad.dcm').write_bytes(b'\x00' * 200)
    with pytest.raises(ValueError,
                       match=r'bad\.dcm: DICOM file has no pixel data'):
        load(tmp_path / 'bad.dcm')
