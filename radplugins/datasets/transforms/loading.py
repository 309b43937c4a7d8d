"""Load radiographs of any common bit depth and channel layout."""
from typing import Optional

import cv2
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'


def decode_radiograph(content: bytes, path: str) -> np.ndarray:
    """Decode image bytes without changing bit depth or channel count.

    PNG files are checked for their end chunk first, because OpenCV decodes
    a truncated PNG into a partly black image without complaint.

    Args:
        content (bytes): The encoded file.
        path (str): Name used in error messages.

    Returns:
        np.ndarray: ``(H, W)``, ``(H, W, 3)`` BGR or ``(H, W, 4)`` BGRA, of
        dtype uint8 or uint16.

    Raises:
        OSError: If the file is empty, truncated or cannot be decoded.
    """
    if not content:
        raise OSError(f'{path}: empty image file')
    if content.startswith(_PNG_SIGNATURE) and \
            content.rstrip(b'\x00')[-len(_PNG_END):] != _PNG_END:
        raise OSError(f'{path}: truncated PNG (no IEND chunk)')
    img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise OSError(f'{path}: cannot decode image (corrupt file or '
                      'unsupported format)')
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
    and RGBA images. All of them leave this transform with the same layout,
    and every unreadable file fails with its path named.

    Required Keys:

    - img_path

    Added Keys:

    - img (uint8, or float32 in [0, 255] for 16-bit input)
    - img_shape
    - ori_shape

    Args:
        channels (int): 1 or 3 output channels. Defaults to 3.
        to_float32 (bool): Always return float32. Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 channels: int = 3,
                 to_float32: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        if channels not in (1, 3):
            raise ValueError(f'channels must be 1 or 3, got {channels!r}')
        self.channels = channels
        self.to_float32 = to_float32
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
        img = to_channels(decode_radiograph(content, path), self.channels,
                          path)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(channels={self.channels}, '
                f'to_float32={self.to_float32})')


__all__ = ['LoadRadiograph', 'decode_radiograph', 'to_channels']
