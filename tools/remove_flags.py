"""Remove markers ("flags") from a MURA or FracAtlas folder with a detector.

Runs a flag/implant detector (e.g.
configs/detection/faster-rcnn_r50_fpn_1x_flag-implant.py) over every image
of INPUT, fills the detected flags from their surroundings
(``FillFlagRegions``: ring mean or Telea inpainting; predicted masks when
the detector has a mask head, boxes otherwise) and writes OUTPUT with the
same layout. INPUT is either

- a MURA layout: the images listed in
  ``MURA-v1.1/{train,valid}_image_paths.csv``; OUTPUT gets the cleaned
  images (same bit depth and channels), the CSVs and, for a synthetic set,
  its ground-truth JSON; or
- a FracAtlas layout (``dataset.csv`` and ``images/``): the images of
  ``dataset.csv``, read and checked by ``FracAtlasDataset``; OUTPUT gets
  the cleaned JPEGs (re-encoded at quality 95), ``dataset.csv``,
  ``Annotations/`` and ``Utilities/``. An unreadable (empty or truncated)
  image is skipped and listed under ``skipped`` in the report, as the
  dataset skips it in training; it is not copied.

``--split`` restricts the run to one split (MURA: its CSV; FracAtlas: the
dataset's built-in split); since a cleaned copy must hold every image its
lists name, a split is for ``--dry-run`` reports only.
``OUTPUT/removed_flags.json`` says what was removed where, in the format
``FillFlagRegions(regions_file=...)`` reads, so the same cleaning can be
applied on the fly in a classification pipeline (also on images loaded
shrunk: the regions are scaled by the loader's ``load_scale``).

Implants are detected but never removed unless ``--classes`` asks for it:
an implant is the abnormality the classifier must see.

Examples::

    python tools/remove_flags.py CONFIG CHECKPOINT \\
        --input data/synthetic_mura --output data/synthetic_mura_clean
    python tools/remove_flags.py CONFIG CHECKPOINT --input data/mura \\
        --output /tmp/preview --dry-run --score-thr 0.7   # report only
    python tools/remove_flags.py CONFIG CHECKPOINT --input data/FracAtlas \\
        --output work_dirs/fracatlas_flags --dry-run --split valid \\
        --classes flag implant     # what it finds on real radiographs
"""
import argparse
import csv
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
import warnings
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar

import radplugins  # noqa: F401  registers the plugin
from radplugins.datasets.fracatlas import FRACATLAS_SPLITS
from radplugins.datasets.mura import MURA_FOLDER
from radplugins.datasets.transforms.flag_removal import (FILL_METHODS,
                                                         fill_regions,
                                                         regions_to_mask)
from radplugins.datasets.transforms.loading import decode_radiograph
from radplugins.utils import (CheckpointError, UnsafeOutputError,
                              check_output, load_model_checkpoint)

REPORT_FILE = 'removed_flags.json'
_COPIED_FILES = ('train_image_paths.csv', 'train_labeled_studies.csv',
                 'valid_image_paths.csv', 'valid_labeled_studies.csv',
                 'synthetic_ground_truth.json')
# What a FracAtlas copy takes besides its images, relative to its root.
_FRACATLAS_COPIED = ('dataset.csv', 'Annotations', 'Utilities')
_JPEG_QUALITY = 95


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Detect flags in a MURA-layout folder and write a '
        'cleaned copy plus a JSON of what was removed')
    parser.add_argument('config', help='detector config file')
    parser.add_argument('checkpoint', help='detector checkpoint')
    parser.add_argument(
        '--input',
        required=True,
        help='folder containing MURA-v1.1/, or a FracAtlas folder '
        '(dataset.csv, images/)')
    parser.add_argument(
        '--split',
        default='all',
        choices=FRACATLAS_SPLITS + ('all', ),
        help='only this split (MURA: train or valid); with --dry-run only '
        '(default all)')
    parser.add_argument(
        '--output',
        required=True,
        help='new folder for the cleaned copy (never inside INPUT)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.5,
        help='remove detections scoring at least this (default 0.5)')
    parser.add_argument(
        '--classes',
        nargs='+',
        default=['flag'],
        help='detector classes to remove (default: flag)')
    parser.add_argument(
        '--method',
        choices=FILL_METHODS,
        default='ring_mean',
        help='how to fill a region (default ring_mean, the paper\'s)')
    parser.add_argument(
        '--margin', type=int, default=2, help='pixels added around a region')
    parser.add_argument(
        '--ring-width', type=int, default=5, help='ring_mean ring width')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='detect and write only the JSON report, no image')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='write into an existing, non-empty OUTPUT')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='e.g. cpu or cuda:0')
    return parser.parse_args(argv)


