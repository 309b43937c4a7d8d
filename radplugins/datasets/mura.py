"""The MURA-v1.1 musculoskeletal radiograph dataset (image level)."""
import csv
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ..utils.json_files import read_json
from .transforms.loading import file_truncation
from .unreadable_files import report_unreadable

MURA_BODY_PARTS = ('XR_ELBOW', 'XR_FINGER', 'XR_FOREARM', 'XR_HAND',
                   'XR_HUMERUS', 'XR_SHOULDER', 'XR_WRIST')
MURA_SPLITS = ('train', 'valid')
MURA_FOLDER = 'MURA-v1.1'
# The synthetic generator's box ground truth, inside MURA_FOLDER.
GROUND_TRUTH_FILE = 'synthetic_ground_truth.json'

# MURA-v1.1/<split>/XR_<PART>/patient<digits>/study<k>_<positive|negative>/
_STUDY_PATTERN = re.compile(
    r'^(?P<root>[^/]+)/(?P<split>[^/]+)/(?P<part>[^/]+)/'
    r'(?P<patient>patient[0-9]+)/(?P<study>study[0-9]+)_'
    r'(?P<suffix>[a-z]+)/$')
_SUFFIX_LABEL = {'negative': 0, 'positive': 1}


def normalize_body_part(part: str) -> str:
    """Return the canonical MURA name of a body part.

    Accepts ``'XR_WRIST'`` as well as ``'wrist'`` or ``'Wrist'``.

    Args:
        part (str): A body part name.

    Returns:
        str: The canonical name, e.g. ``'XR_WRIST'``.

    Raises:
        ValueError: If the name is not one of the seven MURA body parts.
    """
    name = part.strip().upper()
    if not name.startswith('XR_'):
        name = 'XR_' + name
    if name not in MURA_BODY_PARTS:
        raise ValueError(f'unknown body part {part!r}; expected one of '
                         f'{", ".join(MURA_BODY_PARTS)}')
    return name


def resolve_mura_root(data_root: str) -> str:
    """Return the folder that contains ``MURA-v1.1/``.

    Args:
        data_root (str): Either the folder that contains ``MURA-v1.1/`` or the
            ``MURA-v1.1/`` folder itself.

    Returns:
        str: The folder the CSV paths are relative to.

    Raises:
        FileNotFoundError: If neither layout is found under ``data_root``.
    """
    if osp.isdir(osp.join(data_root, MURA_FOLDER)):
        return data_root
    if osp.isfile(osp.join(data_root, 'train_image_paths.csv')) or \
            osp.isfile(osp.join(data_root, 'valid_image_paths.csv')):
        return osp.dirname(osp.abspath(data_root))
    raise FileNotFoundError(
        f'data_root {data_root!r} contains neither {MURA_FOLDER}/ nor '
        f'MURA CSV files such as train_image_paths.csv')


