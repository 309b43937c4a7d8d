"""Write evidence-hotspot strips (SpineNet Fig. 3) for disc volumes.

For each volume (``.npy``/``.npz``, ``(S, 112, 224)``, S <= 9, zero-padded
to 9 as the dataset does), one PNG per task: slices 2 and 8 on top, the
task's evidence hotspot (K augmentations, mapped back) below.

Example::

    python tools/visualization/vis_hotspots.py CONFIG CHECKPOINT \\
        data/synthetic_spine/volumes/patient00190_L4-L5.npy \\
        --tasks lower_endplate upper_marrow --out work_dirs/hotspots
"""
import argparse
import os
import os.path as osp

import cv2
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

import radplugins  # noqa: F401
from radplugins.datasets.spine import load_volume
from radplugins.datasets.transforms import pad_slices
from radplugins.visualization import hotspot_strip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('volumes', nargs='+')
    parser.add_argument('--tasks', nargs='+', default=['upper_endplate',
                                                       'lower_endplate',
                                                       'upper_marrow',
                                                       'lower_marrow'])
    parser.add_argument('--num-aug', type=int, default=32)
    parser.add_argument('--target', choices=['pred', 'positive'],
                        default='pred')
    parser.add_argument('--slices', type=int, nargs='+', default=[2, 8],
                        help='1-based slices to show')
    parser.add_argument('--out', required=True)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(args.device).eval()
    model.hotspot_cfg.update(
        enabled=True, num_aug=args.num_aug, tasks=tuple(args.tasks),
        target=args.target)
    os.makedirs(args.out, exist_ok=True)
    for path in args.volumes:
        volume = pad_slices(load_volume(path), path=path)
        x = torch.from_numpy(volume)[None].to(args.device)
        sample = model.predict(x)[0]
        name = osp.splitext(osp.basename(path))[0]
        for j, task in enumerate(args.tasks):
            strip = hotspot_strip(volume, sample.hotspots[j].numpy(),
                                  [s - 1 for s in args.slices])
            out = osp.join(args.out, f'{name}_{task}.png')
            cv2.imwrite(out, strip)
            pred = int(sample.task_preds[model.tasks.index(task)])
            print(f'{out}: {task} predicted {pred}')


if __name__ == '__main__':
    main()
