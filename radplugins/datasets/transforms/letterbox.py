"""Aspect-preserving resize into a fixed canvas."""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


def letterbox_geometry(
        src_hw: Tuple[int, int], dst_wh: Tuple[int, int],
        center: bool) -> Tuple[float, Tuple[int, int], Tuple[int, int]]:
    """Scale, resized size and offset that fit ``src_hw`` into ``dst_wh``.

    Args:
        src_hw (tuple[int, int]): Source ``(height, width)``.
        dst_wh (tuple[int, int]): Canvas ``(width, height)``.
        center (bool): Center the image on the canvas (else top-left).

    Returns:
        tuple: ``(scale, (new_w, new_h), (offset_x, offset_y))``.
    """
    h, w = src_hw
    dst_w, dst_h = dst_wh
    scale = min(dst_w / w, dst_h / h)
    new_w = min(dst_w, max(1, int(round(w * scale))))
    new_h = min(dst_h, max(1, int(round(h * scale))))
    if not center:
        return scale, (new_w, new_h), (0, 0)
    return scale, (new_w, new_h), ((dst_w - new_w) // 2, (dst_h - new_h) // 2)


@TRANSFORMS.register_module()
class LetterboxResize(BaseTransform):
    """Resize keeping the aspect ratio, then pad to a fixed size.

    Radiographs are tall, wide or square; squashing them distorts bone
    shapes. The long side is fitted to the canvas and the rest is padded
    with ``pad_val``. The geometry is recorded so that a point ``(x, y)`` of
    the network input maps back to the loaded image as
    ``((x - offset_x) / scale_factor[0], (y - offset_y) / scale_factor[1])``.

    Required Keys:

    - img

    Modified Keys:

    - img
    - img_shape

    Added Keys:

    - scale_factor (``(w_scale, h_scale)``, network pixels per source pixel)
    - letterbox_offset (``(x, y)`` of the image's top-left on the canvas)
    - letterbox_size (``(w, h)`` of the resized image on the canvas)

    Args:
        scale (int | Sequence[int]): Canvas size; an int gives a square,
            a pair is ``(width, height)``.
        pad_val (float): Value of the padding. Defaults to 0.
        center (bool): Center the image (else top-left). Defaults to True.
        interpolation (str): ``'area'`` (anti-aliased, the default when
            shrinking), ``'bilinear'`` or ``'bicubic'``. Defaults to
            ``'area'``; enlargements always use bilinear.
    """

    _INTERPOLATIONS = {
        'area': cv2.INTER_AREA,
        'bilinear': cv2.INTER_LINEAR,
        'bicubic': cv2.INTER_CUBIC,
    }

    def __init__(self,
                 scale: Union[int, Sequence[int]],
                 pad_val: float = 0,
                 center: bool = True,
                 interpolation: str = 'area') -> None:
        if isinstance(scale, int):
            scale = (scale, scale)
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'scale must be a positive int or (w, h), got '
                             f'{scale!r}')
        if interpolation not in self._INTERPOLATIONS:
            raise ValueError(f'unknown interpolation {interpolation!r}; '
                             f'expected one of {list(self._INTERPOLATIONS)}')
        self.scale = tuple(int(s) for s in scale)
        self.pad_val = pad_val
        self.center = center
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        """Letterbox ``results['img']``.

        Args:
            results (dict): Result dict with ``img``.

        Returns:
            dict: The dict with the letterboxed image and its geometry.
        """
        img = results['img']
        scale, (new_w, new_h), (off_x, off_y) = letterbox_geometry(
            img.shape[:2], self.scale, self.center)
        interp = self._INTERPOLATIONS[self.interpolation] if scale < 1 \
            else cv2.INTER_LINEAR
        resized = cv2.resize(img, (new_w, new_h), interpolation=interp)
        if img.ndim == 3 and resized.ndim == 2:
            resized = resized[..., None]
        canvas_w, canvas_h = self.scale
        canvas = np.full((canvas_h, canvas_w) + img.shape[2:], self.pad_val,
                         dtype=img.dtype)
        canvas[off_y:off_y + new_h, off_x:off_x + new_w] = resized
        results['img'] = canvas
        results['img_shape'] = canvas.shape[:2]
        results['scale_factor'] = (new_w / img.shape[1],
                                   new_h / img.shape[0])
        results['letterbox_offset'] = (off_x, off_y)
        results['letterbox_size'] = (new_w, new_h)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'pad_val={self.pad_val}, center={self.center}, '
                f'interpolation={self.interpolation!r})')
