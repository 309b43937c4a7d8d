"""FracAtlas: real musculoskeletal radiographs with fracture boxes."""
import csv
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ..utils.json_files import read_json
from .transforms.flag_removal import load_regions_file
from .transforms.loading import file_truncation
from .unreadable_files import report_unreadable

FRACATLAS_BODY_PARTS = ('hand', 'leg', 'hip', 'shoulder', 'mixed')
FRACATLAS_SPLITS = ('train', 'valid', 'test')
FRACATLAS_VIEWS = ('frontal', 'lateral', 'oblique')
FRACATLAS_CSV = 'dataset.csv'
FRACATLAS_COCO = osp.join('Annotations', 'COCO JSON',
                          'COCO_fracture_masks.json')
FRACATLAS_IMAGE_FOLDERS = {1: osp.join('images', 'Fractured'),
                           0: osp.join('images', 'Non_fractured')}
_FLAG_COLUMNS = (FRACATLAS_BODY_PARTS + ('hardware', 'multiscan', 'fractured')
                 + FRACATLAS_VIEWS)
_COLUMNS = ('image_id', ) + _FLAG_COLUMNS + ('fracture_count', )

# Known disagreements inside the official FracAtlas release, each pinned to
# the exact values the release has, so any other disagreement (or a later
# release that changes these rows) is still an error. The label follows the
# majority of the release's own evidence.
FRACATLAS_ERRATA = {
    'IMG0003298.jpg':
    dict(
        csv_fractured=0,
        folder_label=1,
        fracture_count=1,
        label=1,
        reason='dataset.csv says fractured=0, but the image is in '
        'images/Fractured/, its fracture_count is 1 and the COCO file '
        'boxes one fracture on it'),
}


def fracatlas_body_part(flags: Dict[str, int], where: str) -> str:
    """The one body-part group of an image: its single part, or ``'mixed'``.

    Args:
        flags (dict): The 0/1 values of the body-part columns.
        where (str): ``file:row`` used in error messages.

    Returns:
        str: One of :data:`FRACATLAS_BODY_PARTS`.

    Raises:
        ValueError: If no part is set, or several without ``mixed``.
    """
    if flags['mixed']:
        return 'mixed'
    parts = [p for p in FRACATLAS_BODY_PARTS[:-1] if flags[p]]
    if len(parts) != 1:
        raise ValueError(
            f'{where}: expected exactly one of hand, leg, hip, shoulder (or '
            f'mixed=1), got {parts or "none"}')
    return parts[0]


def fracatlas_split(records: Sequence[Tuple[str, int, str]],
                    seed: int = 0,
                    ratios: Sequence[float] = (0.7, 0.15, 0.15)
                    ) -> Dict[str, str]:
    """Split images into train/valid/test, stratified by label x body part.

    Within each (label, body part) stratum the image ids are sorted, then
    shuffled by a generator seeded with ``seed``; the first
    ``round(n * ratios[0])`` go to train, the next up to
    ``round(n * (ratios[0] + ratios[1]))`` to valid, the rest to test. The
    result depends only on the records' content, not their order.

    Args:
        records (Sequence[tuple]): ``(image_id, label, body_part)`` triples.
        seed (int): Seed of the shuffle. Defaults to 0.
        ratios (Sequence[float]): Train, valid and test fractions; they must
            be non-negative and sum to 1. Defaults to ``(0.7, 0.15, 0.15)``.

    Returns:
        dict: image id -> ``'train'``, ``'valid'`` or ``'test'``.
    """
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1) > 1e-6:
        raise ValueError(f'ratios must be three non-negative fractions '
                         f'summing to 1, got {ratios!r}')
    strata: Dict[Tuple[int, str], List[str]] = defaultdict(list)
    for image_id, label, part in records:
        strata[(int(label), str(part))].append(image_id)
    rng = np.random.default_rng(seed)
    split_of: Dict[str, str] = {}
    for key in sorted(strata):
        ids = sorted(strata[key])
        order = rng.permutation(len(ids))
        n_train = round(len(ids) * ratios[0])
        n_train_valid = round(len(ids) * (ratios[0] + ratios[1]))
        for rank, idx in enumerate(order):
            split = 'train' if rank < n_train else (
                'valid' if rank < n_train_valid else 'test')
            split_of[ids[idx]] = split
    return split_of


