"""Lumbar disc volumes with six radiological scores (SpineNet)."""
import csv
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .spine_tasks import (DISC_HEIGHT, DISC_LEVELS, DISC_WIDTH,
                          SPINE_NUM_CLASSES, SPINE_TASKS, first_grade)

NUM_DISC_SLICES = 9
SPINE_SPLITS = ('train', 'val', 'test')
NPY_MAGIC = b'\x93NUMPY'
ZIP_MAGIC = b'PK\x03\x04'


def _npz_key(files: List[str]) -> Optional[str]:
    """The volume's name in an ``.npz``: ``'volume'`` or its only array."""
    if 'volume' in files:
        return 'volume'
    return files[0] if len(files) == 1 else None


def read_array(path: str, what: str = 'disc volume',
               header_only: bool = False) -> np.ndarray:
    """One numeric array from a ``.npy`` file or an ``.npz`` archive.

    Never unpickles: a file that is not a ``.npy``/``.npz`` array, an
    array of Python objects, a truncated file and a non-numeric dtype are
    errors that name the file. An ``.npz`` must hold one array or a
    ``'volume'`` array.

    Args:
        path (str): The file; its content, not its name, says whether it
            is ``.npy`` or ``.npz``.
        what (str): What the file is, for the messages.
        header_only (bool): Map a ``.npy`` read-only instead of reading it
            (for its shape and dtype; a truncated file is still an error).

    Returns:
        np.ndarray: The array as stored (memory-mapped with
        ``header_only``).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be read as a numeric array.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: {what} not found')
    with open(path, 'rb') as f:
        magic = f.read(len(NPY_MAGIC))
    if not magic.startswith((NPY_MAGIC, ZIP_MAGIC)):
        raise ValueError(f'{path}: cannot read the {what}: not a .npy array '
                         'or .npz archive (pickles are never loaded)')
    array, files = None, []
    try:
        if magic.startswith(ZIP_MAGIC):
            with np.load(path, allow_pickle=False) as archive:
                files = archive.files
                key = _npz_key(files)
                if key is not None:
                    array = archive[key]
        else:
            array = np.load(
                path,
                mmap_mode='r' if header_only else None,
                allow_pickle=False)
    except Exception as exc:  # numpy, zipfile and zlib errors alike
        raise ValueError(f'{path}: cannot read the {what} '
                         f'({type(exc).__name__}: {exc})') from exc
    if array is None:
        raise ValueError(f'{path}: .npz holds {files}; expected a '
                         "'volume' array")
    if array.dtype.kind not in 'biuf':
        raise ValueError(f'{path}: {what} of dtype {array.dtype}; expected '
                         'numbers')
    return array


def volume_shape(path: str) -> Tuple[int, ...]:
    """Shape of a ``.npy`` (read from the header) or ``.npz`` volume.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a readable numeric array.
    """
    return tuple(read_array(path, header_only=True).shape)


def load_volume(path: str) -> np.ndarray:
    """Read a ``(S, 112, 224)`` disc volume as float32.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not a readable numeric array (see
            :func:`read_array`) or holds NaN or infinite values, so that
            no such volume reaches a model, a metric or a result file.
    """
    with np.errstate(over='ignore'):  # overflow to inf is reported below
        volume = read_array(path).astype(np.float32)
    bad = ~np.isfinite(volume)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f'{path}: disc volume has {int(bad.sum())} '
                         f'non-finite values (NaN or inf), the first at '
                         f'index {first}')
    return volume


def parse_box(text: str, where: str) -> Optional[List[float]]:
    """``'x1 y1 x2 y2'`` as four finite numbers, or None for a blank
    cell (``nan``/``inf`` are errors: they would reach the intensity
    normalisation)."""
    if not text or not text.strip():
        return None
    parts = text.split()
    try:
        box = [float(v) for v in parts]
    except ValueError:
        box = []
    if len(box) != 4 or not np.isfinite(box).all() or box[2] < box[0] \
            or box[3] < box[1]:
        raise ValueError(f'{where}: bad vertebral-body box {text!r}; '
                         "expected 'x1 y1 x2 y2' (finite numbers) with "
                         'x1 <= x2, y1 <= y2')
    return box


@DATASETS.register_module()
class SpineDiscDataset(BaseDataset):
    """One sagittal disc volume per sample with six radiological scores.

    Layout (``data_root``)::

        discs.csv           one row per disc, with a header:
            patient, level, split, volume, pfirrmann, narrowing,
            upper_endplate, lower_endplate, upper_marrow, lower_marrow
            [, upper_body, lower_body, mask]
        volumes/*.npy|npz   float (S, 112, 224), S <= 9 slices

    ``level`` is one of T12-L1 ... L5-S1; ``split`` is train/val/test and is
    per patient (a patient in two splits is an error); a patient/level or
    a volume file on two rows is an error naming both. Pfirrmann is 1-5,
    narrowing 0-3, the four others 0/1 (class index = grade -
    :func:`first_grade`); a blank cell is a missing label, stored as -1
    and ignored by the loss and metrics. The optional
    ``*_body`` columns are vertebral-body boxes ``x1 y1 x2 y2`` for
    :class:`NormalizeDiscIntensity`; ``mask`` names an ``.npz`` of lesion
    masks (synthetic data) for hotspot localisation.

    Volumes with fewer than 9 slices are zero-padded by
    :class:`LoadDiscVolume`; their number is logged here. Each sample's
    ``csv_row`` (``'discs.csv:LINE'``) lets the loading transform name the
    row in its errors.

    Args:
        data_root (str): Folder with the CSV and the volumes.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        ann_file (str): CSV name, relative to ``data_root``.
        pipeline (Sequence): Transforms.
        test_mode (bool): Passed to BaseDataset.
        **kwargs: Other BaseDataset arguments.
    """

    METAINFO = dict(
        tasks=SPINE_TASKS, num_classes=SPINE_NUM_CLASSES)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: str = 'discs.csv',
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs):
        if split not in SPINE_SPLITS:
            raise ValueError(f'unknown split {split!r}; expected one of '
                             f'{SPINE_SPLITS}')
        self.split = split
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            pipeline=pipeline,
            test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        path = self.ann_file
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: spine CSV not found')
        with open(path, newline='', encoding='utf-8-sig') as f:
            reader = csv.DictReader(f)
            missing = [c for c in ('patient', 'level', 'split', 'volume') +
                       SPINE_TASKS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f'{path}: missing columns {missing}')
            header = len(reader.fieldnames)
            rows = list(reader)
        patient_split: Dict[str, Tuple[str, int]] = {}
        seen_discs: Dict[Tuple[str, str], str] = {}
        seen_volumes: Dict[str, str] = {}
        data_list = []
        padded = 0
        for i, row in enumerate(rows, start=2):  # line 1 is the header
            where = f'{path}:{i}'
            # csv fills missing cells with None and files extra ones
            # under the key None (blank extra cells, e.g. trailing commas,
            # are harmless).
            missing = sum(v is None for v in row.values())
            extra = row.get(None) or []
            if missing or any(v.strip() for v in extra):
                raise ValueError(
                    f'{where}: {header - missing + len(extra)} cells but '
                    f'the header has {header} columns')
            patient, split = row['patient'].strip(), row['split'].strip()
            if split not in SPINE_SPLITS:
                raise ValueError(f'{where}: unknown split {split!r}')
            first = patient_split.setdefault(patient, (split, i))
            if first[0] != split:
                raise ValueError(
                    f'{where}: patient {patient!r} in split {split!r} but '
                    f'in {first[0]!r} on line {first[1]}; splits must be '
                    'per patient')
            level = row['level'].strip()
            if level not in DISC_LEVELS:
                raise ValueError(f'{where}: unknown disc level '
                                 f"{row['level']!r}; expected one of "
                                 f'{DISC_LEVELS}')
            img_path = osp.join(self.data_root, row['volume'].strip())
            # One row per disc and per volume file, in every split: a
            # repeated disc would be trained on or scored twice.
            other = seen_discs.setdefault((patient, level), where)
            if other != where:
                raise ValueError(
                    f'{where}: patient/level {patient!r}/{level!r} repeats '
                    f'{other}; one row per disc')
            other = seen_volumes.setdefault(osp.normpath(img_path), where)
            if other != where:
                raise ValueError(
                    f"{where}: volume {row['volume'].strip()!r} repeats "
                    f'{other}; one row per volume file')
            if split != self.split:
                continue
            labels = self._parse_labels(row, where)
            try:
                shape = volume_shape(img_path)
            except (OSError, ValueError) as exc:
                raise type(exc)(f'{exc} ({where})') from exc
            if len(shape) != 3 or shape[1:] != (DISC_HEIGHT, DISC_WIDTH) \
                    or not 1 <= shape[0] <= NUM_DISC_SLICES:
                raise ValueError(
                    f'{img_path}: disc volume of shape {shape}; expected '
                    f'(S, {DISC_HEIGHT}, {DISC_WIDTH}) with 1 <= S <= '
                    f'{NUM_DISC_SLICES} ({where})')
            padded += shape[0] < NUM_DISC_SLICES
            mask = (row.get('mask') or '').strip()
            data_list.append(
                dict(
                    img_path=img_path,
                    patient=patient,
                    level=level,
                    num_slices=shape[0],
                    task_labels=labels,
                    upper_body=parse_box(row.get('upper_body', ''), where),
                    lower_body=parse_box(row.get('lower_body', ''), where),
                    mask_path=osp.join(self.data_root, mask) if mask else
                    None,
                    csv_row=where))
        if not data_list:
            raise ValueError(f'{path}: no disc in split {self.split!r}')
        print_log(
            f'SpineDiscDataset {self.split}: {len(data_list)} discs, '
            f'{padded} with fewer than {NUM_DISC_SLICES} slices '
            '(zero-padded)',
            logger='current')
        self.num_padded = padded
        return data_list

    @staticmethod
    def _parse_labels(row: dict, where: str) -> np.ndarray:
        labels = np.full(len(SPINE_TASKS), -1, np.int64)
        for t, (task, k) in enumerate(zip(SPINE_TASKS, SPINE_NUM_CLASSES)):
            text = (row[task] or '').strip()
            if not text:
                continue
            offset = first_grade(task)
            try:
                value = int(text) - offset
            except ValueError:
                value = -1
            if not 0 <= value < k:
                raise ValueError(
                    f'{where}: {task} grade {text!r} out of range '
                    f'{offset}..{k - 1 + offset}')
            labels[t] = value
        return labels

    def task_label_array(self) -> np.ndarray:
        """``(N, 6)`` labels of all samples, -1 where missing."""
        return np.stack([
            self.get_data_info(i)['task_labels'] for i in range(len(self))
        ]) if len(self) else np.zeros((0, len(SPINE_TASKS)), np.int64)
