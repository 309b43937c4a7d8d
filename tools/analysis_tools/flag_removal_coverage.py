"""How well a flag-removal report covers the synthetic set's true flags.

Compares ``removed_flags.json`` of ``tools/remove_flags.py`` with the
generator's ``MURA-v1.1/synthetic_ground_truth.json`` and prints one JSON
line per split: the fraction of true flags of which at least ``--covered``
of the area is filled, the fraction of flagged images cleaned of every
flag, the number of removed regions, and the mean fraction of an image's
area filled outside any true flag (what the removal takes that it should
not). Regions are rasterised with the same margin the removal used.

Example::

    python tools/analysis_tools/flag_removal_coverage.py \\
        data/synthetic_flags data/synthetic_flags_detected/removed_flags.json
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

import numpy as np

from radplugins.datasets.mura import (GROUND_TRUTH_FILE, MURA_FOLDER,
                                      load_synthetic_ground_truth)
from radplugins.datasets.transforms.flag_removal import regions_to_mask
from radplugins.utils import emit, read_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='folder holding MURA-v1.1/ with '
                        'synthetic_ground_truth.json')
    parser.add_argument('report', help='removed_flags.json')
    parser.add_argument('--covered', type=float, default=0.9,
                        help='area fraction that counts a flag as removed')
    parser.add_argument('--margin', type=int, default=None,
                        help='grow removed regions by this many pixels; '
                        "default: the report's margin")
    return parser.parse_args(argv)


def coverage(truth: Dict[str, dict], removed: Dict[str, dict],
             margin: int, covered: float) -> Dict[str, dict]:
    """Per-split coverage figures (see the module docstring)."""
    stats: Dict[str, dict] = {}
    for path, info in truth.items():
        if path not in removed:
            raise SystemExit(f'{path}: in the ground truth but not in the '
                             'report (was remove_flags.py run on this set?)')
        split = stats.setdefault(
            info['split'],
            dict(images=0, flagged_images=0, true_flags=0, flags_covered=0,
                 images_cleaned=0, removed_regions=0, off_flag_area=0.0))
        shape = (info['height'], info['width'])
        regions = removed[path]['flags']
        filled = regions_to_mask(regions, shape, margin, where=path)
        flags = info.get('flags') or []
        # Each true flag rasterised once; their union is what may be filled.
        flag_masks = [regions_to_mask([flag], shape, 0, where=path)
                      for flag in flags]
        true_mask = np.zeros(shape, bool)
        for mask in flag_masks:
            true_mask |= mask
        split['images'] += 1
        split['removed_regions'] += len(regions)
        split['off_flag_area'] += float((filled & ~true_mask).mean())
        all_covered = True
        for mask in flag_masks:
            fraction = (filled & mask).sum() / max(int(mask.sum()), 1)
            split['true_flags'] += 1
            split['flags_covered'] += int(fraction >= covered)
            all_covered &= bool(fraction >= covered)
        if flags:
            split['flagged_images'] += 1
            split['images_cleaned'] += int(all_covered)
    out = {}
    for name, s in sorted(stats.items()):
        out[name] = dict(
            images=s['images'],
            true_flags=s['true_flags'],
            flags_covered=round(s['flags_covered'] / max(s['true_flags'], 1),
                                4),
            flagged_images_cleaned=round(
                s['images_cleaned'] / max(s['flagged_images'], 1), 4),
            removed_regions=s['removed_regions'],
            mean_off_flag_area=round(s['off_flag_area'] / s['images'], 5))
    return out


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        truth = load_synthetic_ground_truth(
            osp.join(args.data_root, MURA_FOLDER, GROUND_TRUTH_FILE))
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f'{error} (a synthetic set only)')
    try:
        report = read_json(args.report)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f'error: {error}')
    margin = args.margin if args.margin is not None else int(
        report.get('margin', 0))
    for split, figures in coverage(truth, report['images'], margin,
                                   args.covered).items():
        emit(split=split, covered=args.covered, margin=margin, **figures)
    return 0


if __name__ == '__main__':
    sys.exit(main())
