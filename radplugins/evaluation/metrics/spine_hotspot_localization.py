"""Do evidence hotspots fall on the lesion? Synthetic ground truth."""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.registry import METRICS

from ...datasets.spine_tasks import LESION_TASKS
from .metric_utils import format_cell, ratio, render_table, to_numpy


def hotspot_scores(hotspot: np.ndarray, mask: np.ndarray,
                   tolerance: int = 0) -> Dict[str, float]:
    """Pointing hit, miss distance and mass fraction of one ``(S, H, W)`` map.

    Distances are in-plane on the maximum's slice and in pixels, measured
    the way ``tolerance`` is: the larger of the row and column offsets, so
    the maximum hits exactly when ``distance <= tolerance``.

    Args:
        hotspot: Non-negative map.
        mask: Boolean lesion mask of the same shape (not empty).
        tolerance: The maximum may lie up to this many pixels (in-plane,
            same slice) from the mask.

    Returns:
        dict: ``pointing`` (1.0 / 0.0), ``distance`` (from the maximum to
        the nearest lesion pixel of its slice; 0 inside the lesion, ``inf``
        on a slice without lesion) and ``mass`` (share of the map's sum
        inside the mask).
    """
    if hotspot.shape != mask.shape:
        raise ValueError(f'hotspot {hotspot.shape} and mask {mask.shape} '
                         'differ in shape')
    s, y, x = np.unravel_index(int(np.argmax(hotspot)), hotspot.shape)
    rows, cols = np.nonzero(mask[s])
    distance = float(np.min(np.maximum(np.abs(rows - y), np.abs(
        cols - x)))) if rows.size else math.inf
    return dict(
        pointing=float(distance <= tolerance),
        distance=distance,
        mass=ratio(float(hotspot[mask].sum()), float(hotspot.sum())))


def lesion_hotspots(sample: dict) -> List[dict]:
    """The hotspot tasks of one prediction that have a lesion.

    Args:
        sample: A prediction with ``hotspots``, ``gt_masks`` and
            ``hotspot_tasks`` (and optionally the grader's
            ``task_scores``).

    Returns:
        list[dict]: ``task``, ``detected`` (whether the grader calls the
        disc abnormal for that task; None without ``task_scores``),
        ``map`` (``(S, H, W)``) and ``mask`` (boolean, not empty), for
        every hotspot task whose lesion mask is not empty.

    Raises:
        KeyError: The sample lacks ``hotspots``, ``gt_masks`` or
            ``hotspot_tasks``; the message names its ``img_path``.
    """
    missing = [key for key in ('hotspots', 'gt_masks', 'hotspot_tasks')
               if key not in sample]
    if missing:
        raise KeyError(f"{sample.get('img_path')}: needs {missing}; enable "
                       'hotspot_cfg and load masks')
    maps = to_numpy(sample['hotspots'])
    masks = to_numpy(sample['gt_masks']).astype(bool)
    scores = sample.get('task_scores') or {}
    lesions = []
    for j, task in enumerate(sample['hotspot_tasks']):
        mask = masks[LESION_TASKS.index(task)]
        if not mask.any():
            continue
        detected = None
        if task in scores:
            detected = int(to_numpy(scores[task]).argmax()) > 0
        lesions.append(dict(task=task, detected=detected, map=maps[j],
                            mask=mask))
    return lesions


def pointing_by_detection(results: Sequence[dict]) -> Dict[str, float]:
    """Pointing over the lesion discs the grader calls abnormal and over
    those it calls normal: ``num_detected``, ``pointing_detected``,
    ``num_undetected``, ``pointing_undetected`` (a pointing only where its
    group is not empty); nothing when no result has ``detected`` set.

    Args:
        results: Dicts with ``pointing`` and ``detected`` (bool or None).
    """
    known = [r for r in results if r.get('detected') is not None]
    if not known:
        return {}
    metrics = {}
    for name, wanted in (('detected', True), ('undetected', False)):
        group = [r['pointing'] for r in known if r['detected'] == wanted]
        metrics[f'num_{name}'] = float(len(group))
        if group:
            metrics[f'pointing_{name}'] = float(np.mean(group))
    return metrics


@METRICS.register_module()
class SpineHotspotLocalization(BaseMetric):
    """Pointing game and hotspot mass inside the lesion, per task.

    Per task: ``pointing``, ``mass``, ``num``, and where the misses lie:
    ``num_misses``, ``miss_distance`` (the median in-plane distance in
    pixels, as ``tolerance`` measures it, of the misses whose maximum is on
    a slice with lesion) and ``miss_off_slice`` (the share of misses whose
    maximum is on a slice without lesion). A near miss means the map found
    the lesion and its maximum sits just beside it; a far one, that it
    marks something else.

    When the predictions carry the grader's ``task_scores`` (as
    :class:`SpineMultiTaskClassifier` writes them), the pointing is also
    split by what the grader said of the same disc: ``pointing_detected``
    over the lesion discs it calls abnormal (a class above 0) and
    ``pointing_undetected`` over those it calls normal, with their counts
    ``num_detected`` and ``num_undetected``. A map cannot be expected to
    point at evidence its model does not use, so the split tells a map's
    misses from the grader's.

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
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) \
                or tolerance < 0:
            raise ValueError(
                f'tolerance must be an int >= 0 (pixels), got {tolerance!r}')
        self.tolerance = tolerance

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            for lesion in lesion_hotspots(sample):
                self.results.append(
                    dict(task=lesion['task'],
                         detected=lesion['detected'],
                         **hotspot_scores(lesion['map'], lesion['mask'],
                                          self.tolerance)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        metrics = {}
        rows = [[
            'task', 'num', 'pointing', 'mass', 'misses', 'miss px',
            'off slice', 'detected', 'pointing det.', 'pointing undet.'
        ]]
        for task in LESION_TASKS:
            rs = [r for r in results if r['task'] == task]
            if not rs:
                continue
            metrics[f'{task}/pointing'] = float(
                np.mean([r['pointing'] for r in rs]))
            metrics[f'{task}/mass'] = float(np.mean([r['mass'] for r in rs]))
            metrics[f'{task}/num'] = float(len(rs))
            # Where the misses are: next to the lesion (the map found it but
            # its maximum sits a few pixels off) or far from it, or on a
            # slice without any lesion.
            misses = [r['distance'] for r in rs if not r['pointing']]
            on_slice = [d for d in misses if math.isfinite(d)]
            metrics[f'{task}/num_misses'] = float(len(misses))
            if on_slice:
                metrics[f'{task}/miss_distance'] = float(np.median(on_slice))
            if misses:
                metrics[f'{task}/miss_off_slice'] = 1 - len(on_slice) / len(
                    misses)
            metrics.update({
                f'{task}/{key}': value
                for key, value in pointing_by_detection(rs).items()
            })
            rows.append([task, str(len(rs))] + [
                format_cell(key, metrics.get(f'{task}/{key}'))
                for key in ('pointing', 'mass', 'num_misses',
                            'miss_distance', 'miss_off_slice',
                            'num_detected', 'pointing_detected',
                            'pointing_undetected')
            ])
        if len(rows) > 1:
            rows.append([''] * len(rows[0]))
            print_log(
                render_table(rows, 'Evidence hotspots vs lesion masks'),
                logger='current')
        return metrics
