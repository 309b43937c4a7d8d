"""COCO detection annotations of flags and implants from the ground truth.

The synthetic generator already records, per image, the box and polygon of
every marker ("flag") and abnormality. This module converts that record
into COCO instance annotations for the two classes a marker detector is
trained on (paper §IV-B2): ``flag`` (every marker) and ``implant`` (the
abnormalities of kind ``'implant'``: plate and screws). Fractures are not
objects of this detector and are not written.

Output, one file per split, next to the images::

    OUT/MURA-v1.1/annotations/flag_implant_train.json
    OUT/MURA-v1.1/annotations/flag_implant_valid.json

``file_name`` is the image's path relative to ``OUT`` (the line of the
image CSV), so a detector config uses ``data_root=OUT`` and an empty image
prefix. Boxes are COCO ``[x, y, w, h]`` in the saved image's pixels;
segmentations are the ground truth's polygons.
"""
import json
import os
import os.path as osp
from typing import Dict, List

from ..mura import GROUND_TRUTH_FILE, MURA_FOLDER
from ...utils.json_files import read_json

COCO_CLASSES = ('flag', 'implant')
COCO_ANNOTATION_DIR = 'annotations'
# Ground-truth abnormality kind -> COCO class; kinds not listed (fracture)
# are not objects of the detector.
_ABNORMALITY_CLASSES = {'implant': 'implant'}


def coco_annotation_file(split: str) -> str:
    """Path of a split's COCO file relative to the folder with MURA-v1.1/.

    Args:
        split (str): ``'train'`` or ``'valid'``.

    Returns:
        str: e.g. ``'MURA-v1.1/annotations/flag_implant_train.json'``.
    """
    if split not in ('train', 'valid'):
        raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
    return f'{MURA_FOLDER}/{COCO_ANNOTATION_DIR}/flag_implant_{split}.json'


def _annotation(obj: dict, category_id: int, image_id: int, ann_id: int,
                width: int, height: int, where: str) -> dict:
    x1, y1, x2, y2 = (float(v) for v in obj['bbox'])
    if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
        raise ValueError(f'{where}: box {obj["bbox"]} is empty or outside '
                         f'the {width}x{height} image')
    polygon = obj.get('polygon')
    if not polygon or any(len(ring) < 6 or len(ring) % 2 for ring in polygon):
        raise ValueError(f'{where}: polygon {polygon!r} is not a list of '
                         'flat [x, y, ...] rings of at least 3 points')
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        bbox=[x1, y1, x2 - x1, y2 - y1],
        area=float(obj['area']),
        segmentation=[[float(v) for v in ring] for ring in polygon],
        iscrowd=0)


def ground_truth_to_coco(ground_truth: dict, split: str,
                         source: str = '<ground truth>') -> dict:
    """Build the COCO dict of one split from a generator ground truth.

    Every image of the split is listed, those without a flag or implant
    too (they are the detector's negatives).

    Args:
        ground_truth (dict): The content of ``synthetic_ground_truth.json``.
        split (str): ``'train'`` or ``'valid'``.
        source (str): Name of the ground truth in error messages.

    Returns:
        dict: COCO ``images``, ``annotations`` and ``categories`` (ids 1
        ``flag``, 2 ``implant``).

    Raises:
        ValueError: On a box outside its image or a malformed polygon,
            naming the image and the object.
    """
    coco_annotation_file(split)  # validates the split
    categories = [
        dict(id=i + 1, name=name, supercategory='marker'
             if name == 'flag' else 'abnormality')
        for i, name in enumerate(COCO_CLASSES)
    ]
    cat_id = {c['name']: c['id'] for c in categories}
    images: List[dict] = []
    annotations: List[dict] = []
    for path in sorted(ground_truth['images']):
        record = ground_truth['images'][path]
        if record['split'] != split:
            continue
        image_id = len(images) + 1
        width, height = int(record['width']), int(record['height'])
        images.append(
            dict(id=image_id, file_name=path, width=width, height=height))
        objects = [('flag', f'flag {k}', obj)
                   for k, obj in enumerate(record.get('flags', []))]
        for k, obj in enumerate(record.get('abnormalities', [])):
            name = _ABNORMALITY_CLASSES.get(obj['kind'])
            if name is not None:
                objects.append((name, f'abnormality {k}', obj))
        for name, label, obj in objects:
            annotations.append(
                _annotation(obj, cat_id[name], image_id,
                            len(annotations) + 1, width, height,
                            f'{source}: {path}: {label}'))
    return dict(
        info=dict(description=f'synthetic MURA flags and implants, {split}'),
        images=images,
        annotations=annotations,
        categories=categories)


def write_coco_annotations(out_dir: str) -> Dict[str, str]:
    """Write the COCO files of both splits of a synthetic MURA set.

    Args:
        out_dir (str): Folder containing ``MURA-v1.1/`` with its
            ``synthetic_ground_truth.json``.

    Returns:
        dict: ``split -> path`` of the written files.
    """
    gt_path = osp.join(out_dir, MURA_FOLDER, GROUND_TRUTH_FILE)
    if not osp.isfile(gt_path):
        raise FileNotFoundError(
            f'{gt_path} not found: not a synthetic MURA set')
    ground_truth = read_json(gt_path)
    written = {}
    for split in ('train', 'valid'):
        path = osp.join(out_dir, coco_annotation_file(split))
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(ground_truth_to_coco(ground_truth, split, gt_path), f)
        written[split] = path
    return written
