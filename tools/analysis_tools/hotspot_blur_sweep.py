"""Pointing game of stored evidence hotspots under several blurs.

Evaluate once with the maps unblurred and dumped, then try blur widths
without running the network again::

    python tools/test.py \\
        configs/spine/spinenet-hotspots-per-task_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py \\
        CHECKPOINT --data-root data/synthetic_spine_1000p --out maps.pkl \\
        --cfg-options test_dataloader.dataset.split=val \\
        model.hotspot_cfg.smooth_sigma=0 \\
        model.hotspot_cfg.task_overrides=None \\
        "model.hotspot_cfg.tasks=(upper_endplate,lower_endplate)"
    python tools/analysis_tools/hotspot_blur_sweep.py maps.pkl \\
        --sigmas 0 2 3 4 2,4 1,3,3

A dump keeps every disc's maps and masks, and writing it needs them in
memory more than once: the 591 discs of the 1,000-patient validation
split in one dump ran out of 24 GiB. Dump a split in parts (e.g.
``test_dataloader.dataset.indices=...`` or a CSV per part) and pass all
the parts; they are scored together.

A sigma is one number (in-plane, as ``hotspot_cfg.smooth_sigma``), two
(rows, columns) or three (slices, rows, columns), in pixels. The blur is
``scipy.ndimage.gaussian_filter`` with ``mode='mirror'`` and
``truncate=3``, the filter ``smooth_sigma`` applies. Prints one JSON line
per task and sigma, scored as :class:`SpineHotspotLocalization` scores
(pointing overall and split by what the grader called the disc). Choose
on a validation split, not on the set you report.
"""
import argparse
import pickle
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.ndimage import gaussian_filter

from radplugins.datasets.spine_tasks import LESION_TASKS
from radplugins.evaluation.metrics.spine_hotspot_localization import (
    hotspot_scores, lesion_hotspots, pointing_by_detection)
from radplugins.utils import emit

Sigma = Tuple[float, float, float]


def parse_sigma(text: str) -> Sigma:
    """``'3'`` -> ``(0, 3, 3)``; ``'2,4'`` -> ``(0, 2, 4)``;
    ``'1,3,3'`` -> ``(1, 3, 3)``."""
    try:
        values = [float(v) for v in text.split(',')]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'sigma {text!r}: expected 1-3 comma-separated numbers')
    if len(values) not in (1, 2, 3) or any(
            not v >= 0 for v in values):
        raise argparse.ArgumentTypeError(
            f'sigma {text!r}: expected 1-3 comma-separated numbers >= 0')
    if len(values) == 1:
        values = values * 2
    return tuple([0.0] * (3 - len(values)) + values)


def lesion_maps(samples: Sequence[dict], source: str) -> List[dict]:
    """``[{task, detected, map, mask}]`` for every hotspot task of every
    sample whose lesion mask of that task is not empty."""
    out = []
    for i, sample in enumerate(samples):
        try:
            out += lesion_hotspots(sample)
        except KeyError as error:
            raise ValueError(
                f'{source}: sample {i} ({sample.get("img_path")}): '
                f'{error.args[0]} in the run dumped with tools/test.py '
                '--out') from error
    return out


def sweep(lesions: Sequence[dict], sigmas: Sequence[Sigma],
          tolerance: int = 0) -> List[Dict]:
    """Pointing per task and sigma; ``hits`` counts the discs."""
    rows = []
    for task in LESION_TASKS:
        group = [r for r in lesions if r['task'] == task]
        if not group:
            continue
        for sigma in sigmas:
            scored = []
            for r in group:
                hotspot = r['map']
                if any(sigma):
                    hotspot = gaussian_filter(
                        hotspot.astype(np.float64), sigma=sigma,
                        mode='mirror', truncate=3)
                scored.append(dict(
                    detected=r['detected'],
                    pointing=hotspot_scores(hotspot, r['mask'],
                                            tolerance)['pointing']))
            hits = [r['pointing'] for r in scored]
            row = dict(task=task, sigma=list(sigma), num=len(group),
                       hits=int(sum(hits)),
                       pointing=round(float(np.mean(hits)), 4))
            for key, value in pointing_by_detection(scored).items():
                row[key] = int(value) if key.startswith('num_') else round(
                    value, 4)
            rows.append(row)
    return rows


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('results', nargs='+',
                        help='tools/test.py --out pickle(s), scored together')
    in_plane = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    parser.add_argument('--sigmas', nargs='+', type=parse_sigma,
                        default=[(0.0, s, s) for s in in_plane],
                        help='blurs to score (see above); default 0-5')
    parser.add_argument('--tolerance', type=int, default=0,
                        help='pointing tolerance in pixels')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    lesions = []
    for path in args.results:
        with open(path, 'rb') as f:
            lesions += lesion_maps(pickle.load(f), path)
    if not lesions:
        raise SystemExit(f'{args.results}: no hotspot task has a lesion')
    for row in sweep(lesions, args.sigmas, args.tolerance):
        emit(**row)
    return 0


if __name__ == '__main__':
    sys.exit(main())
