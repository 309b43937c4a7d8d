"""Per-image normalisation for guided backpropagation (paper eq. (1))."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class GBPNormalize(BaseTransform):
    """Normalise an image to ``0.5 + 0.5 * (img - mean) / std`` (eq. (1)).

    The paper uses this instead of dataset mean/std when the model is probed
    with guided backpropagation, so that gradients do not vanish. ``mean``
    and ``std`` are the population statistics of all pixels and channels of
    the image (eqs. (2) and (3)). A constant image, whose ``std`` is 0, maps
    to 0.5 everywhere instead of NaN. Use it with a data preprocessor that
    applies no further mean/std.

    Required Keys:

    - img

    Modified Keys:

    - img (float32)

    Args:
        eps (float): ``std`` below this counts as a constant image.
            Defaults to 1e-6.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        self.eps = eps

    def transform(self, results: dict) -> dict:
        """Normalise ``results['img']``.

        Args:
            results (dict): Result dict with ``img``.

        Returns:
            dict: The dict with the normalised float32 image.
        """
        img = results['img'].astype(np.float32)
        # float64 accumulation: float32 sums drift on multi-megapixel images.
        mean = img.mean(dtype=np.float64)
        std = img.std(dtype=np.float64)
        if std < self.eps:
            img = np.full_like(img, 0.5)
        else:
            img = (0.5 + 0.5 * (img - mean) / std).astype(np.float32)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(eps={self.eps})'
