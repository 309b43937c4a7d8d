"""SpineNet's per-slice intensity normalisation of a disc volume."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class NormalizeDiscIntensity(BaseTransform):
    """Scale each slice so the median of its two vertebral bodies is 0.5,
    then clip to ``[0, 1]`` (SpineNet section 4, against bias fields).

    Slices in which the bodies hold no signal (zero padding) are left at
    zero. Samples without both boxes are passed through unchanged and
    counted in ``num_skipped``.

    Required keys: ``img`` (``(H, W, S)``), ``upper_body``, ``lower_body``
    (``[x1, y1, x2, y2]`` pixel boxes, inclusive, or None).

    Modified keys: ``img``.

    Args:
        target (float): Median the bodies are mapped to.
    """

    def __init__(self, target: float = 0.5):
        self.target = target
        self.num_skipped = 0

    def transform(self, results: dict) -> dict:
        upper, lower = results.get('upper_body'), results.get('lower_body')
        if upper is None or lower is None:
            self.num_skipped += 1
            return results
        img = results['img'].astype(np.float32)
        pixels = []
        for box in (upper, lower):
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            pixels.append(img[y1:y2 + 1, x1:x2 + 1].reshape(-1,
                                                             img.shape[2]))
        median = np.median(np.concatenate(pixels), axis=0)
        scale = np.where(median > 0, self.target / np.maximum(median, 1e-12),
                         0.0)
        results['img'] = np.clip(img * scale[None, None], 0, 1).astype(
            np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(target={self.target})'