def _read_split_file(path: str) -> Dict[str, str]:
    """Read a ``image_id,split`` CSV (with that header)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file not found: {path}')
    split_of: Dict[str, str] = {}
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if header != ['image_id', 'split']:
            raise ValueError(f'{path}:1: expected the header "image_id,split"'
                             f', got {",".join(header)!r}')
        for row, fields in enumerate(reader, start=2):
            if not fields or all(not x.strip() for x in fields):
                continue
            if len(fields) != 2:
                raise ValueError(f'{path}:{row}: expected "image_id,split", '
                                 f'got {",".join(fields)!r}')
            image_id, split = fields[0].strip(), fields[1].strip()
            if split not in FRACATLAS_SPLITS:
                raise ValueError(f'{path}:{row}: unknown split {split!r}; '
                                 f'expected one of {FRACATLAS_SPLITS}')
            if image_id in split_of:
                raise ValueError(
                    f'{path}:{row}: image {image_id!r} is listed twice')
            split_of[image_id] = split
    return split_of


@DATASETS.register_module()
class FracAtlasDataset(BaseDataset):
    """FracAtlas: 4,083 radiographs labelled fractured or not, with boxes.

    FracAtlas (Abedeen et al., Scientific Data 2023, CC BY 4.0) is read in
    the layout of its download::

        data_root/
        ├── dataset.csv          image_id, hand, leg, hip, shoulder, mixed,
        │                        hardware, multiscan, fractured,
        │                        fracture_count, frontal, lateral, oblique
        ├── images/
        │   ├── Fractured/       IMG0000019.jpg, ...
        │   └── Non_fractured/   IMG0000000.jpg, ...
        ├── Annotations/
        │   └── COCO JSON/COCO_fracture_masks.json
        └── Utilities/Fracture Split/{train,valid,test}.csv   (not used)

    One sample per image; ``gt_label`` is ``fractured`` (0/1), checked
    against the image's folder, ``fracture_count`` and the COCO boxes. The
    authors' split covers only the 717 fractured images (for detection), so
    the dataset splits all 4,083 itself with :func:`fracatlas_split`:
    stratified by label x body part, seeded, 70/15/15 by default; pass
    ``split_file`` to use a split of your own.

    Each sample holds ``img_path``, ``gt_label``, ``img_id`` (the file
    name), ``study_id`` (the same: every image is its own study, so
    :class:`MuraKappa` works unchanged), ``body_part`` (one of
    :data:`FRACATLAS_BODY_PARTS`; several parts in one image are
    ``'mixed'``), ``view`` (e.g. ``'frontal+lateral'``), ``hardware`` and
    ``multiscan`` (0/1), ``csv_row`` (``'.../dataset.csv:ROW'``, for error
    messages), ``ann_shape`` (``(h, w)`` the COCO file gives) and,
    for :class:`ZoomLocalization`, ``gt_abnormal_boxes`` (``(K, 4)``
    float32 ``x1, y1, x2, y2`` in the file's pixels), ``gt_abnormal_kinds``
    (``'fracture'`` per box) and ``gt_flag_boxes`` (FracAtlas does not box
    its markers: empty, or the flags a detector found, read from
    ``flag_regions_file``; then ``flag_regions`` holds the same detections
    as regions, which :class:`FillFlagRegions` fills when it is given no
    file of its own).

    Bad input raises an error naming the file, row and value: a malformed
    or duplicate row, a label that disagrees with the image's folder (bar
    the documented :data:`FRACATLAS_ERRATA`), a ``fracture_count`` that
    disagrees with the label or the boxes, an annotation of an image absent
    from ``dataset.csv``, a degenerate box. Images on disk that
    ``dataset.csv`` does not list are reported in a warning.

    Args:
        data_root (str): The folder holding ``dataset.csv``.
        split (str): ``'train'``, ``'valid'``, ``'test'`` or ``'all'``.
            Defaults to ``'train'``.
        body_parts (Sequence[str], optional): Keep only these groups.
            Defaults to all five.
        split_file (str, optional): A CSV with header ``image_id,split``
            listing every image of ``dataset.csv``; used instead of the
            built-in split. Relative paths are taken from ``data_root``.
        split_seed (int): Seed of the built-in split. Defaults to 0.
        split_ratios (Sequence[float]): Train/valid/test fractions of the
            built-in split. Defaults to ``(0.7, 0.15, 0.15)``.
        with_boxes (bool): Read the COCO fracture boxes. Defaults to True.
        skip_missing (bool): Skip listed images whose file is absent and log
            how many, instead of raising. Defaults to False.
        flag_regions_file (str, optional): A ``tools/remove_flags.py``
            report of this folder; its ``flag`` regions (boxes, file
            pixels) become ``gt_flag_boxes``, so that
            :class:`ZoomLocalization`'s flag scores say how often the ROI
            lands on a marker the detector found, and ``flag_regions``, so
            that a ``FillFlagRegions()`` step right after loading removes
            them (training with flags filled). These are detections,
            not annotations. An image of the split the report does not
            list is an error. Defaults to None (no flag boxes).
        skip_corrupt (bool): Skip images whose file is empty or truncated
            (its end marker is missing; checked on the split's files when
            the dataset is built, reading only each file's ends) and log
            them, instead of raising an error that lists them all. The
            split is drawn before, so skipping never moves another image.
            Defaults to False.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = {'classes': ('not fractured', 'fractured')}

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 body_parts: Optional[Sequence[str]] = None,
                 split_file: Optional[str] = None,
                 split_seed: int = 0,
                 split_ratios: Sequence[float] = (0.7, 0.15, 0.15),
                 with_boxes: bool = True,
                 skip_missing: bool = False,
                 skip_corrupt: bool = False,
                 flag_regions_file: Optional[str] = None,
                 **kwargs) -> None:
        if split not in FRACATLAS_SPLITS + ('all', ):
            raise ValueError(f'unknown FracAtlas split {split!r}; expected '
                             f'one of {FRACATLAS_SPLITS + ("all", )}')
        if isinstance(body_parts, str):
            body_parts = [body_parts]
        for part in body_parts or ():
            if part not in FRACATLAS_BODY_PARTS:
                raise ValueError(f'unknown FracAtlas body part {part!r}; '
                                 f'expected one of {FRACATLAS_BODY_PARTS}')
        self.split = split
        self.body_parts = tuple(body_parts or FRACATLAS_BODY_PARTS)
        self.split_file = split_file
        self.split_seed = split_seed
        self.split_ratios = tuple(split_ratios)
        self.with_boxes = with_boxes
        self.skip_missing = skip_missing
        self.skip_corrupt = skip_corrupt
        self.flag_regions_file = flag_regions_file
        self.num_skipped = 0
        self.skipped_corrupt: List[str] = []
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    # ------------------------------------------------------------------
    def _read_rows(self) -> List[dict]:
        """Parse and check ``dataset.csv``: one dict per row."""
        csv_path = osp.join(self.data_root, FRACATLAS_CSV)
        if not osp.isfile(csv_path):
            raise FileNotFoundError(f'FracAtlas table not found: {csv_path}')
        rows: List[dict] = []
        row_of: Dict[str, int] = {}
        with open(csv_path, newline='', encoding='utf-8-sig') as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in _COLUMNS if c not in header]
            if missing:
                raise ValueError(f'{csv_path}:1: missing column(s) '
                                 f'{", ".join(missing)}')
            col = {name: header.index(name) for name in _COLUMNS}
            for row, fields in enumerate(reader, start=2):
                if not fields or all(not x.strip() for x in fields):
                    continue
                where = f'{csv_path}:{row}'
                if len(fields) != len(header):
                    raise ValueError(f'{where}: expected {len(header)} '
                                     f'fields, got {len(fields)}')
                image_id = fields[col['image_id']].strip()
                if not image_id or osp.basename(image_id) != image_id:
                    raise ValueError(f'{where}: bad image_id {image_id!r}')
                if image_id in row_of:
                    raise ValueError(
                        f'{where}: image {image_id!r} is listed twice (first '
                        f'at row {row_of[image_id]})')
                row_of[image_id] = row
                flags = {}
                for name in _FLAG_COLUMNS:
                    value = fields[col[name]].strip()
                    if value not in ('0', '1'):
                        raise ValueError(f'{where}: column {name!r} must be '
                                         f'0 or 1, got {value!r}')
                    flags[name] = int(value)
                count_text = fields[col['fracture_count']].strip()
                if not count_text.isdigit():
                    raise ValueError(
                        f'{where}: fracture_count must be a non-negative '
                        f'integer, got {count_text!r}')
                rows.append(
                    dict(
                        image_id=image_id,
                        row=row,
                        where=where,
                        flags=flags,
                        fracture_count=int(count_text),
                        body_part=fracatlas_body_part(flags, where)))
        if not rows:
            raise ValueError(f'{csv_path}: no image listed')
        return rows

    def _folder_files(self) -> Dict[int, Set[str]]:
        """The file names in each image folder, by the folder's label
        (empty for a folder that does not exist)."""
        files: Dict[int, Set[str]] = {}
        for label, folder in FRACATLAS_IMAGE_FOLDERS.items():
            path = osp.join(self.data_root, folder)
            files[label] = set()
            if osp.isdir(path):
                with os.scandir(path) as entries:
                    files[label] = {e.name for e in entries if e.is_file()}
        return files

    def _label_of(self, info: dict,
                  folder_files: Dict[int, Set[str]]
                  ) -> Tuple[int, Optional[str]]:
        """The image's label and the folder it is in (None when absent),
        after checking label, folder and fracture count agree."""
        where, image_id = info['where'], info['image_id']
        csv_label = info['flags']['fractured']
        folder_label = None
        for label in FRACATLAS_IMAGE_FOLDERS:
            if image_id in folder_files[label]:
                if folder_label is not None:
                    raise ValueError(
                        f'{where}: {image_id} is in both '
                        f'{FRACATLAS_IMAGE_FOLDERS[1]}/ and '
                        f'{FRACATLAS_IMAGE_FOLDERS[0]}/')
                folder_label = label
        erratum = FRACATLAS_ERRATA.get(image_id)
        if erratum is not None and (
                erratum['csv_fractured'], erratum['folder_label'],
                erratum['fracture_count']) == (csv_label, folder_label,
                                               info['fracture_count']):
            return erratum['label'], folder_label
        if folder_label is not None and folder_label != csv_label:
            raise ValueError(
                f'{where}: fractured={csv_label} for {image_id}, but the '
                f'file is in {FRACATLAS_IMAGE_FOLDERS[folder_label]}/')
        if (info['fracture_count'] > 0) != bool(csv_label):
            raise ValueError(
                f'{where}: fractured={csv_label} but fracture_count='
                f'{info["fracture_count"]} for {image_id}')
        return csv_label, folder_label

    def _read_boxes(self, rows: Dict[str, dict]) -> Dict[str, dict]:
        """Fracture boxes per image id from the COCO file, checked."""
        coco_path = osp.join(self.data_root, FRACATLAS_COCO)
        if not osp.isfile(coco_path):
            raise FileNotFoundError(
                f'FracAtlas COCO annotations not found: {coco_path} (pass '
                'with_boxes=False to read labels only)')
        coco = read_json(coco_path)
        images = {}
        for image in coco.get('images', []):
            name = image.get('file_name')
            if name not in rows:
                raise ValueError(
                    f'{coco_path}: image id {image.get("id")} '
                    f'({name!r}) is not listed in {FRACATLAS_CSV}')
            images[image['id']] = image
        boxes: Dict[str, dict] = {}
        for ann in coco.get('annotations', []):
            image = images.get(ann.get('image_id'))
            if image is None:
                raise ValueError(
                    f'{coco_path}: annotation {ann.get("id")} refers to '
                    f'image id {ann.get("image_id")!r}, which the file does '
                    'not list')
            name = image['file_name']
            x, y, w, h = (float(v) for v in ann['bbox'])
            width, height = float(image['width']), float(image['height'])
            if not (w > 0 and h > 0 and x >= -0.5 and y >= -0.5
                    and x + w <= width + 0.5 and y + h <= height + 0.5):
                raise ValueError(
                    f'{coco_path}: annotation {ann.get("id")} of {name} has '
                    f'box {ann["bbox"]!r}, empty or outside the '
                    f'{int(width)}x{int(height)} image')
            entry = boxes.setdefault(
                name, dict(shape=(int(height), int(width)), boxes=[]))
            entry['boxes'].append([
                max(x, 0.0), max(y, 0.0),
                min(x + w, width), min(y + h, height)
            ])
        return boxes

    def _split_of(self, rows: List[dict],
                  labels: Dict[str, int]) -> Dict[str, str]:
        """The split of every image: the split file's or the built-in."""
        if self.split_file is None:
            return fracatlas_split(
                [(r['image_id'], labels[r['image_id']], r['body_part'])
                 for r in rows],
                seed=self.split_seed,
                ratios=self.split_ratios)
        path = self.split_file
        if not osp.isabs(path):
            path = osp.join(self.data_root, path)
        split_of = _read_split_file(path)
        absent = [r['image_id'] for r in rows if r['image_id'] not in split_of]
        if absent:
            raise ValueError(f'{path}: {len(absent)} image(s) of '
                             f'{FRACATLAS_CSV} have no split, e.g. '
                             f'{absent[0]!r}')
        unknown = sorted(set(split_of) - {r['image_id'] for r in rows})
        if unknown:
            raise ValueError(f'{path}: image {unknown[0]!r} is not listed in '
                             f'{FRACATLAS_CSV}')
        return split_of

    def _warn_unlisted(self, listed: Dict[str, dict],
                       folder_files: Dict[int, Set[str]]) -> None:
        """Report image files that dataset.csv does not list."""
        unlisted = []
        for label, folder in FRACATLAS_IMAGE_FOLDERS.items():
            unlisted += [
                osp.join(self.data_root, folder, name)
                for name in sorted(folder_files[label]) if name not in listed
            ]
        if unlisted:
            print_log(
                f'FracAtlasDataset: {len(unlisted)} file(s) in the image '
                f'folders are not listed in {FRACATLAS_CSV} and are not '
                f'used, e.g. {unlisted[0]}',
                logger='current',
                level=30)

    def load_data_list(self) -> List[dict]:
        """Read ``dataset.csv`` and the boxes into one dict per image.

        Returns:
            list[dict]: The split's samples, sorted by image id.
        """
        rows = self._read_rows()
        by_id = {r['image_id']: r for r in rows}
        # One listing of each image folder serves the label check and the
        # report of unlisted files (no stat per row).
        folder_files = self._folder_files()
        self._warn_unlisted(by_id, folder_files)
        labels, folders = {}, {}
        for info in rows:
            labels[info['image_id']], folders[info['image_id']] = \
                self._label_of(info, folder_files)
            if info['image_id'] in FRACATLAS_ERRATA and labels[
                    info['image_id']] != info['flags']['fractured']:
                print_log(
                    f'FracAtlasDataset: {info["where"]}: '
                    f'{FRACATLAS_ERRATA[info["image_id"]]["reason"]}; read '
                    f'as label {labels[info["image_id"]]}',
                    logger='current',
                    level=30)
        boxes = self._read_boxes(by_id) if self.with_boxes else {}
        if self.with_boxes:
            for info in rows:
                found = len(boxes.get(info['image_id'], {}).get('boxes', []))
                if found != info['fracture_count']:
                    raise ValueError(
                        f'{info["where"]}: fracture_count='
                        f'{info["fracture_count"]} for {info["image_id"]}, '
                        f'but {FRACATLAS_COCO} has {found} box(es)')
        split_of = self._split_of(rows, labels)
        flag_regions = None
        if self.flag_regions_file is not None:
            flag_regions = load_regions_file(self.flag_regions_file)

        data_list, missing = [], []
        for info in sorted(rows, key=lambda r: r['image_id']):
            image_id = info['image_id']
            if self.split != 'all' and split_of[image_id] != self.split:
                continue
            if info['body_part'] not in self.body_parts:
                continue
            if folders[image_id] is None:
                expected = osp.join(self.data_root,
                                    FRACATLAS_IMAGE_FOLDERS[labels[image_id]],
                                    image_id)
                if not self.skip_missing:
                    raise FileNotFoundError(
                        f'{info["where"]}: image not found: {expected}')
                missing.append(expected)
                continue
            flags = info['flags']
            sample = dict(
                img_path=osp.join(self.data_root,
                                  FRACATLAS_IMAGE_FOLDERS[folders[image_id]],
                                  image_id),
                gt_label=labels[image_id],
                img_id=image_id,
                study_id=image_id,
                body_part=info['body_part'],
                view='+'.join(v for v in FRACATLAS_VIEWS if flags[v]),
                hardware=flags['hardware'],
                multiscan=flags['multiscan'],
                csv_row=info['where'])
            if self.with_boxes:
                entry = boxes.get(image_id)
                box_list = entry['boxes'] if entry else []
                if entry:
                    sample['ann_shape'] = entry['shape']
                sample['gt_abnormal_boxes'] = np.asarray(
                    box_list, dtype=np.float32).reshape(-1, 4)
                sample['gt_abnormal_kinds'] = ['fracture'] * len(box_list)
                sample['gt_flag_boxes'] = np.zeros((0, 4), np.float32)
            data_list.append(sample)

        data_list = self._drop_corrupt(data_list)
        # After the drop: a report skips the images the dataset skips.
        for sample in data_list if flag_regions is not None else ():
            sample['flag_regions'] = self._detected_flags(
                flag_regions, sample['img_path'])
            sample['gt_flag_boxes'] = np.asarray(
                [r['bbox'] for r in sample['flag_regions']],
                dtype=np.float32).reshape(-1, 4)
        self.num_skipped = len(missing)
        if missing:
            print_log(
                f'FracAtlasDataset({self.split}): skipped {len(missing)} '
                f'missing image(s) (skip_missing=True), e.g. {missing[0]}',
                logger='current',
                level=30)
        if not data_list:
            raise ValueError(
                f'{self.data_root}: no FracAtlas image left for split '
                f'{self.split!r} and body parts {list(self.body_parts)}')
        return data_list

    def _detected_flags(self, regions: Dict[str, List[dict]],
                        img_path: str) -> List[dict]:
        """The ``flag`` regions (with a box) the report lists for
        ``img_path``; its other classes (implants) are left out."""
        key = osp.normpath(osp.relpath(img_path, self.data_root))
        if key not in regions:
            raise KeyError(f'{self.flag_regions_file}: no entry for image '
                           f'{key!r}; run tools/remove_flags.py on this '
                           'folder and split')
        return [r for r in regions[key]
                if r.get('label', 'flag') == 'flag' and r.get('bbox')]

    def _drop_corrupt(self, data_list: List[dict]) -> List[dict]:
        """Check every file is complete: raise naming all that are not, or
        drop them with a log when ``skip_corrupt``."""
        kept, bad = [], []
        for sample in data_list:
            where = sample['csv_row']
            reason = file_truncation(sample['img_path'])
            if reason is None:
                kept.append(sample)
            else:
                bad.append((where, sample['img_path'], reason))
        self.skipped_corrupt = report_unreadable(
            f'FracAtlasDataset({self.split})', bad, self.skip_corrupt)
        return kept

    def extra_repr(self) -> List[str]:
        """Lines for ``repr``: split, body parts and skipped images."""
        source = self.split_file or (
            f'built-in (seed {self.split_seed}, {self.split_ratios})')
        return [
            f'Split: {self.split} ({source})',
            f'Body parts: {", ".join(self.body_parts)}',
            f'Skipped missing images: {self.num_skipped}',
            f'Skipped unreadable images: {len(self.skipped_corrupt)}',
        ]