def input_layout(input_dir: str) -> str:
    """``'mura'`` for a folder holding ``MURA-v1.1/``, ``'fracatlas'`` for
    one holding ``dataset.csv`` and ``images/``."""
    if osp.isdir(osp.join(input_dir, MURA_FOLDER)):
        return 'mura'
    if osp.isfile(osp.join(input_dir, 'dataset.csv')) and osp.isdir(
            osp.join(input_dir, 'images')):
        return 'fracatlas'
    raise SystemExit(f'{input_dir}: neither a MURA folder (no '
                     f'{MURA_FOLDER}/ in it) nor a FracAtlas folder (no '
                     'dataset.csv and images/ in it)')


def check_folders(input_dir: str, output_dir: str, overwrite: bool) -> None:
    """Refuse an OUTPUT that is INPUT, lies inside it or contains it, or is
    a file (:func:`radplugins.utils.check_output`), and a non-empty OUTPUT
    without ``overwrite``."""
    input_layout(input_dir)
    try:
        dst = check_output(output_dir, [input_dir], is_dir=True,
                           label='--output')
    except UnsafeOutputError as exc:
        raise SystemExit(str(exc)) from None
    if osp.isdir(dst) and os.listdir(dst) and not overwrite:
        raise SystemExit(f'{output_dir} exists and is not empty; pass '
                         '--overwrite or choose another folder')


def list_images(input_dir: str, split: str = 'all') -> List[str]:
    """Image paths of a MURA folder's CSVs (both, or ``split``'s),
    relative to INPUT."""
    if split not in ('train', 'valid', 'all'):
        raise SystemExit(f'--split {split}: a MURA folder has only the '
                         'train and valid splits')
    paths = []
    for split in ('train', 'valid') if split == 'all' else (split, ):
        csv_path = osp.join(input_dir, MURA_FOLDER,
                            f'{split}_image_paths.csv')
        if not osp.isfile(csv_path):
            continue
        with open(csv_path, newline='', encoding='utf-8-sig') as f:
            for row_no, row in enumerate(csv.reader(f), 1):
                if not row or not row[0].strip():
                    raise SystemExit(f'{csv_path}:{row_no}: empty row')
                paths.append(row[0].strip())
    if not paths:
        raise SystemExit(f'{input_dir}: no image listed in '
                         f'{MURA_FOLDER}/*_image_paths.csv')
    return paths


def list_fracatlas_images(input_dir: str,
                          split: str = 'all') -> Tuple[List[str], List[str]]:
    """Image paths of a FracAtlas folder (all, or one built-in split),
    relative to INPUT, sorted by file name, and the unreadable ones.

    ``FracAtlasDataset`` reads and checks ``dataset.csv`` against the
    folders and the boxes; a listed image that is missing is an error,
    one that is empty or truncated is skipped (the dataset logs why) and
    returned.

    Returns:
        tuple: The paths, and the skipped images' paths.
    """
    from radplugins.datasets import FracAtlasDataset
    dataset = FracAtlasDataset(
        data_root=input_dir,
        split=split,
        test_mode=True,
        skip_corrupt=True,
        serialize_data=False,
        pipeline=[])
    paths = sorted((osp.relpath(info['img_path'], input_dir)
                    for info in dataset.data_list),
                   key=osp.basename)
    skipped = sorted((osp.relpath(path, input_dir)
                      for path in dataset.skipped_corrupt),
                     key=osp.basename)
    return paths, skipped


