"""Load a disc volume as a 9-channel image."""
import os.path as osp
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ..spine import NUM_DISC_SLICES, ZIP_MAGIC, load_volume
from ..spine_tasks import LESION_TASKS


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


def load_masks(path: str) -> List[np.ndarray]:
    """The four lesion masks (``LESION_TASKS`` order) of an ``.npz``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a readable ``.npz`` (pickles are never
            loaded) or lacks a lesion task's array.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: lesion masks not found')
    with open(path, 'rb') as f:
        if f.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            raise ValueError(f'{path}: cannot read the lesion masks: not an '
                             '.npz archive (pickles are never loaded)')
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [t for t in LESION_TASKS if t not in archive.files]
            masks = [np.asarray(archive[t]) for t in LESION_TASKS
                     if t not in missing]
    except Exception as exc:  # numpy, zipfile and zlib errors alike
        raise ValueError(f'{path}: cannot read the lesion masks '
                         f'({type(exc).__name__}: {exc})') from exc
    if missing:
        raise ValueError(f'{path}: lesion masks without {missing}')
    return masks


@TRANSFORMS.register_module()
class LoadDiscVolume(BaseTransform):
    """Load an ``(S, 112, 224)`` ``.npy``/``.npz`` disc volume.

    A file that cannot be read as a numeric array (truncated, pickled
    objects, not an array; pickles are never loaded) and a volume with NaN
    or infinite values are errors naming the file and, from a dataset,
    its CSV row, so that such a volume is never trained on, scored or
    written as a prediction.

    Required keys: ``img_path``. Optional: ``mask_path`` (with
    ``with_masks``), ``csv_row`` (named in errors).

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
        try:
            return self._load(results)
        except (OSError, ValueError) as exc:
            if results.get('csv_row'):
                raise type(exc)(f"{exc} ({results['csv_row']})") from exc
            raise

    def _load(self, results: dict) -> dict:
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
            results['gt_masks'] = np.stack([
                pad_slices(m.astype(np.uint8), self.num_slices,
                           results['mask_path'])
                for m in load_masks(results['mask_path'])
            ]).astype(bool)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_slices={self.num_slices}, '
                f'with_masks={self.with_masks})')
