"""Classify radiograph files (PNG/JPG/DICOM) and show where the model zoomed.

For every input image it writes ``<name>.json`` (label, probability of the
positive class, per-class and per-scale probabilities, the ROI box of every
zoom step in original pixels and the saliency peaks) and
``<name>.overlay.png`` (the image with the ROI boxes, peaks and label).
Plain classifiers give the same files without boxes.

``<name>`` is the input's file name with its extension, and outputs mirror
the inputs' layout: a file's path relative to the deepest folder holding
all inputs (``radplugins.apis.mirrored_output_names``). So ``in/a.dcm`` and
``in/a.png`` give ``a.dcm.json`` and ``a.png.json``, a folder ``in/`` with
``sub/b.png`` gives ``sub/b.png.json``, and ``x/scan.dcm y/scan.dcm`` give
``x/scan.dcm.json`` and ``y/scan.dcm.json``: no two inputs share an output.

Inputs are image files, DICOM files (``.dcm``, or any file pydicom reads:
MONOCHROME1 is inverted, WindowCenter/WindowWidth applied, else min-max;
RescaleSlope/Intercept honoured) and folders, walked recursively in sorted
order. A file that cannot be read is named on stderr and skipped; the exit
status is then 1. ``--out-dir`` may not be an input, lie inside an input
folder or contain an input (``radplugins.utils.check_output``): that, or an
``--out-dir`` that is a file, is an error (exit 2) before anything runs.

Examples::

    python tools/infer.py \\
        configs/mura/zoom_resnet18_1xb16_8e_synthetic-mura.py \\
        work_dirs/zoom_resnet18_1xb16_8e_synthetic-mura/epoch_8.pth \\
        scan.dcm folder_of_pngs/ --out-dir results/

``--amp`` runs the network in bfloat16 on a CPU with bfloat16
instructions (float16 on a GPU; float32, said once, where neither); the
saliency, boxes and probabilities are computed and written in float32.
``--channels-last`` stores the model NHWC.

With a SpineNet config the inputs are disc volume files (``.npy``/``.npz``):
per volume ``<name>.json`` (the six predictions) and one hotspot strip per
task, ``<name>.<task>.png``, named as above.
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
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction

import radplugins  # noqa: F401  registers the plugin
from radplugins.apis import (build_inference_pipeline, inference_model,
                             init_model, load_image_any,
                             mirrored_output_names, prediction_to_dict)
from radplugins.utils import (CheckpointError, UnsafeOutputError,
                              add_precision_args, amp_inference, check_output,
                              to_channels_last)
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
        '--out-dir',
        required=True,
        help='folder for the JSON and PNG files (not an input, nor inside '
        'or around one)')
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
    add_precision_args(parser)
    return parser.parse_args(argv)


def collect_inputs(inputs: List[str]) -> List[Tuple[str, str]]:
    """Pair every image file to run with its output name.

    See :func:`radplugins.apis.mirrored_output_names`: the file's path
    relative to the deepest folder holding all inputs, extension kept.

    Args:
        inputs (list[str]): Files and folders from the command line.

    Returns:
        list[tuple[str, str]]: ``(path, output name)``.
    """
    return mirrored_output_names(inputs)


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
    record['overlay'] = osp.basename(
        save_image(out_base + '.overlay.png', overlay))
    with open(out_base + '.json', 'w') as f:
        json.dump(record, f, indent=2)
    return record


def run_volumes(args: argparse.Namespace, cfg: Config) -> int:
    """Disc volumes (``.npy``/``.npz``) through a SpineNet model.

    Each volume goes through the config's test pipeline (zero-padding;
    intensity normalisation when ``--disc-csv`` gives its body boxes) and
    the model's data preprocessor. Writes ``<name>.json`` (per-task grade
    and per-grade probabilities, grades as in the dataset CSV: Pfirrmann
    1-5, narrowing 0-3, the others 0/1; whether the volume was
    normalised) and, per hotspot task, ``<name>.<task>.png``: slices 2 and
    8 above their
    evidence hotspot (``model.hotspot_cfg``; 32 augmentations by default).
    ``<name>`` mirrors the inputs as for images (the file name with its
    extension, below the folders that tell same-named volumes apart).
    """
    import cv2

    from radplugins.apis import (body_boxes_of, build_disc_pipeline,
                                 disc_prediction_to_dict,
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
    if args.channels_last:
        to_channels_last(model)
    pipeline = build_disc_pipeline(cfg)
    os.makedirs(args.out_dir, exist_ok=True)
    pairs = mirrored_output_names(args.inputs, expand=lambda item: [item])
    failed = []
    written = set()
    for path, name in pairs:
        out_base = osp.join(args.out_dir, name)
        os.makedirs(osp.dirname(out_base), exist_ok=True)
        try:
            bodies = body_boxes_of(path, boxes, args.disc_csv)
            with amp_inference(model, enabled=args.amp):
                sample, volume = inference_disc_volume(
                    model, pipeline, path, bodies)
            grades = disc_prediction_to_dict(sample, model.tasks)
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
            **grades,  # as discs.csv writes them (Pfirrmann 1-5)
            hotspots=[])
        for j, task in enumerate(sample.hotspot_tasks):
            png = f'{out_base}.{task}.png'
            cv2.imwrite(png, hotspot_strip(volume,
                                           sample.hotspots[j].numpy()))
            record['hotspots'].append(osp.basename(png))
        with open(out_base + '.json', 'w') as f:
            json.dump(record, f, indent=2)
        written.add(osp.realpath(out_base + '.json'))
        print(f'{path}: {record["predictions"]} -> {out_base}.json')
    return report(written, pairs, failed, 'volume(s)', args.out_dir)


def report(written: set, pairs: list, failed: List[str], what: str,
           out_dir: str) -> int:
    """Print how many outputs were written and which inputs failed.

    Args:
        written (set): The distinct JSON files written: a count of what is
            there, not of successes.
        pairs (list): The ``(input, output name)`` pairs run.
        failed (list[str]): Inputs that raised.
        what (str): What an input is, e.g. ``'image(s)'``.
        out_dir (str): The output folder.

    Returns:
        int: The exit status: 1 if any input failed, else 0.
    """
    print(f'{len(written)} of {len(pairs)} {what} written to {out_dir}')
    if failed:
        print(f'{len(failed)} file(s) failed: ' + ', '.join(failed),
              file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        check_output(args.out_dir, args.inputs + [args.disc_csv],
                     is_dir=True, label='--out-dir')
    except UnsafeOutputError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
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
    if args.channels_last:
        to_channels_last(model)
    pipeline, channels = build_inference_pipeline(cfg)
    names = model.dataset_meta.get('classes')
    failed: List[str] = []
    written = set()
    for path, name in pairs:
        out_base = osp.join(args.out_dir, name)
        os.makedirs(osp.dirname(out_base) or '.', exist_ok=True)
        try:
            with amp_inference(model, enabled=args.amp):
                record = run_one(model, pipeline, channels, names, path,
                                 out_base, args.max_side)
        except Exception as exc:  # report every bad file, keep going
            failed.append(path)
            print(f'{path}: skipped: {type(exc).__name__}: {exc}',
                  file=sys.stderr)
            continue
        written.add(osp.realpath(out_base + '.json'))
        print(f"{path}: {record['label']} "
              f"(p[{record['probability_of']}]={record['probability']:.3f})"
              f' -> {out_base}.json')
    return report(written, pairs, failed, 'image(s)', args.out_dir)


if __name__ == '__main__':
    sys.exit(main())
