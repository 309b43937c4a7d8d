"""Load radiographs of any common bit depth and channel layout."""
import io
import os
import warnings
from typing import Optional, Sequence, Tuple

import cv2
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS
from PIL import Image

from .dicom import dicom_to_channels, is_dicom_content, read_dicom

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'
_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'
_JPEG_SOS = b'\xff\xda'
_EXIF_ORIENTATION = 274
# Images with a side shorter than this are loaded with a warning.
DEFAULT_MIN_SIZE = 32
# Bytes read from the end of a file to find its end marker.
_END_PROBE = 64
# DCT-scaled JPEG decoding: factor -> (gray flag, colour flag).
_REDUCED_FLAGS = {
    2: (cv2.IMREAD_REDUCED_GRAYSCALE_2, cv2.IMREAD_REDUCED_COLOR_2),
    4: (cv2.IMREAD_REDUCED_GRAYSCALE_4, cv2.IMREAD_REDUCED_COLOR_4),
    8: (cv2.IMREAD_REDUCED_GRAYSCALE_8, cv2.IMREAD_REDUCED_COLOR_8),
}


def find_truncation(content: bytes) -> Optional[str]:
    """Why an encoded PNG or JPEG is incomplete, or None.

    A PNG must end with its IEND chunk (trailing NUL padding allowed). A
    JPEG must have its end-of-image marker after its last start-of-scan
    marker: entropy-coded data cannot hold either byte pair, so this finds
    a file cut short anywhere in its image data, and still accepts bytes
    some writers append after the marker. Other formats are not judged.

    Args:
        content (bytes): The encoded file.

    Returns:
        str or None: The reason, e.g. ``'truncated JPEG (no end-of-image
        marker after the image data)'``, or None.
    """
    if content.startswith(_PNG_SIGNATURE) and \
            not content.rstrip(b'\x00').endswith(_PNG_END):
        return 'truncated PNG (no IEND chunk)'
    if content.startswith(_JPEG_SOI) and \
            content.rfind(_JPEG_EOI) < content.rfind(_JPEG_SOS):
        return 'truncated JPEG (no end-of-image marker after the image data)'
    if content.startswith(_JPEG_SOI) and _JPEG_SOS not in content:
        return 'truncated JPEG (no image data)'
    return None


def file_truncation(path: str) -> Optional[str]:
    """:func:`find_truncation` of a local file.

    Only the file's ends are read when it ends with its end marker, which
    nearly every file does; the whole file otherwise.

    Args:
        path (str): The image file.

    Returns:
        str or None: Why the file is incomplete (or empty), or None.
    """
    with open(path, 'rb') as f:
        head = f.read(len(_PNG_SIGNATURE))
        if not head:
            return 'empty image file'
        f.seek(max(0, os.fstat(f.fileno()).st_size - _END_PROBE))
        tail = f.read().rstrip(b'\x00')
        if (head.startswith(_PNG_SIGNATURE) and tail.endswith(_PNG_END)) or \
                (head.startswith(_JPEG_SOI) and tail.endswith(_JPEG_EOI)):
            return None
        f.seek(0)
        return find_truncation(f.read())


def warn_if_small(shape: Sequence[int], path: str,
                  min_size: Optional[int] = DEFAULT_MIN_SIZE) -> bool:
    """Warn that an image is too small to be a radiograph a model can read.

    A 1x1 or 8x8 file (a thumbnail, an icon, a placeholder) is enlarged to
    the network's input and classified like any image, with nothing to say
    the result means nothing; this names the file and its size.

    Args:
        shape (Sequence[int]): The file's ``(height, width)``.
        path (str): The file, named in the warning.
        min_size (int, optional): The shortest side accepted without a
            warning; None never warns. Defaults to
            :data:`DEFAULT_MIN_SIZE` (32 px).

    Returns:
        bool: Whether it warned.
    """
    height, width = int(shape[0]), int(shape[1])
    if min_size is None or min(height, width) >= min_size:
        return False
    warnings.warn(
        f'{path}: the image is only {width}x{height} px (a side is under '
        f'{min_size} px); it is unlikely to be a radiograph and its result '
        'means little')
    return True


