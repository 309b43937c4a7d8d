"""Write evidence-hotspot strips (SpineNet Fig. 3) for disc volumes.

For each volume (``.npy``/``.npz``, ``(S, 112, 224)``, S <= 9) one PNG per
task, ``<name>.<task>.png``: slices 2 and 8 on top, the task's evidence
hotspot (K augmentations, mapped back) below. ``<name>`` is the volume's
file name with its extension, below the folders that tell same-named
volumes apart (as ``tools/infer.py`` names its outputs:
``radplugins.apis.mirrored_output_names``). ``--out`` may not be, lie
inside or contain an input (``radplugins.utils.check_output``).

The volume goes through the config's test pipeline (zero-padding to nine
slices; intensity normalisation when ``--disc-csv`` gives its
vertebral-body boxes) and the model's data preprocessor, as in
``tools/test.py``; without ``--disc-csv`` volumes are used as stored.

Example::

    python tools/visualization/vis_hotspots.py CONFIG CHECKPOINT \\
        data/synthetic_spine/volumes/patient00190_L4-L5.npy \\
        --disc-csv data/synthetic_spine/discs.csv \\
        --tasks lower_endplate upper_marrow --out work_dirs/hotspots
"""
import argparse
import os
import os.path as osp
import sys

import cv2

import radplugins  # noqa: F401
from radplugins.apis import (body_boxes_of, build_disc_pipeline,
                             disc_prediction_to_dict, inference_disc_volume,
                             init_model_or_exit, mirrored_output_names,
                             read_body_boxes)
from radplugins.datasets.spine_tasks import LESION_TASKS
from radplugins.utils import UnsafeOutputError, check_output
from radplugins.visualization import hotspot_strip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('volumes', nargs='+')
    parser.add_argument('--tasks', nargs='+', default=list(LESION_TASKS))
    parser.add_argument('--num-aug', type=int, default=32)
    parser.add_argument('--target', choices=['pred', 'positive'],
                        default='pred')
    parser.add_argument('--slices', type=int, nargs='+', default=[2, 8],
                        help='1-based slices to show')
    parser.add_argument(
        '--disc-csv',
        help='dataset CSV giving each volume its vertebral-body boxes '
        '(volume, upper_body, lower_body)')
    parser.add_argument(
        '--out',
        required=True,
        help='folder for the PNGs (not an input, nor inside or around one)')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        check_output(args.out, args.volumes + [args.disc_csv], is_dir=True,
                     label='--out')
    except UnsafeOutputError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    boxes = read_body_boxes(args.disc_csv) if args.disc_csv else {}
    model = init_model_or_exit(args.config, args.checkpoint, args.device)
    model.hotspot_cfg.update(
        enabled=True, num_aug=args.num_aug, tasks=tuple(args.tasks),
        target=args.target)
    pipeline = build_disc_pipeline(model.cfg)
    os.makedirs(args.out, exist_ok=True)
    for path, name in mirrored_output_names(args.volumes,
                                            expand=lambda item: [item]):
        try:
            bodies = body_boxes_of(path, boxes, args.disc_csv)
        except LookupError as exc:
            print(f'error: {path}: {exc}', file=sys.stderr)
            return 1
        if None in bodies:
            print(f'{path}: no vertebral-body boxes, used as stored (not '
                  'intensity-normalised)', file=sys.stderr)
        sample, volume = inference_disc_volume(model, pipeline, path, bodies)
        # Grades as the dataset CSV writes them (Pfirrmann 1-5).
        grades = disc_prediction_to_dict(sample, model.tasks)['predictions']
        os.makedirs(osp.dirname(osp.join(args.out, name)), exist_ok=True)
        for j, task in enumerate(args.tasks):
            strip = hotspot_strip(volume, sample.hotspots[j].numpy(),
                                  [s - 1 for s in args.slices])
            out = osp.join(args.out, f'{name}.{task}.png')
            cv2.imwrite(out, strip)
            print(f'{out}: {task} predicted {grades[task]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
