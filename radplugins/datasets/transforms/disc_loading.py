"""Load a disc volume as a 9-channel image."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ..spine import NUM_DISC_SLICES, load_volume


def pad_slices(volume: np.ndarray, num_slices: int = NUM_DISC_SLICES,
               path: str = '') -> np.ndarray:
    """Zero-pad ``(S, H, W)`` to ``num_slices`` slices, centred, so the
    mid-sagittal slice stays in the middle.

    Raises:
        ValueError: If the volume has more slices than ``num_slices``.
    """
    s = volume.shape[0]
    if s > num_slices:
        raise ValueError(f'{path}: {s} slices, more than {num_slices}')
    before = (num_slices - s) // 2
    return np.pad(volume, ((before, num_slices - s - before), (0, 0),
                           (0, 0)))


@TRANSFORMS.register_module()
class LoadDiscVolume(BaseTransform):
    """Load an ``(S, 112, 224)`` ``.npy``/``.npz`` disc volume.

    Required keys: ``img_path``. Optional: ``mask_path`` (with
    ``with_masks``).

    Added keys: ``img`` (float32 ``(112, 224, 9)``, slices as channels),
    ``img_shape``, ``ori_shape``, ``pad_slices`` (slices added before),
    ``gt_masks`` (bool ``(4, 9, 112, 224)``, upper/lower endplate,
    upper/lower marrow) when ``with_masks`` and a mask file is given.

    Args:
        num_slices (int): Slices after zero padding.
        with_masks (bool): Also load the synthetic lesion masks.
    """

    def __init__(self, num_slices: int = NUM_DISC_SLICES,
                 with_masks: bool = False):
        self.num_slices = num_slices
        self.with_masks = with_masks

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        volume = load_volume(path)
        if volume.ndim != 3:
            raise ValueError(f'{path}: disc volume of shape {volume.shape}; '
                             'expected (S, H, W)')
        before = (self.num_slices - volume.shape[0]) // 2
        volume = pad_slices(volume, self.num_slices, path)
        results['img'] = np.ascontiguousarray(volume.transpose(1, 2, 0))
        results['img_shape'] = volume.shape[1:]
        results['ori_shape'] = volume.shape[1:]
        results['pad_slices'] = before
        if self.with_masks and results.get('mask_path'):
            from ..synthetic.spine_generator import LESION_TASKS
            with np.load(results['mask_path']) as archive:
                results['gt_masks'] = np.stack([
                    pad_slices(archive[t].astype(np.uint8), self.num_slices,
                               results['mask_path']) for t in LESION_TASKS
                ]).astype(bool)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_slices={self.num_slices}, '
                f'with_masks={self.with_masks})')
