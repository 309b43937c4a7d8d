"""The paper's intensity rescaling: exposure normalisation and jitter."""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

# Percentiles are estimated on at most this many pixels: a 2000x2000
# radiograph needs no full sort to find its 1st and 99th percentile.
_MAX_PERCENTILE_SAMPLES = 1 << 18


def robust_range(img: np.ndarray, low: float,
                 high: float) -> Tuple[float, float]:
    """Return the ``low`` and ``high`` percentiles of an image's pixels.

    Args:
        img (np.ndarray): Image of any shape.
        low (float): Lower percentile in [0, 100].
        high (float): Upper percentile in [0, 100].

    Returns:
        tuple[float, float]: The two values, estimated on a regular subsample
        of at most 262,144 pixels.
    """
    flat = img.reshape(-1)
    step = max(1, flat.size // _MAX_PERCENTILE_SAMPLES)
    lo, hi = np.percentile(flat[::step], (low, high))
    return float(lo), float(hi)


@TRANSFORMS.register_module()
class RescaleIntensity(BaseTransform):
    """Normalise exposure, then shrink or expand it (paper §III-B).

    Radiographs differ wildly in exposure. First the ``percentiles`` of the
    image are mapped linearly to 0 and 255 (the test-time normalisation);
    then, with probability ``prob``, the exposure range is scaled by a factor
    ``s`` drawn uniformly from ``exposure_range`` around mid-grey,
    ``img = 127.5 + s * (img - 127.5)``: ``s < 1`` shrinks and ``s > 1``
    expands it (the augmentation). The result is clipped to [0, 255].

    Required Keys:

    - img

    Modified Keys:

    - img (float32 in [0, 255])

    Added Keys:

    - exposure_factor (the ``s`` used; 1.0 when not applied)

    Args:
        percentiles (tuple[float, float], optional): Percentiles mapped to 0
            and 255. None keeps the input scale. Defaults to (1, 99).
        exposure_range (tuple[float, float], optional): Range of ``s``. None
            disables the augmentation. Defaults to None.
        prob (float): Probability of applying the exposure change.
            Defaults to 1.0.
    """

    def __init__(self,
                 percentiles: Optional[Tuple[float, float]] = (1.0, 99.0),
                 exposure_range: Optional[Tuple[float, float]] = None,
                 prob: float = 1.0) -> None:
        if percentiles is not None:
            low, high = percentiles
            if not 0 <= low < high <= 100:
                raise ValueError('percentiles must satisfy 0 <= low < high '
                                 f'<= 100, got {percentiles!r}')
        if exposure_range is not None:
            lo, hi = exposure_range
            if not 0 < lo <= hi:
                raise ValueError('exposure_range must satisfy 0 < low <= '
                                 f'high, got {exposure_range!r}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob!r}')
        self.percentiles = percentiles
        self.exposure_range = exposure_range
        self.prob = prob

    def transform(self, results: dict) -> dict:
        """Rescale ``results['img']``.

        Args:
            results (dict): Result dict with ``img``.

        Returns:
            dict: The dict with the rescaled float32 image.
        """
        img = results['img'].astype(np.float32)
        if self.percentiles is not None:
            lo, hi = robust_range(img, *self.percentiles)
            # A flat image has no exposure to normalise; keep its level.
            if hi > lo:
                img = (img - lo) * (255.0 / (hi - lo))
        factor = 1.0
        if self.exposure_range is not None and np.random.rand() < self.prob:
            factor = float(np.random.uniform(*self.exposure_range))
            img = 127.5 + factor * (img - 127.5)
        results['img'] = np.clip(img, 0.0, 255.0, out=img)
        results['exposure_factor'] = factor
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(percentiles={self.percentiles}, '
                f'exposure_range={self.exposure_range}, prob={self.prob})')
