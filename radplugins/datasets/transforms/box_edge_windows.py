"""Training windows for the box-edge refiner, around jittered true boxes."""
from typing import Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData

from radplugins.models.box_refiners.box_edge_refiner import (crop_windows,
                                                             to_window)


@TRANSFORMS.register_module()
class SampleBoxEdgeWindows(BaseTransform):
    """Windows around jittered copies of each true box, with its edges.

    What ``BoxEdgeRefiner`` learns from: for every true box, ``num_per_box``
    copies whose edges are moved independently by a normal error of
    ``sigma`` times the box's width or height (``sigma`` drawn per copy
    from ``sigma_range``; a copy overlapping the true box by less than
    ``min_iou`` is drawn again), each cropped as the refiner crops a
    detection at test time (``crop_windows``), with the true box's edges
    in window pixels as the target. Random flips, a transpose and a sign
    flip of the window (applied to its target alike) make the refiner
    indifferent to orientation and polarity: markers and implants appear
    at any angle, bright on dark or dark on bright.

    The output is what the refiner's ``forward`` takes, so this is the
    last transform of the pipeline (no packing transform).

    Required Keys:

    - img
    - gt_bboxes
    - gt_bboxes_labels
    - gt_ignore_flags (optional: ignored boxes are skipped)

    Returns a new dict with only:

    - inputs (Tensor ``(K, 1, size, size)`` float32)
    - data_samples (``InstanceData``: ``edges`` ``(K, 4)`` in window
      pixels and ``labels`` ``(K,)``; ``img_path`` and ``img_id`` in its
      metainfo)

    Args:
        size (int): Window side; must equal the refiner's. Defaults to 64.
        expand (float): Window side over box side; must equal the
            refiner's. Defaults to 2.0.
        num_per_box (int): Jittered copies per true box. Defaults to 8.
        sigma_range (tuple[float, float]): Range of the relative edge
            error. Defaults to ``(0.01, 0.12)``, which spans the boxes of
            the demo detectors (median IoU with the truth 0.80-0.85).
        min_iou (float): Least IoU of a copy with its true box. Defaults
            to 0.45.
        augment (bool): Flip, transpose and negate windows at random.
            Defaults to True.
        max_tries (int): Draws per copy before the true box itself is
            used. Defaults to 100.
    """

    def __init__(self,
                 size: int = 64,
                 expand: float = 2.0,
                 num_per_box: int = 8,
                 sigma_range: Tuple[float, float] = (0.01, 0.12),
                 min_iou: float = 0.45,
                 augment: bool = True,
                 max_tries: int = 100) -> None:
        if num_per_box < 1:
            raise ValueError(f'num_per_box must be >= 1, got {num_per_box!r}')
        if not 0 <= sigma_range[0] <= sigma_range[1]:
            raise ValueError('sigma_range must be (low, high) with '
                             f'0 <= low <= high, got {sigma_range!r}')
        if not 0.0 <= min_iou < 1.0:
            raise ValueError(f'min_iou must be in [0, 1), got {min_iou!r}')
        self.size = size
        self.expand = expand
        self.num_per_box = num_per_box
        self.sigma_range = tuple(sigma_range)
        self.min_iou = min_iou
        self.augment = augment
        self.max_tries = max_tries

    def _jitter(self, true: np.ndarray) -> np.ndarray:
        """One jittered copy of each row of ``true``, drawn all at once.

        Copies that are degenerate or overlap their box by less than
        ``min_iou`` are drawn again, up to ``max_tries`` times; any still
        failing then is the true box itself.
        """
        jittered = true.copy()
        scale = np.tile(true[:, 2:] - true[:, :2], 2)
        pending = np.arange(len(true))
        for _ in range(self.max_tries):
            if len(pending) == 0:
                break
            sigma = np.random.uniform(*self.sigma_range, (len(pending), 1))
            copies = true[pending] + np.random.normal(
                0.0, 1.0, (len(pending), 4)) * sigma * scale[pending]
            ious = bbox_overlaps(
                torch.from_numpy(copies), torch.from_numpy(true[pending]),
                is_aligned=True).numpy()
            good = ((copies[:, 2] - copies[:, 0] > 1) &
                    (copies[:, 3] - copies[:, 1] > 1) &
                    (ious >= self.min_iou))
            jittered[pending[good]] = copies[good]
            pending = pending[~good]
        return jittered

    def _augment(self, window: torch.Tensor,
                 edges: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Random flips, transpose and negation of one window."""
        x1, y1, x2, y2 = edges.unbind()
        if np.random.rand() < 0.5:
            window = window.flip(-1)
            x1, x2 = self.size - x2, self.size - x1
        if np.random.rand() < 0.5:
            window = window.flip(-2)
            y1, y2 = self.size - y2, self.size - y1
        if np.random.rand() < 0.5:
            window = window.transpose(-1, -2)
            x1, y1, x2, y2 = y1, x1, y2, x2
        if np.random.rand() < 0.5:
            window = -window
        return window, torch.stack([x1, y1, x2, y2])

    def transform(self, results: dict) -> dict:
        """Add the windows and their targets.

        Args:
            results (dict): Result dict after ``LoadAnnotations``.

        Returns:
            dict: ``inputs`` and ``data_samples`` only.
        """
        img = results['img']
        gray = img.astype(np.float32)
        if gray.ndim == 3:
            gray = gray.mean(axis=2)
        boxes = results['gt_bboxes']
        boxes = np.asarray(boxes.numpy() if hasattr(boxes, 'numpy') else
                           boxes, dtype=np.float64).reshape(-1, 4)
        labels = np.asarray(results['gt_bboxes_labels'], np.int64)
        ignore = results.get('gt_ignore_flags')
        keep = np.ones(len(boxes), bool) if ignore is None else ~np.asarray(
            ignore, bool)
        boxes, labels = boxes[keep], labels[keep]
        true = np.repeat(boxes, self.num_per_box, axis=0)
        jittered = self._jitter(true)
        windows, frames = crop_windows(
            torch.from_numpy(gray)[None],
            torch.from_numpy(jittered).float(), self.size, self.expand)
        edges = to_window(torch.from_numpy(true).float(), frames)
        if self.augment:
            pairs = [self._augment(w, e) for w, e in zip(windows, edges)]
            if pairs:
                windows = torch.stack([p[0] for p in pairs])
                edges = torch.stack([p[1] for p in pairs])
        data_sample = InstanceData(
            edges=edges,
            labels=torch.from_numpy(np.repeat(labels, self.num_per_box)))
        data_sample.set_metainfo(
            dict(img_path=results.get('img_path'), img_id=results.get(
                'img_id')))
        # Only what the refiner takes: the loader collates every key.
        return dict(inputs=windows.contiguous(), data_samples=data_sample)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'expand={self.expand}, num_per_box={self.num_per_box}, '
                f'sigma_range={self.sigma_range}, min_iou={self.min_iou}, '
                f'augment={self.augment})')
