"""Where the zoom model looks: pointing game and ROI hits on box labels."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.registry import METRICS

from .metric_utils import format_cell, render_table, to_numpy

# Rates, in the order the table shows them.
_SCORES = ('pointing', 'roi_hit', 'centre_hit', 'roi_iou', 'flag_hit',
           'flag_instead', 'flag_pointing', 'roi_area')
_COUNTS = ('num_images', 'num_lesion_images', 'num_flag_images',
           'num_lesion_flag_images')
# Box fractions are ratios of float sums; an exact half can land a few ulps
# below 0.5, which must still count as "at least half".
_EPS = 1e-9


def _mean(values: Sequence[float]) -> float:
    # np.mean of an empty array warns; an undefined score is just NaN.
    return float(sum(values)) / len(values) if len(values) else float('nan')


def _as_boxes(boxes, name: str = 'boxes') -> np.ndarray:
    """``(K, 4)`` float64 boxes; K may be 0."""
    arr = to_numpy(boxes).astype(np.float64)
    if arr.size == 0:
        return arr.reshape(0, 4)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f'{name} must have shape (K, 4) as x1, y1, x2, y2, '
                         f'got {tuple(arr.shape)}')
    bad = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if bad.any():
        raise ValueError(f'{name} must have x2 >= x1 and y2 >= y1, got '
                         f'{arr[bad][0].tolist()}')
    return arr


@METRICS.register_module()
class ZoomLocalization(BaseMetric):
    """Does the zoom model look at the abnormality, or at the marker?

    Scores one zoom step of :class:`ZoomInClassifier` (``step``; 0 is the
    ROI found on the whole image, -1 the last) against ground-truth boxes of
    abnormalities ("lesions") and of L/R markers ("flags"), as the synthetic
    MURA generator writes them. Boxes are ``x1, y1, x2, y2`` in
    original-image pixels, closed intervals.

    - ``pointing``: pointing game over images with at least one lesion box:
      the saliency maximum lies in a lesion box grown by ``tolerance``
      pixels on every side.
    - ``roi_hit``: over the same images, at least ``hit_fraction`` of some
      lesion box's area lies inside the ROI ("at least half of the
      abnormality inside the ROI").
    - ``centre_hit``: the same hit test for a box of the ROI's width and
      height placed in the centre of the image: what the ROI's size alone
      achieves, without looking. A ``roi_hit`` near it means the model's
      choice of position adds nothing.
    - ``roi_iou``: over the same images, mean of the best IoU between the
      ROI and a lesion box.
    - ``flag_hit``: over images with a flag box, the ROI holds at least
      ``hit_fraction`` of some flag box.
    - ``flag_instead``: over images with both, the ROI hits a flag and
      misses every lesion (the paper's failure mode: the network reads the
      marker).
    - ``flag_pointing``: over images with a flag, the saliency maximum lies
      in a (grown) flag box.
    - ``roi_area``: over all images, mean ROI area as a fraction of the
      image. ROI hits are cheap for a large ROI; read them next to this.
    - counts ``num_images``, ``num_lesion_images``, ``num_flag_images``,
      ``num_lesion_flag_images`` (floats, because MMEngine's JSON log drops
      integer scalars).

    The scores are computed over all images, over each body part
    (``per_body_part``) and over each lesion kind (``per_lesion_kind``). A
    lesion-kind group holds the images with at least one lesion of that
    kind, and its lesion scores count only the lesions of that kind, so a
    hit on an implant does not count for a fracture in the same image. A
    score with no eligible image is NaN.

    The returned keys are the overall ``{score}`` under the ``loc/``
    prefix; every group is a row of the table :meth:`compute_metrics`
    logs. MMEngine writes every returned key into the one validation line
    of the console and into the ``vis_backends`` scalars, so the groups'
    keys, ``{BODY_PART}/{score}`` and ``{kind}/{score}`` (e.g.
    ``implant/roi_hit``), are returned only with ``per_group_keys=True``,
    and then reach the scalars and the console line alike.

    Each data sample needs ``zoom_boxes`` (``(num_steps, 4)``) and
    ``saliency_peaks`` (``(num_steps, 2)``) from
    :meth:`ZoomInClassifier.predict`, the metainfo ``gt_abnormal_boxes``
    and ``gt_flag_boxes`` (``MuraDataset(ground_truth=...)`` and
    ``PackInputs(meta_keys=...)``), ``ori_shape`` and, with
    ``per_body_part``, ``body_part``. The per-kind groups need
    ``gt_abnormal_kinds`` (one string per lesion box, from the same
    dataset option); samples without it are left out of them, and a set
    where no sample has it reports no kinds.

    Args:
        step (int): Zoom step to score, Python-indexed. Defaults to 0.
        tolerance (float): Pixels added on each side of a box for the
            pointing game. Defaults to 0.
        hit_fraction (float): Fraction of a box's area that must lie inside
            the ROI for a hit, in (0, 1]. Defaults to 0.5.
        per_body_part (bool): Also report each body part. Defaults to True.
        per_lesion_kind (bool): Also report each lesion kind. Defaults to
            True.
        per_group_keys (bool): Also return the body parts' and lesion
            kinds' figures as metric keys (the JSON/TensorBoard scalars and
            the console line). Defaults to False: the table only.
        collect_device (str): ``'cpu'`` or ``'gpu'`` for gathering results.
        prefix (str, optional): Key prefix. Defaults to ``'loc'``.
    """

    default_prefix: Optional[str] = 'loc'

    def __init__(self,
                 step: int = 0,
                 tolerance: float = 0.0,
                 hit_fraction: float = 0.5,
                 per_body_part: bool = True,
                 per_lesion_kind: bool = True,
                 per_group_keys: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f'step must be an int, got {step!r}')
        if not tolerance >= 0:
            raise ValueError(f'tolerance must be >= 0 pixels, got '
                             f'{tolerance}')
        if not 0.0 < hit_fraction <= 1.0:
            raise ValueError(f'hit_fraction must be in (0, 1], got '
                             f'{hit_fraction}')
        self.step = step
        self.tolerance = float(tolerance)
        self.hit_fraction = float(hit_fraction)
        self.per_body_part = per_body_part
        self.per_lesion_kind = per_lesion_kind
        self.per_group_keys = per_group_keys

    # ------------------------------------------------------------------
    # geometry
    @staticmethod
    def box_area(boxes: np.ndarray) -> np.ndarray:
        """Areas of ``(N, 4)`` boxes.

        Args:
            boxes (np.ndarray): ``x1, y1, x2, y2`` boxes, shape (N, 4).

        Returns:
            np.ndarray: Areas, shape (N,).
        """
        boxes = _as_boxes(boxes)
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

    @staticmethod
    def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pairwise intersection areas of (N, 4) and (M, 4) boxes."""
        w = np.minimum(a[:, None, 2], b[None, :, 2]) - \
            np.maximum(a[:, None, 0], b[None, :, 0])
        h = np.minimum(a[:, None, 3], b[None, :, 3]) - \
            np.maximum(a[:, None, 1], b[None, :, 1])
        return np.clip(w, 0, None) * np.clip(h, 0, None)

    @staticmethod
    def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pairwise intersection over union.

        Args:
            a (np.ndarray): Boxes, shape (N, 4).
            b (np.ndarray): Boxes, shape (M, 4).

        Returns:
            np.ndarray: IoU, shape (N, M); 0 where the union has no area.
        """
        a, b = _as_boxes(a, 'a'), _as_boxes(b, 'b')
        inter = ZoomLocalization._intersection(a, b)
        union = ZoomLocalization.box_area(a)[:, None] + \
            ZoomLocalization.box_area(b)[None] - inter
        return np.divide(inter, union, out=np.zeros_like(inter),
                         where=union > 0)

    @staticmethod
    def fraction_inside(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
        """Fraction of each inner box's area that lies inside each outer box.

        Args:
            inner (np.ndarray): Boxes whose coverage is measured, (N, 4).
            outer (np.ndarray): Covering boxes (e.g. ROIs), (M, 4).

        Returns:
            np.ndarray: Fractions in [0, 1], shape (N, M). A zero-area inner
            box (a point or a segment) counts 1 when it lies in the closed
            outer box and 0 otherwise, the limit of a shrinking box.
        """
        inner, outer = _as_boxes(inner, 'inner'), _as_boxes(outer, 'outer')
        inter = ZoomLocalization._intersection(inner, outer)
        area = ZoomLocalization.box_area(inner)[:, None]
        contained = ((inner[:, None, 0] >= outer[None, :, 0]) &
                     (inner[:, None, 1] >= outer[None, :, 1]) &
                     (inner[:, None, 2] <= outer[None, :, 2]) &
                     (inner[:, None, 3] <= outer[None, :, 3]))
        frac = np.divide(inter, area, out=np.zeros_like(inter),
                         where=area > 0)
        return np.where(area > 0, frac, contained.astype(np.float64))

    @staticmethod
    def points_in_boxes(points: np.ndarray,
                        boxes: np.ndarray,
                        tolerance: float = 0.0) -> np.ndarray:
        """Whether each point lies in each box grown by ``tolerance``.

        Args:
            points (np.ndarray): ``x, y`` points, shape (N, 2).
            boxes (np.ndarray): Boxes, shape (M, 4).
            tolerance (float): Pixels added on every side of the boxes.

        Returns:
            np.ndarray: Bool, shape (N, M); box edges count as inside.
        """
        pts = to_numpy(points).astype(np.float64).reshape(-1, 2)
        boxes = _as_boxes(boxes)
        x, y = pts[:, None, 0], pts[:, None, 1]
        return ((x >= boxes[None, :, 0] - tolerance) &
                (x <= boxes[None, :, 2] + tolerance) &
                (y >= boxes[None, :, 1] - tolerance) &
                (y <= boxes[None, :, 3] + tolerance))

    @staticmethod
    def calculate(roi_boxes: np.ndarray,
                  peaks: np.ndarray,
                  lesion_boxes_list: Sequence[np.ndarray],
                  flag_boxes_list: Sequence[np.ndarray],
                  image_sizes: Optional[np.ndarray] = None,
                  tolerance: float = 0.0,
                  hit_fraction: float = 0.5) -> Dict[str, float]:
        """Localisation scores of N images.

        Args:
            roi_boxes (np.ndarray): One ROI per image, shape (N, 4).
            peaks (np.ndarray): One saliency maximum ``x, y`` per image,
                shape (N, 2).
            lesion_boxes_list (Sequence[np.ndarray]): Per image, its
                abnormality boxes, (K_i, 4), K_i may be 0.
            flag_boxes_list (Sequence[np.ndarray]): Per image, its flag
                boxes, (F_i, 4), F_i may be 0.
            image_sizes (np.ndarray, optional): ``(width, height)`` per
                image, shape (N, 2), for ``roi_area`` and ``centre_hit``;
                NaN without it.
            tolerance (float): Pointing-game margin in pixels.
            hit_fraction (float): Covered fraction of a box that is a hit.

        Returns:
            dict: The scores and counts described in the class docstring.
            Scores with no eligible image are NaN.
        """
        rois = _as_boxes(roi_boxes, 'roi_boxes')
        pts = to_numpy(peaks).astype(np.float64).reshape(-1, 2)
        n = len(rois)
        if not (len(pts) == len(lesion_boxes_list) == len(flag_boxes_list)
                == n):
            raise ValueError(
                f'one entry per image expected: {n} ROIs, {len(pts)} peaks, '
                f'{len(lesion_boxes_list)} lesion and '
                f'{len(flag_boxes_list)} flag box lists')
        sizes = None
        if image_sizes is not None:
            sizes = to_numpy(image_sizes).astype(np.float64).reshape(-1, 2)
            if len(sizes) != n:
                raise ValueError(f'{len(sizes)} image sizes for {n} ROIs')
        pointing, roi_hit, centre_hit, roi_iou = [], [], [], []
        flag_hit, flag_pointing, flag_instead = [], [], []
        for i in range(n):
            roi, peak = rois[i:i + 1], pts[i:i + 1]
            lesions = _as_boxes(lesion_boxes_list[i], 'lesion boxes')
            flags = _as_boxes(flag_boxes_list[i], 'flag boxes')
            lesion_hit = flag_roi_hit = False
            if len(lesions):
                lesion_hit = bool(
                    (ZoomLocalization.fraction_inside(lesions, roi) >=
                     hit_fraction - _EPS).any())
                pointing.append(
                    ZoomLocalization.points_in_boxes(peak, lesions,
                                                     tolerance).any())
                roi_hit.append(lesion_hit)
                if sizes is not None:
                    half = (rois[i, 2:] - rois[i, :2]) / 2
                    centre = np.concatenate(
                        [sizes[i] / 2 - half, sizes[i] / 2 + half])[None]
                    centre_hit.append(bool(
                        (ZoomLocalization.fraction_inside(lesions, centre)
                         >= hit_fraction - _EPS).any()))
                roi_iou.append(
                    ZoomLocalization.box_iou(roi, lesions).max())
            if len(flags):
                flag_roi_hit = bool(
                    (ZoomLocalization.fraction_inside(flags, roi) >=
                     hit_fraction - _EPS).any())
                flag_hit.append(flag_roi_hit)
                flag_pointing.append(
                    ZoomLocalization.points_in_boxes(peak, flags,
                                                     tolerance).any())
            if len(lesions) and len(flags):
                flag_instead.append(flag_roi_hit and not lesion_hit)

        if sizes is not None:
            image_area = sizes[:, 0] * sizes[:, 1]
            roi_area = _mean((ZoomLocalization.box_area(rois) /
                              image_area).tolist())
        else:
            roi_area = float('nan')
        return dict(
            pointing=_mean(pointing),
            roi_hit=_mean(roi_hit),
            centre_hit=_mean(centre_hit),
            roi_iou=_mean(roi_iou),
            flag_hit=_mean(flag_hit),
            flag_instead=_mean(flag_instead),
            flag_pointing=_mean(flag_pointing),
            roi_area=roi_area,
            num_images=float(n),
            num_lesion_images=float(len(roi_hit)),
            num_flag_images=float(len(flag_hit)),
            num_lesion_flag_images=float(len(flag_instead)))

    # ------------------------------------------------------------------
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the chosen step's ROI and peak, the boxes and the body part.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Outputs of the model as dicts.
        """
        for sample in data_samples:
            name = sample.get('img_path', sample.get('sample_idx', '?'))
            for key in ('zoom_boxes', 'saliency_peaks'):
                if key not in sample:
                    raise KeyError(
                        f'ZoomLocalization needs {key!r} in every data '
                        f'sample, missing in {name}; the model must be a '
                        'ZoomInClassifier')
            for key in ('gt_abnormal_boxes', 'gt_flag_boxes'):
                if key not in sample:
                    raise KeyError(
                        f'ZoomLocalization needs {key!r} in every data '
                        f'sample, missing in {name}; set ground_truth on the '
                        "dataset (e.g. MuraDataset(ground_truth='auto')) and "
                        'pass gt_abnormal_boxes and gt_flag_boxes through '
                        'PackInputs(meta_keys=...)')
            needed = ['ori_shape'] + (['body_part']
                                      if self.per_body_part else [])
            for key in needed:
                if key not in sample:
                    raise KeyError(
                        f'ZoomLocalization needs {key!r} in every data '
                        f'sample, missing in {name}; add it to '
                        'PackInputs(meta_keys=...)')
            boxes = to_numpy(sample['zoom_boxes']).astype(np.float64)
            peaks = to_numpy(sample['saliency_peaks']).astype(np.float64)
            if boxes.ndim != 2 or boxes.shape[1] != 4 or \
                    peaks.shape != (boxes.shape[0], 2):
                raise ValueError(
                    f'zoom_boxes must be (num_steps, 4) and saliency_peaks '
                    f'(num_steps, 2), got {tuple(boxes.shape)} and '
                    f'{tuple(peaks.shape)} for {name}')
            num_steps = boxes.shape[0]
            if not -num_steps <= self.step < num_steps:
                raise ValueError(
                    f'step={self.step} is out of range for a model with '
                    f'{num_steps} zoom step(s) ({name})')
            height, width = (int(v) for v in sample['ori_shape'][:2])
            lesions = _as_boxes(sample['gt_abnormal_boxes'],
                                f'gt_abnormal_boxes of {name}').tolist()
            kinds = sample.get('gt_abnormal_kinds')
            if kinds is not None:
                kinds = [str(k) for k in kinds]
                if len(kinds) != len(lesions):
                    raise ValueError(
                        f'{name}: {len(kinds)} gt_abnormal_kinds for '
                        f'{len(lesions)} gt_abnormal_boxes; one kind per '
                        'box expected')
            # Plain Python values keep the gathered results small and
            # picklable; tensors would drag device memory into the gather.
            self.results.append(
                dict(
                    roi=boxes[self.step].tolist(),
                    peak=peaks[self.step].tolist(),
                    lesions=lesions,
                    kinds=kinds,
                    flags=_as_boxes(sample['gt_flag_boxes'],
                                    f'gt_flag_boxes of {name}').tolist(),
                    size=[width, height],
                    body_part=str(sample.get('body_part', ''))))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score all images and each body part, and log a table.

        Args:
            results (list[dict]): Gathered outputs of :meth:`process`.

        Returns:
            dict: The flat metric dict described in the class docstring:
            the overall keys, and the groups' with ``per_group_keys``.
        """
        parts = np.array([r['body_part'] for r in results])
        # (key prefix, images in the group, lesion kind to keep or None)
        groups = [('', np.ones(len(results), dtype=bool), None)]
        if self.per_body_part:
            groups += [(f'{p}/', parts == p, None)
                       for p in sorted(set(parts))]
        if self.per_lesion_kind:
            kinds = sorted({k for r in results for k in r['kinds'] or () if k})
            clash = set(kinds) & {str(p) for p in parts}
            if clash:
                raise ValueError(
                    f'lesion kind(s) {sorted(clash)} are also body part '
                    'names, so their keys would mix; rename the kinds or set '
                    'per_lesion_kind=False')
            groups += [(f'{kind}/',
                        np.array([kind in (r['kinds'] or ()) for r in results],
                                 dtype=bool), kind) for kind in kinds]

        def lesions_of(result: dict, kind: Optional[str]) -> np.ndarray:
            boxes = np.array(result['lesions']).reshape(-1, 4)
            if kind is None:
                return boxes
            return boxes[np.array(result['kinds']) == kind]

        metrics: Dict[str, float] = {}
        for name, mask, kind in groups:
            chosen = [results[i] for i in np.flatnonzero(mask)]
            scores = self.calculate(
                np.array([r['roi'] for r in chosen]).reshape(-1, 4),
                np.array([r['peak'] for r in chosen]).reshape(-1, 2),
                [lesions_of(r, kind) for r in chosen],
                [np.array(r['flags']) for r in chosen],
                image_sizes=np.array([r['size'] for r in chosen]),
                tolerance=self.tolerance,
                hit_fraction=self.hit_fraction)
            for key, value in scores.items():
                metrics[f'{name}{key}'] = value

        print_log(
            f'\nZoom step {self.step}, hit fraction {self.hit_fraction}, '
            f'pointing tolerance {self.tolerance:g} px\n' +
            self.format_table(metrics),
            logger='current')
        if self.per_group_keys:
            return metrics
        # An overall key is '{score}'; a body part or lesion kind adds a
        # field.
        return {k: v for k, v in metrics.items() if '/' not in k}

    @staticmethod
    def format_table(metrics: Dict[str, float]) -> str:
        """Render per-body-part rows and an overall row as text.

        Args:
            metrics (dict): Output of :meth:`compute_metrics` or of
                :meth:`evaluate`, with or without a key prefix.

        Returns:
            str: A fixed-width table, one row per body part and lesion kind
            plus ``ALL``.
        """
        # The prefix may be 'loc/', 'val/loc/' or a user's own: the overall
        # keys are the shortest ones, and per-part keys have one more field.
        keyed = [(k.split('/'), v) for k, v in metrics.items()
                 if k.split('/')[-1] in _SCORES + _COUNTS]
        depth = min((len(f) for f, _ in keyed), default=1)
        flat: Dict[str, float] = {}
        for fields, value in keyed:
            if len(fields) == depth:
                flat[f'ALL/{fields[-1]}'] = value
            elif len(fields) == depth + 1:
                flat[f'{fields[-2]}/{fields[-1]}'] = value
        parts = sorted({k.split('/')[0] for k in flat} - {'ALL'})
        columns = [('images', 'num_images'), ('lesion', 'num_lesion_images'),
                   ('flag', 'num_flag_images'), ('pointing', 'pointing'),
                   ('roi_hit', 'roi_hit'), ('centre_hit', 'centre_hit'),
                   ('roi_iou', 'roi_iou'),
                   ('roi_area', 'roi_area'), ('flag_hit', 'flag_hit'),
                   ('flag_instead', 'flag_instead'),
                   ('flag_point', 'flag_pointing')]

        def cell(key: str) -> str:
            return format_cell(key, flat.get(key))

        rows = [['group'] + [c[0] for c in columns]]
        for part in parts + ['ALL']:
            rows.append([part] + [cell(f'{part}/{c[1]}') for c in columns])
        return render_table(
            rows, 'Zoom localisation (lesion/flag = images with such a box):')