def load_synthetic_ground_truth(path: str) -> Dict[str, dict]:
    """The per-image records of a synthetic set's ground-truth file.

    Args:
        path (str): ``MURA-v1.1/synthetic_ground_truth.json`` as written by
            the synthetic generator.

    Returns:
        dict: Its ``images`` object: boxes, polygons, split and label per
        image path relative to the folder that holds ``MURA-v1.1/``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'ground-truth file not found: {path}')
    content = read_json(path)
    images = content.get('images') if isinstance(content, dict) else None
    if not isinstance(images, dict):
        raise ValueError(f'{path}: expected an "images" object keyed by '
                         'image path')
    return images


@DATASETS.register_module()
class MuraDataset(BaseDataset):
    """MURA-v1.1: musculoskeletal radiographs with study-level labels.

    Every image of a study carries the study's label (``0`` negative,
    ``1`` positive). The layout is the one of the official download, and the
    synthetic generator of :mod:`radplugins.datasets.synthetic` writes the
    same::

        data_root/                        (or data_root = MURA-v1.1/ itself)
        └── MURA-v1.1/
            ├── train_image_paths.csv     header-less, one image path a row
            ├── train_labeled_studies.csv header-less, "study_path/,label"
            ├── valid_image_paths.csv
            ├── valid_labeled_studies.csv
            ├── train/
            │   └── XR_WRIST/
            │       └── patient00006/
            │           └── study1_positive/
            │               ├── image1.png
            │               └── image2.png
            └── valid/ ...

    Paths in the CSVs are relative to the folder that contains
    ``MURA-v1.1/``.

    Each sample dict holds ``img_path``, ``gt_label``, ``body_part``,
    ``patient_id``, ``study_id`` (unique over the whole set, e.g.
    ``'train/XR_WRIST/patient00006/study1_positive'``) and ``view_idx``
    (0-based position of the image inside its study, in CSV order) and
    ``csv_row`` (``'.../train_image_paths.csv:ROW'``, for error messages
    such as :func:`check_dataset`'s). Pass
    ``study_id`` and ``body_part`` through ``PackInputs(meta_keys=...)`` so
    :class:`MuraKappa` can aggregate views to studies.

    Args:
        data_root (str): Folder containing ``MURA-v1.1/`` or that folder.
        split (str): ``'train'`` or ``'valid'``. Defaults to ``'train'``.
        body_parts (Sequence[str], optional): Keep only these body parts
            (``'XR_WRIST'`` or ``'wrist'``). Defaults to all seven.
        skip_missing (bool): Skip images whose file does not exist and log
            how many were skipped, instead of raising. Defaults to False.
        skip_corrupt (bool): Skip images whose file is empty or truncated
            (its PNG/JPEG end marker is missing; every listed file is
            checked when the dataset is built, reading only its ends) and
            log them with their CSV rows, instead of raising an error that
            lists them all. Like a missing view, a skipped one does not
            count in ``view_idx``. Defaults to False.
        ground_truth (str, optional): A JSON of abnormality and flag boxes
            per image, as the synthetic generator writes; ``'auto'`` means
            ``MURA-v1.1/synthetic_ground_truth.json``. Each sample then
            carries ``gt_abnormal_boxes`` and ``gt_flag_boxes`` (``(K, 4)``
            float32, ``x1, y1, x2, y2`` in original pixels) and
            ``gt_abnormal_kinds`` (one string per abnormality box, e.g.
            ``'fracture'`` or ``'implant'``; ``''`` where the file names
            none) for the localisation metrics. Real MURA has no such file. Defaults to
            None.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = {'classes': ('negative', 'positive')}

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 body_parts: Optional[Sequence[str]] = None,
                 skip_missing: bool = False,
                 skip_corrupt: bool = False,
                 ground_truth: Optional[str] = None,
                 **kwargs) -> None:
        if split not in MURA_SPLITS:
            raise ValueError(f'unknown MURA split {split!r}; expected one of '
                             f'{MURA_SPLITS}')
        if isinstance(body_parts, str):
            body_parts = [body_parts]
        self.split = split
        self.body_parts = tuple(
            normalize_body_part(p)
            for p in body_parts) if body_parts else MURA_BODY_PARTS
        self.skip_missing = skip_missing
        self.skip_corrupt = skip_corrupt
        self.ground_truth = ground_truth
        self.num_skipped = 0
        self.skipped_corrupt: List[str] = []
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    @property
    def image_csv(self) -> str:
        """str: Path of the split's image list."""
        return osp.join(self._mura_dir, f'{self.split}_image_paths.csv')

    @property
    def study_csv(self) -> str:
        """str: Path of the split's labelled study list."""
        return osp.join(self._mura_dir, f'{self.split}_labeled_studies.csv')

    @property
    def _mura_dir(self) -> str:
        return osp.join(resolve_mura_root(self.data_root), MURA_FOLDER)

    def _parse_study_path(self, csv_path: str, row: int,
                          study_path: str) -> Tuple[str, str, str, int]:
        """Split a study folder path into (study_id, body_part, patient,
        folder label), validating every part."""
        match = _STUDY_PATTERN.match(study_path)
        if match is None:
            raise ValueError(
                f'{csv_path}:{row}: malformed study path {study_path!r}; '
                f'expected {MURA_FOLDER}/<split>/XR_<PART>/patient<id>/'
                f'study<k>_<positive|negative>/')
        if match['split'] != self.split:
            raise ValueError(f'{csv_path}:{row}: path {study_path!r} is in '
                             f'split {match["split"]!r}, not {self.split!r}')
        part = match['part']
        if part not in MURA_BODY_PARTS:
            raise ValueError(
                f'{csv_path}:{row}: unknown body part {part!r} in '
                f'{study_path!r}')
        if match['suffix'] not in _SUFFIX_LABEL:
            raise ValueError(
                f'{csv_path}:{row}: study folder suffix '
                f'{match["suffix"]!r} in {study_path!r} is neither '
                f'positive nor negative')
        study_id = study_path[len(match['root']) + 1:-1]
        return (study_id, part, match['patient'],
                _SUFFIX_LABEL[match['suffix']])

    def _load_studies(self) -> Dict[str, Tuple[int, str, str]]:
        """Read the labelled-studies CSV: study_id -> (label, part,
        patient)."""
        csv_path = self.study_csv
        if not osp.isfile(csv_path):
            raise FileNotFoundError(f'MURA study list not found: {csv_path}')
        studies: Dict[str, Tuple[int, str, str]] = {}
        # utf-8-sig: a byte-order mark must not become part of the first
        # path.
        with open(csv_path, newline='', encoding='utf-8-sig') as f:
            for row, fields in enumerate(csv.reader(f), start=1):
                if not fields or all(not x.strip() for x in fields):
                    continue
                if len(fields) != 2:
                    raise ValueError(
                        f'{csv_path}:{row}: expected "study_path,label", got '
                        f'{",".join(fields)!r}')
                study_path, label_text = fields[0].strip(), fields[1].strip()
                if not study_path.endswith('/'):
                    study_path += '/'
                if label_text not in ('0', '1'):
                    raise ValueError(f'{csv_path}:{row}: label must be 0 or 1'
                                     f', got {label_text!r}')
                label = int(label_text)
                study_id, part, patient, folder_label = \
                    self._parse_study_path(csv_path, row, study_path)
                if label != folder_label:
                    raise ValueError(
                        f'{csv_path}:{row}: CSV label {label} disagrees with '
                        f'the folder name {study_path!r} (label '
                        f'{folder_label})')
                if study_id in studies:
                    raise ValueError(f'{csv_path}:{row}: study {study_path!r}'
                                     ' is listed twice')
                studies[study_id] = (label, part, patient)
        return studies

    def load_data_list(self) -> List[dict]:
        """Read the split's CSVs into one dict per image.

        Returns:
            list[dict]: Samples in CSV order.
        """
        base = resolve_mura_root(self.data_root)
        studies = self._load_studies()
        csv_path = self.image_csv
        if not osp.isfile(csv_path):
            raise FileNotFoundError(f'MURA image list not found: {csv_path}')

        data_list: List[dict] = []
        views_seen: Dict[str, int] = {}
        missing: List[str] = []
        corrupt: List[Tuple[str, str, str]] = []
        with open(csv_path, newline='', encoding='utf-8-sig') as f:
            for row, fields in enumerate(csv.reader(f), start=1):
                if not fields or all(not x.strip() for x in fields):
                    continue
                if len(fields) != 1:
                    raise ValueError(f'{csv_path}:{row}: expected one image '
                                     f'path, got {",".join(fields)!r}')
                img_rel = fields[0].strip()
                study_path = img_rel.rsplit('/', 1)[0] + '/'
                study_id, part, patient, folder_label = \
                    self._parse_study_path(csv_path, row, study_path)
                if study_id not in studies:
                    raise ValueError(
                        f'{csv_path}:{row}: image {img_rel!r} belongs to '
                        f'study {study_path!r}, which is absent from '
                        f'{self.study_csv}')
                label = studies[study_id][0]
                if part not in self.body_parts:
                    continue
                img_path = osp.join(base, img_rel)
                if not osp.isfile(img_path):
                    if not self.skip_missing:
                        raise FileNotFoundError(
                            f'{csv_path}:{row}: image not found: {img_path}')
                    missing.append(img_path)
                    continue
                reason = file_truncation(img_path)
                if reason is not None:
                    corrupt.append((f'{csv_path}:{row}', img_path, reason))
                    continue
                view_idx = views_seen.get(study_id, 0)
                views_seen[study_id] = view_idx + 1
                data_list.append(
                    dict(
                        img_path=img_path,
                        gt_label=label,
                        body_part=part,
                        patient_id=patient,
                        study_id=study_id,
                        view_idx=view_idx,
                        csv_row=f'{csv_path}:{row}',
                        _rel_path=img_rel))

        self.num_skipped = len(missing)
        self.skipped_corrupt = report_unreadable(
            f'MuraDataset({self.split})', corrupt, self.skip_corrupt)
        self._attach_ground_truth(data_list)
        for info in data_list:
            del info['_rel_path']
        if missing:
            print_log(
                f'MuraDataset({self.split}): skipped {len(missing)} missing '
                f'image(s) listed in {csv_path} (skip_missing=True), e.g. '
                f'{missing[0]}', logger='current', level=30)
        if not data_list:
            raise ValueError(
                f'{csv_path}: no images left for body parts '
                f'{list(self.body_parts)}')
        return data_list

    def _attach_ground_truth(self, data_list: List[dict]) -> None:
        """Add box ground truth from ``self.ground_truth`` to samples."""
        if self.ground_truth is None:
            return
        path = self.ground_truth
        if path == 'auto':
            path = osp.join(self._mura_dir, GROUND_TRUTH_FILE)
        images = load_synthetic_ground_truth(path)
        for info in data_list:
            record = images.get(info['_rel_path'])
            if record is None:
                raise ValueError(f'{path}: no entry for image '
                                 f'{info["_rel_path"]!r}')
            for key, field in (('abnormalities', 'gt_abnormal_boxes'),
                               ('flags', 'gt_flag_boxes')):
                boxes = [obj['bbox'] for obj in record.get(key, [])]
                info[field] = np.asarray(boxes, dtype=np.float32).reshape(
                    -1, 4)
            info['gt_abnormal_kinds'] = [
                str(obj.get('kind', ''))
                for obj in record.get('abnormalities', [])
            ]

    def extra_repr(self) -> List[str]:
        """Lines for ``repr``: split, body parts and skipped images."""
        return [
            f'Split: {self.split}',
            f'Body parts: {", ".join(self.body_parts)}',
            f'Skipped missing images: {self.num_skipped}',
            f'Skipped unreadable images: {len(self.skipped_corrupt)}',
        ]