def jpeg_header(content: bytes, path: str) -> Tuple[Tuple[int, int], int]:
    """A JPEG's stored ``(height, width)`` and EXIF orientation, from its
    header, without decoding it.

    Args:
        content (bytes): The encoded file.
        path (str): Name used in error messages.

    Returns:
        tuple: ``((height, width), orientation)``; the orientation is 1
        (as stored) when the file has none or an invalid one.
    """
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError) as err:
        raise OSError(f'{path}: cannot read the JPEG header ({err})') from err
    if orientation not in range(1, 9):
        orientation = 1
    return (height, width), orientation


def apply_exif_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a decoded image as its EXIF orientation tag says viewers show
    it (TIFF/EXIF tag 274: 2 mirror, 3 rotate 180, 4 flip, 5 transpose,
    6 rotate 90 clockwise, 7 transverse, 8 rotate 90 anticlockwise).

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, C)`` as stored.
        orientation (int): The tag's value, 1 to 8.

    Returns:
        np.ndarray: The image as displayed (a contiguous array).
    """
    if orientation in (2, 4):
        img = img[:, ::-1] if orientation == 2 else img[::-1]
    elif orientation == 3:
        img = img[::-1, ::-1]
    elif orientation in (5, 7):
        img = np.swapaxes(img if orientation == 5 else img[::-1, ::-1], 0, 1)
    elif orientation in (6, 8):
        img = np.rot90(img, k=-1 if orientation == 6 else 1)
    return np.ascontiguousarray(img)


def jpeg_reduction(long_side: int, max_long_side: int) -> int:
    """The largest DCT-scaling factor (1, 2, 4 or 8) that keeps a JPEG's
    long side at least ``max_long_side``.

    Args:
        long_side (int): The file's long side in pixels.
        max_long_side (int): The long side wanted.

    Returns:
        int: The factor to decode at.
    """
    for factor in (8, 4, 2):
        if -(-long_side // factor) >= max_long_side:
            return factor
    return 1


def decode_radiograph(content: bytes,
                      path: str,
                      reduction: int = 1,
                      gray: bool = False,
                      orientation: Optional[int] = None) -> np.ndarray:
    """Decode image bytes without changing bit depth or channel count.

    PNG and JPEG files are checked for their end marker first
    (:func:`find_truncation`), because OpenCV decodes a truncated file into
    a partly gray or black image with no more than a console warning.

    Args:
        content (bytes): The encoded file.
        path (str): Name used in error messages.
        reduction (int): 2, 4 or 8 to decode a JPEG at that fraction of its
            size (8-bit; gray with ``gray``, else BGR). Defaults to 1 (the
            file as it is).
        gray (bool): With ``reduction``, decode to one channel.
        orientation (int, optional): The JPEG's EXIF orientation if the
            caller has read it (:func:`jpeg_header`); read here when None.
            A JPEG comes out as viewers show it, the frame its annotations
            are drawn in.

    Returns:
        np.ndarray: ``(H, W)``, ``(H, W, 3)`` BGR or ``(H, W, 4)`` BGRA, of
        dtype uint8 or uint16.

    Raises:
        OSError: If the file is empty, truncated or cannot be decoded.
    """
    if not content:
        raise OSError(f'{path}: empty image file')
    reason = find_truncation(content)
    if reason is not None:
        raise OSError(f'{path}: {reason}')
    if reduction == 1:
        flag = cv2.IMREAD_UNCHANGED
    elif reduction in _REDUCED_FLAGS:
        # The orientation is applied below, once, for every decode mode.
        flag = _REDUCED_FLAGS[reduction][0 if gray else 1] | \
            cv2.IMREAD_IGNORE_ORIENTATION
    else:
        raise ValueError(
            f'reduction must be 1, 2, 4 or 8, got {reduction!r}')
    img = cv2.imdecode(np.frombuffer(content, np.uint8), flag)
    if img is None or img.size == 0:
        raise OSError(f'{path}: cannot decode image (corrupt file or '
                      'unsupported format)')
    if content.startswith(_JPEG_SOI):
        if orientation is None:
            orientation = jpeg_header(content, path)[1]
        img = apply_exif_orientation(img, orientation)
    return img


def to_channels(img: np.ndarray, channels: int, path: str) -> np.ndarray:
    """Convert a decoded radiograph to ``channels`` channels in [0, 255].

    Grayscale is replicated to 3 channels; colour is converted to gray for 1
    channel; an alpha channel is composited over black (transparent pixels
    carry no exposure); 16-bit data is scaled by 255 / 65535 into float32 so
    no precision is lost.

    Args:
        img (np.ndarray): Output of :func:`decode_radiograph`.
        channels (int): 1 (returns ``(H, W)``) or 3 (returns ``(H, W, 3)``).
        path (str): Name used in error messages.

    Returns:
        np.ndarray: uint8 for 8-bit input, float32 for 16-bit input.
    """
    if img.dtype == np.uint8:
        max_value = 255.0
    elif img.dtype == np.uint16:
        max_value = 65535.0
    else:
        raise ValueError(f'{path}: unsupported pixel type {img.dtype}; '
                         'expected 8- or 16-bit')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] == 4:
        alpha = img[..., 3:4].astype(np.float32) / max_value
        img = img[..., :3].astype(np.float32) * alpha
    elif img.ndim == 3 and img.shape[2] != 3:
        raise ValueError(f'{path}: unsupported channel count {img.shape[2]}')
    if max_value != 255.0:
        img = img.astype(np.float32) * (255.0 / max_value)
    elif img.dtype != np.uint8:
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    if channels == 1 and img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    elif channels == 3 and img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return img


@TRANSFORMS.register_module()
class LoadRadiograph(BaseTransform):
    """Load a radiograph (8/16-bit, gray/RGB/RGBA) as a fixed channel count.

    Real MURA files are 8-bit gray or RGB PNGs; other archives hold 16-bit
    and RGBA images, or DICOM files (recognised by a ``.dcm``/``.dicom``
    extension or the ``DICM`` marker, and read like ``tools/infer.py`` reads
    them: rescale, VOI window, MONOCHROME1 inverted; see
    :func:`~radplugins.datasets.transforms.dicom.read_dicom`). All of them
    leave this transform with the same layout (DICOM as float32 in
    [0, 255]), and every unreadable file fails with its path named. An
    image with a side under ``min_size`` pixels is loaded with a warning
    naming it and its size.

    With ``max_long_side``, a larger image is loaded shrunk (anti-aliased)
    so its long side equals the cap; a JPEG is first decoded at 1/2, 1/4 or
    1/8 of its size by libjpeg's DCT scaling, which skips most of the
    decoding work (a 2304x2880 radiograph at 1/2 decodes about 3x faster).
    Everything downstream then treats the shrunk image as the original:
    ``ori_shape`` is its shape, and box annotations already in the results
    (every ``gt_*_boxes`` key, in the file's pixels) are scaled with it.
    ``file_shape`` keeps the file's own shape. A JPEG with an EXIF
    orientation is turned the way viewers (and annotation tools) show it,
    at any size. When the results carry
    ``ann_shape`` (the image size an annotation file gives), a file of
    another size is an error, since its boxes would not fit it.

    Required Keys:

    - img_path
    - ann_shape (optional)
    - gt_*_boxes (optional)

    Modified Keys:

    - gt_*_boxes (scaled when the image is shrunk)

    Added Keys:

    - img (uint8, or float32 in [0, 255] for 16-bit input)
    - img_shape
    - ori_shape
    - file_shape
    - load_scale (``(sx, sy)``: loaded pixels per file pixel)

    Args:
        channels (int): 1 or 3 output channels. Defaults to 3.
        to_float32 (bool): Always return float32. Defaults to False.
        max_long_side (int, optional): Cap of the loaded image's long side.
            Defaults to None (full size).
        min_size (int, optional): Warn when a side of the file is shorter
            than this; None never warns. Defaults to 32.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 channels: int = 3,
                 to_float32: bool = False,
                 max_long_side: Optional[int] = None,
                 min_size: Optional[int] = DEFAULT_MIN_SIZE,
                 backend_args: Optional[dict] = None) -> None:
        if channels not in (1, 3):
            raise ValueError(f'channels must be 1 or 3, got {channels!r}')
        if max_long_side is not None and (not isinstance(
                max_long_side, int) or max_long_side < 1):
            raise ValueError(f'max_long_side must be a positive integer or '
                             f'None, got {max_long_side!r}')
        if min_size is not None and (not isinstance(min_size, int)
                                     or min_size < 1):
            raise ValueError(f'min_size must be a positive integer or None, '
                             f'got {min_size!r}')
        self.channels = channels
        self.to_float32 = to_float32
        self.max_long_side = max_long_side
        self.min_size = min_size
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Load the image named by ``results['img_path']``.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict: The dict with the image and its shape added.
        """
        path = results['img_path']
        if not fileio.exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(f'image not found: {path}')
        content = fileio.get(path, backend_args=self.backend_args)
        if content and is_dicom_content(path, content):
            img = dicom_to_channels(read_dicom(path, content), self.channels)
            file_shape = img.shape[:2]
        else:
            img, file_shape = self._decode(content, path)
        warn_if_small(file_shape, path, self.min_size)
        ann_shape = results.get('ann_shape')
        if ann_shape is not None and tuple(ann_shape) != tuple(file_shape):
            raise ValueError(
                f'{path}: the file is {file_shape[1]}x{file_shape[0]} px, '
                f'but its annotations are for {ann_shape[1]}x{ann_shape[0]}')
        if self.max_long_side is not None and \
                max(img.shape[:2]) > self.max_long_side:
            h, w = img.shape[:2]
            ratio = self.max_long_side / max(h, w)
            size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        if self.to_float32:
            img = img.astype(np.float32)
        scale = (img.shape[1] / file_shape[1], img.shape[0] / file_shape[0])
        if scale != (1.0, 1.0):
            factors = np.array(scale * 2, dtype=np.float32)
            for key in [k for k in results
                        if k.startswith('gt_') and k.endswith('_boxes')]:
                results[key] = np.asarray(
                    results[key], dtype=np.float32).reshape(-1, 4) * factors
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['file_shape'] = tuple(int(v) for v in file_shape)
        results['load_scale'] = scale
        return results

    def _decode(self, content: bytes,
                path: str) -> Tuple[np.ndarray, Tuple[int, int]]:
        """Decode a PNG/JPEG/... file: the image with ``self.channels``
        channels and the file's ``(h, w)``."""
        file_shape, orientation, reduction = None, None, 1
        if content.startswith(_JPEG_SOI):
            stored, orientation = jpeg_header(content, path)
            file_shape = stored[::-1] if orientation >= 5 else stored
            if self.max_long_side is not None:
                reduction = jpeg_reduction(max(stored), self.max_long_side)
        img = decode_radiograph(content, path, reduction,
                                gray=self.channels == 1,
                                orientation=orientation)
        if file_shape is None:
            file_shape = img.shape[:2]
        return to_channels(img, self.channels, path), file_shape

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(channels={self.channels}, '
                f'to_float32={self.to_float32}, '
                f'max_long_side={self.max_long_side}, '
                f'min_size={self.min_size})')


__all__ = [
    'DEFAULT_MIN_SIZE', 'LoadRadiograph', 'apply_exif_orientation',
    'decode_radiograph', 'file_truncation', 'find_truncation', 'jpeg_header',
    'jpeg_reduction', 'to_channels', 'warn_if_small'
]
