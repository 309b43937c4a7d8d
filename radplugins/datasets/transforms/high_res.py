"""Keep a bounded high-resolution copy of the image next to the input."""
import cv2
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class KeepHighRes(BaseTransform):
    """Store a high-resolution copy of the current image as ``hr_img``.

    Models that zoom (crop a region found on the network-size input and
    classify it again) need the original pixels, not the 224-px input. Put
    this transform after the intensity transforms and before the resize, and
    pack ``hr_img`` with ``PackInputs(algorithm_keys=('hr_img', ),
    meta_keys=(..., 'hr_scale'))``; :class:`RadDataPreprocessor` then
    normalises and pads the copies into one batch on the model's device.

    Memory stays bounded: a copy whose long side exceeds ``max_long_side``
    is shrunk (anti-aliased) to it, so a batch costs at most
    ``B x C x max_long_side^2`` values.

    Required Keys:

    - img

    Added Keys:

    - hr_img
    - hr_scale (hr pixels per loaded-image pixel; 1.0 when not shrunk)
    - hr_shape (``(h, w)`` of ``hr_img``)

    Args:
        max_long_side (int): Cap of the copy's long side. Defaults to 1024.
    """

    def __init__(self, max_long_side: int = 1024) -> None:
        if max_long_side <= 0:
            raise ValueError(
                f'max_long_side must be positive, got {max_long_side!r}')
        self.max_long_side = max_long_side

    def transform(self, results: dict) -> dict:
        """Add the high-resolution copy.

        Args:
            results (dict): Result dict with ``img``.

        Returns:
            dict: The dict with ``hr_img``, ``hr_scale`` and ``hr_shape``.
        """
        img = results['img']
        h, w = img.shape[:2]
        scale = min(1.0, self.max_long_side / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            hr = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            if img.ndim == 3 and hr.ndim == 2:
                hr = hr[..., None]
        else:
            hr = img.copy()
        results['hr_img'] = hr
        results['hr_scale'] = scale
        results['hr_shape'] = hr.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'max_long_side={self.max_long_side})')
