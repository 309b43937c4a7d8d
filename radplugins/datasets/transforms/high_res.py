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
    ``B x C x max_long_side^2`` values. Radiographs are gray even when
    loaded as 3 replicated channels for an ImageNet-shaped network; with
    ``gray=True`` the copy keeps one channel (a third of the memory, and of
    the cost of batching and cropping it) and
    :class:`RadDataPreprocessor` normalises the crops per network channel
    instead (:meth:`RadDataPreprocessor.finish_high_res_crops`), which
    gives the same values because cropping and resizing are linear.

    Required Keys:

    - img

    Added Keys:

    - hr_img
    - hr_scale (hr pixels per loaded-image pixel; 1.0 when not shrunk)
    - hr_shape (``(h, w)`` of ``hr_img``)

    Args:
        max_long_side (int): Cap of the copy's long side. Defaults to 1024.
        gray (bool): Keep one channel: the image itself when its channels
            are equal (a gray radiograph loaded as 3 channels), otherwise
            its luminance. Defaults to False (all channels).
    """

    def __init__(self, max_long_side: int = 1024, gray: bool = False) -> None:
        if max_long_side <= 0:
            raise ValueError(
                f'max_long_side must be positive, got {max_long_side!r}')
        self.max_long_side = max_long_side
        self.gray = gray

    @staticmethod
    def _single_channel(img):
        """One channel of a gray image, or the luminance of a colour one;
        ``img`` itself when it has one already, else a new array."""
        if img.ndim == 2:
            return img
        first = img[..., 0]
        if all((img[..., c] == first).all() for c in range(1, img.shape[2])):
            return first.copy()
        return cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY)

    def transform(self, results: dict) -> dict:
        """Add the high-resolution copy.

        Args:
            results (dict): Result dict with ``img``.

        Returns:
            dict: The dict with ``hr_img``, ``hr_scale`` and ``hr_shape``.
        """
        img = results['img']
        if self.gray:
            img = self._single_channel(img)
        h, w = img.shape[:2]
        scale = min(1.0, self.max_long_side / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            hr = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            if img.ndim == 3 and hr.ndim == 2:
                hr = hr[..., None]
        else:
            hr = img.copy() if img is results['img'] else img
        results['hr_img'] = hr
        results['hr_scale'] = scale
        results['hr_shape'] = hr.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'max_long_side={self.max_long_side}, gray={self.gray})')