def copy_fracatlas_files(input_dir: str, out_dir: str) -> None:
    """Copy ``dataset.csv``, ``Annotations/`` and ``Utilities/``."""
    for name in _FRACATLAS_COPIED:
        src = osp.join(input_dir, name)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(out_dir, name))
        elif osp.isfile(src):
            shutil.copyfile(src, osp.join(out_dir, name))


def mask_polygons(mask: np.ndarray) -> List[List[float]]:
    """Outer contours of a binary mask as flat COCO polygon rings."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [[float(v) for v in c.reshape(-1)] for c in contours
            if len(c) >= 3]


def detections_to_regions(pred, class_names, classes, score_thr) -> list:
    """Keep the detections of ``classes`` scoring at least ``score_thr``.

    Returns:
        list[dict]: ``label``, ``score``, ``bbox`` ``[x1, y1, x2, y2]`` and,
        for a mask detector, ``polygon`` (the mask's outer contours).
    """
    inst = pred.pred_instances
    keep = set(classes)
    has_masks = 'masks' in inst
    regions = []
    for i in range(len(inst)):
        score = float(inst.scores[i])
        name = class_names[int(inst.labels[i])]
        if score < score_thr or name not in keep:
            continue
        region = dict(
            label=name,
            score=round(score, 4),
            bbox=[round(float(v), 2) for v in inst.bboxes[i].tolist()])
        if has_masks:
            polygon = mask_polygons(inst.masks[i].cpu().numpy())
            if polygon:
                region['polygon'] = polygon
        regions.append(region)
    return regions


def move_into_place(tmp_dir: str, output_dir: str) -> None:
    """Move a finished temporary folder to ``output_dir``.

    A missing or empty OUTPUT is replaced by the folder in one rename; into
    an existing one (``--overwrite``) each file is moved, replacing a file
    of the same name and leaving the others.

    Args:
        tmp_dir (str): The finished folder, on OUTPUT's file system.
        output_dir (str): The final folder.
    """
    if osp.isdir(output_dir) and not os.listdir(output_dir):
        os.rmdir(output_dir)
    if not osp.exists(output_dir):
        os.replace(tmp_dir, output_dir)
        return
    for root, _, names in os.walk(tmp_dir):
        dst_root = osp.join(output_dir, osp.relpath(root, tmp_dir))
        os.makedirs(dst_root, exist_ok=True)
        for name in names:
            os.replace(osp.join(root, name), osp.join(dst_root, name))
    shutil.rmtree(tmp_dir)


def main(argv=None) -> int:
    args = parse_args(argv)
    check_folders(args.input, args.output, args.overwrite)
    if args.split != 'all' and not args.dry_run:
        raise SystemExit(f'--split {args.split} needs --dry-run: a cleaned '
                         'copy holds every image its lists name')
    # Everything is written to a temporary folder next to OUTPUT and moved
    # into place at the end: a run that fails partway (an unreadable
    # image, an interrupt) leaves no half-written OUTPUT behind.
    parent = osp.dirname(osp.abspath(args.output))
    os.makedirs(parent, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(
        prefix=f'.{osp.basename(osp.abspath(args.output))}.partial-',
        dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_dir, 0o777 & ~umask)  # mkdtemp's 0o700 would stay
    try:
        # The detector sets MMDetection as the default scope; restore the
        # caller's afterwards (main() also runs inside other programs).
        with DefaultScope.overwrite_default_scope('mmdet'):
            code = _remove_flags(args, tmp_dir)
        move_into_place(tmp_dir, args.output)
    finally:
        if osp.isdir(tmp_dir):
            shutil.rmtree(tmp_dir)
    return code


def init_flag_detector(config: str, checkpoint: str,
                       device: str) -> torch.nn.Module:
    """MMDetection's ``init_detector``, loading the checkpoint checked.

    ``init_detector`` loads weights non-strictly: a Faster R-CNN checkpoint
    on a Mask R-CNN config would leave a random mask head whose masks get
    filled. Here the model is built without weights and the checkpoint
    loaded by :func:`radplugins.utils.load_model_checkpoint`; the class
    names come from the checkpoint's meta as ``init_detector`` takes them.

    Args:
        config (str): Detector config file.
        checkpoint (str): Its checkpoint.
        device (str): Where to run.

    Returns:
        torch.nn.Module: The detector in eval mode, with ``dataset_meta``.

    Raises:
        CheckpointError: If the checkpoint cannot be read or does not fit.
    """
    from mmdet.apis import init_detector
    # Without a checkpoint it warns that it falls back to COCO's class
    # names (the checkpoint's replace them below); it resets the warning
    # filters itself, so the warning is recorded and dropped.
    with warnings.catch_warnings(record=True):
        model = init_detector(config, None, device=device)
    meta = load_model_checkpoint(model, checkpoint).get('meta') or {}
    if meta.get('dataset_meta'):
        model.dataset_meta.update(
            {k.lower(): v
             for k, v in meta['dataset_meta'].items()})
    elif 'CLASSES' in meta:  # checkpoints of MMDetection 2.x
        model.dataset_meta['classes'] = meta['CLASSES']
    return model


def _remove_flags(args: argparse.Namespace, out_dir: str) -> int:
    """Detect, fill and write everything into ``out_dir``."""
    from mmdet.apis import inference_detector
    try:
        model = init_flag_detector(args.config, args.checkpoint, args.device)
    except CheckpointError as exc:
        raise SystemExit(f'error: {exc}')
    class_names = list(model.dataset_meta['classes'])
    unknown = set(args.classes) - set(class_names)
    if unknown:
        raise SystemExit(f'--classes {sorted(unknown)} not in the '
                         f'detector\'s classes {class_names}')

    start = time.perf_counter()
    report: Dict[str, dict] = {}
    removed = 0
    layout = input_layout(args.input)
    if layout == 'mura':
        images, skipped = list_images(args.input, args.split), []
    else:
        images, skipped = list_fracatlas_images(args.input, args.split)
    # On stderr: a split takes minutes to an hour on a CPU, and stdout
    # carries only the closing JSON line.
    progress = ProgressBar(len(images), file=sys.stderr)
    for rel in images:
        progress.update()
        src = osp.join(args.input, rel)
        if not osp.isfile(src):
            raise SystemExit(f'{src}: listed but not found')
        with open(src, 'rb') as f:
            img = decode_radiograph(f.read(), src)
        pred = inference_detector(model, src)
        regions = detections_to_regions(pred, class_names, args.classes,
                                        args.score_thr)
        removed += len(regions)
        report[rel] = dict(
            width=int(img.shape[1]), height=int(img.shape[0]),
            flags=regions)
        if args.dry_run:
            continue
        mask = regions_to_mask(regions, img.shape[:2], args.margin, src)
        cleaned = fill_regions(img, mask, args.method, args.ring_width)
        dst = osp.join(out_dir, rel)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        if not cv2.imwrite(dst, cleaned,
                           [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY]):
            raise SystemExit(f'could not write {dst}')

    if not args.dry_run and layout == 'fracatlas':
        copy_fracatlas_files(args.input, out_dir)
    elif not args.dry_run:
        for name in _COPIED_FILES:
            path = osp.join(args.input, MURA_FOLDER, name)
            if osp.isfile(path):
                os.makedirs(osp.join(out_dir, MURA_FOLDER), exist_ok=True)
                shutil.copyfile(path, osp.join(out_dir, MURA_FOLDER, name))
    with open(osp.join(out_dir, REPORT_FILE), 'w') as f:
        json.dump(
            dict(
                config=args.config,
                checkpoint=args.checkpoint,
                layout=layout,
                split=args.split,
                skipped=skipped,
                score_thr=args.score_thr,
                classes=args.classes,
                method=args.method,
                margin=args.margin,
                dry_run=args.dry_run,
                images=report), f)
    print(json.dumps(
        dict(images=len(report), removed=removed, skipped=len(skipped),
             dry_run=args.dry_run,
             seconds=round(time.perf_counter() - start, 2))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
