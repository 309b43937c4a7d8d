"""Classify radiograph files (PNG/JPG/DICOM) and show where the model zoomed.

For every input image it writes ``<name>.json`` (label, probability of the
positive class, per-class and per-scale probabilities, the ROI box of every
zoom step in original pixels and the saliency peaks) and ``<name>.png``
(the image with the ROI boxes, peaks and label). Plain classifiers give
the same files without boxes.

Inputs are image files, DICOM files (``.dcm``, or any file pydicom reads:
MONOCHROME1 is inverted, WindowCenter/WindowWidth applied, else min-max;
RescaleSlope/Intercept honoured) and folders, walked recursively in sorted
order (their outputs mirror the folder layout). A file that cannot be read
is named on stderr and skipped; the exit status is then 1.

Examples::

    python tools/infer.py \\
        configs/mura/zoom_resnet18_1xb16_8e_synthetic-mura.py \\
        work_dirs/zoom_resnet18_1xb16_8e_synthetic-mura/epoch_8.pth \\
        scan.dcm folder_of_pngs/ --out-dir results/

With a SpineNet config the inputs are disc volumes (``.npy``/``.npz``):
per volume a JSON of the six predictions and one hotspot strip per task.
``--disc-csv`` names a dataset CSV that gives each volume its
vertebral-body boxes, so it is intensity-normalised as in training (a
volume the CSV does not list is reported and skipped); without it volumes
are used as stored, which is said on stderr and in the JSON::

    python tools/infer.py SPINE_CONFIG work_dirs/spine/epoch_20.pth \\
        data/synthetic_spine/volumes/patient00190_L4-L5.npy \\
        --disc-csv data/synthetic_spine/discs.csv --out-dir results/
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction

import radplugins  # noqa: F401  registers the plugin
from radplugins.apis import (build_inference_pipeline, inference_model,
                             init_model, list_image_files, load_image_any,
                             prediction_to_dict)
from radplugins.utils import CheckpointError
from radplugins.visualization import render_overlay, save_image


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Classify PNG/JPG/DICOM radiographs; write one JSON and '
        'one overlay PNG per image')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'inputs', nargs='+', metavar='INPUT', help='image files or folders')
    parser.add_argument(
        '--out-dir', required=True, help='folder for the JSON and PNG files')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='e.g. cpu or cuda:0 (default: cuda:0 when available)')
    parser.add_argument(
        '--max-side',
        type=int,
        default=1024,
        help='long side of the overlay PNGs (larger images are shrunk)')
    parser.add_argument(
        '--disc-csv',
        help='SpineNet volumes: a dataset CSV (volume, upper_body, '
        'lower_body) giving each volume its vertebral-body boxes, so it is '
        'intensity-normalised as in training; without it volumes are used '
        'as stored')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.num_steps=2')
    return parser.parse_args(argv)


def collect_inputs(inputs: List[str]) -> List[Tuple[str, str]]:
    """Pair every file to run with its output name (no extension).

    Files named directly are called by their stem; files found in a folder
    by their path relative to it, so outputs mirror the layout. Clashes get
    ``_2``, ``_3``, ... appended.

    Args:
        inputs (list[str]): Files and folders from the command line.

    Returns:
        list[tuple[str, str]]: ``(path, output name)``.
    """
    pairs: List[Tuple[str, str]] = []
    used: Dict[str, int] = {}
    for item in inputs:
        for path in list_image_files([item]):
            if osp.isdir(item):
                rel = osp.relpath(path, item)
                name = osp.splitext(rel)[0] if osp.splitext(rel)[1] else rel
            else:
                name = osp.splitext(osp.basename(path))[0]
            key = name
            count = used.get(key, 0) + 1
            used[key] = count
            if count > 1:
                name = f'{name}_{count}'
            pairs.append((path, name))
    return pairs


def run_one(model, pipeline, channels: int, names, path: str,
            out_base: str, max_side: int) -> dict:
    """Classify one file; write its JSON and overlay PNG; return the JSON."""
    img = load_image_any(path, channels)
    sample = inference_model(model, pipeline, img, img_path=path)
    record = dict(input=path, **prediction_to_dict(sample, names))
    label = record['label']
    label = f"{label} p={record['probabilities'][label]:.2f}"
    overlay = render_overlay(
        img,
        record['roi_boxes'] or None,
        record['saliency_peaks'] or None,
        label,
        max_side=max_side)
    record['overlay'] = osp.basename(save_image(out_base + '.png', overlay))
    with open(out_base + '.json', 'w') as f:
        json.dump(record, f, indent=2)
    return record


def run_volumes(args: argparse.Namespace, cfg: Config) -> int:
    """Disc volumes (``.npy``/``.npz``) through a SpineNet model.

    Each volume goes through the config's test pipeline (zero-padding;
    intensity normalisation when ``--disc-csv`` gives its body boxes) and
    the model's data preprocessor. Writes ``<name>.json`` (per-task
    prediction and probabilities, whether the volume was normalised) and,
    per hotspot task, ``<name>_<task>.png``: slices 2 and 8 above their
    evidence hotspot (``model.hotspot_cfg``; 32 augmentations by default).
    """
    import cv2

    from radplugins.apis import (body_boxes_of, build_disc_pipeline,
                                 inference_disc_volume, read_body_boxes)
    from radplugins.visualization import hotspot_strip
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    try:
        boxes = read_body_boxes(args.disc_csv) if args.disc_csv else {}
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    try:
        model = init_model(cfg, args.checkpoint, args.device)
    except CheckpointError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    model.hotspot_cfg['enabled'] = True
    pipeline = build_disc_pipeline(cfg)
    os.makedirs(args.out_dir, exist_ok=True)
    failed = []
    for path in args.inputs:
        name = osp.basename(path).split('.')[0]
        out_base = osp.join(args.out_dir, name)
        try:
            bodies = body_boxes_of(path, boxes, args.disc_csv)
            sample, volume = inference_disc_volume(model, pipeline, path,
                                                   bodies)
        except Exception as exc:  # report every bad file, keep going
            failed.append(path)
            print(f'{path}: skipped: {type(exc).__name__}: {exc}',
                  file=sys.stderr)
            continue
        normalised = None not in bodies
        if not normalised:
            print(f'{path}: no vertebral-body boxes, used as stored (not '
                  'intensity-normalised)', file=sys.stderr)
        record = dict(
            input=path,
            intensity_normalised=normalised,
            predictions={
                t: int(sample.task_preds[i])
                for i, t in enumerate(model.tasks)
            },
            probabilities={
                t: [round(float(p), 4) for p in s]
                for t, s in sample.task_scores.items()
            },
            hotspots=[])
        for j, task in enumerate(sample.hotspot_tasks):
            png = f'{out_base}_{task}.png'
            cv2.imwrite(png, hotspot_strip(volume,
                                           sample.hotspots[j].numpy()))
            record['hotspots'].append(osp.basename(png))
        with open(out_base + '.json', 'w') as f:
            json.dump(record, f, indent=2)
        print(f'{path}: {record["predictions"]} -> {out_base}.json')
    if failed:
        print(f'{len(failed)} file(s) failed: ' + ', '.join(failed),
              file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    spine_cfg = Config.fromfile(args.config)
    if spine_cfg.model.get('type') == 'SpineMultiTaskClassifier':
        return run_volumes(args, spine_cfg)
    try:
        pairs = collect_inputs(args.inputs)
    except FileNotFoundError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if not pairs:
        print('error: no images found in ' + ', '.join(args.inputs),
              file=sys.stderr)
        return 2
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    try:
        model = init_model(cfg, args.checkpoint, args.device)
    except CheckpointError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    pipeline, channels = build_inference_pipeline(cfg)
    names = model.dataset_meta.get('classes')
    failed: List[str] = []
    for path, name in pairs:
        out_base = osp.join(args.out_dir, name)
        os.makedirs(osp.dirname(out_base) or '.', exist_ok=True)
        try:
            record = run_one(model, pipeline, channels, names, path,
                             out_base, args.max_side)
        except Exception as exc:  # report every bad file, keep going
            failed.append(path)
            print(f'{path}: skipped: {type(exc).__name__}: {exc}',
                  file=sys.stderr)
            continue
        print(f"{path}: {record['label']} "
              f"(p[{record['probability_of']}]={record['probability']:.3f})"
              f' -> {out_base}.json')
    print(f'{len(pairs) - len(failed)} of {len(pairs)} image(s) written to '
          f'{args.out_dir}')
    if failed:
        print(f'{len(failed)} file(s) failed: ' + ', '.join(failed),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
