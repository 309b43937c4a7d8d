"""Do evidence hotspots fall on the lesion? Synthetic ground truth."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.registry import METRICS

from ...datasets.synthetic.spine_generator import LESION_TASKS
from .metric_utils import format_cell, ratio, render_table, to_numpy


def hotspot_scores(hotspot: np.ndarray, mask: np.ndarray,
                   tolerance: int = 0) -> Dict[str, float]:
    """Pointing hit and mass fraction of one ``(S, H, W)`` map.

    Args:
        hotspot: Non-negative map.
        mask: Boolean lesion mask of the same shape (not empty).
        tolerance: The maximum may lie up to this many pixels (in-plane,
            same slice) from the mask.

    Returns:
        dict: ``pointing`` (1.0 / 0.0), ``mass`` (share of the map's sum
        inside the mask).
    """
    if hotspot.shape != mask.shape:
        raise ValueError(f'hotspot {hotspot.shape} and mask {mask.shape} '
                         'differ in shape')
    s, y, x = np.unravel_index(int(np.argmax(hotspot)), hotspot.shape)
    t = tolerance
    hit = bool(mask[s, max(y - t, 0):y + t + 1, max(x - t, 0):x + t + 1].any())
    return dict(
        pointing=float(hit),
        mass=ratio(float(hotspot[mask].sum()), float(hotspot.sum())))


@METRICS.register_module()
class SpineHotspotLocalization(BaseMetric):
    """Pointing game and hotspot mass inside the lesion, per task.

    Needs predictions with ``hotspots`` (``hotspot_cfg['enabled']``) and
    samples with ``gt_masks`` (``LoadDiscVolume(with_masks=True)`` on the
    synthetic set). Only samples with a lesion of that task are scored
    (both scores are undefined without one).

    Args:
        tolerance (int): Pointing tolerance in pixels.
        collect_device (str): As in BaseMetric.
        prefix (str, optional): ``'spine_hotspot'``.
    """

    default_prefix = 'spine_hotspot'

    def __init__(self,
                 tolerance: int = 0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.tolerance = tolerance

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'hotspots' not in sample or 'gt_masks' not in sample:
                raise KeyError(f"{sample.get('img_path')}: needs hotspots "
                               'and gt_masks; enable hotspot_cfg and load '
                               'masks')
            maps = to_numpy(sample['hotspots'])
            masks = to_numpy(sample['gt_masks']).astype(bool)
            for j, task in enumerate(sample['hotspot_tasks']):
                mask = masks[LESION_TASKS.index(task)]
                if not mask.any():
                    continue
                self.results.append(
                    dict(task=task,
                         **hotspot_scores(maps[j], mask, self.tolerance)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        metrics = {}
        rows = [['task', 'num', 'pointing', 'mass']]
        for task in LESION_TASKS:
            rs = [r for r in results if r['task'] == task]
            if not rs:
                continue
            metrics[f'{task}/pointing'] = float(
                np.mean([r['pointing'] for r in rs]))
            metrics[f'{task}/mass'] = float(np.mean([r['mass'] for r in rs]))
            metrics[f'{task}/num'] = float(len(rs))
            rows.append([
                task,
                str(len(rs)),
                format_cell('', metrics[f'{task}/pointing']),
                format_cell('', metrics[f'{task}/mass'])
            ])
        if len(rows) > 1:
            rows.append(['', '', '', ''])
            print_log(
                render_table(rows, 'Evidence hotspots vs lesion masks'),
                logger='current')
        return metrics
