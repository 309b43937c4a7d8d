"""Load, preprocess and stack the views of a study."""
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadStudyViews(BaseTransform):
    """Run a single-view pipeline on every view of a study and stack them.

    A study with fewer than ``num_views`` views is filled, as in the paper
    (§IV-E), by repeating its views in turn (view 0, 1, ..., 0, 1, ...),
    each repeat going through ``view_pipeline`` and then ``fill_pipeline``
    (by default a random crop and mirroring), so the repeats differ from
    the originals. ``view_mask`` is True for the study's own views and
    False for the repeats: late fusion ignores the repeats, early fusion
    sees them as the paper's did. Studies with more views are cut by
    :class:`MuraStudyDataset` first; more than ``num_views`` here is an
    error.

    Required Keys:

    - img_paths

    Added Keys:

    - img (``torch.Tensor``, ``(num_views, C, H, W)``, the pipeline's dtype)
    - img_shape
    - view_mask (``torch.BoolTensor``, ``(num_views, )``)
    - view_sources (list[int]: which of the study's views fills each slot)

    Args:
        view_pipeline (Sequence[dict]): Transforms of one view, from loading
            (``img_path``) to a fixed-size ``img`` (H, W[, C]); no packing.
        num_views (int): Views a study is given. Defaults to 6.
        fill_pipeline (Sequence[dict], optional): Transforms applied after
            ``view_pipeline`` to the repeated views only. Defaults to None,
            which is no extra transform.
    """

    def __init__(self,
                 view_pipeline: Sequence[dict],
                 num_views: int = 6,
                 fill_pipeline: Optional[Sequence[dict]] = None) -> None:
        if not isinstance(num_views, int) or num_views < 1:
            raise ValueError(f'num_views must be a positive int, got '
                             f'{num_views!r}')
        self.num_views = num_views
        self.view_pipeline = self._compose(view_pipeline)
        self.fill_pipeline = self._compose(fill_pipeline or [])

    @staticmethod
    def _compose(transforms: Sequence) -> Compose:
        # Built from MMPretrain's registry, so the sub-pipelines resolve
        # without a default scope (tests, tools building one transform).
        return Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])

    @staticmethod
    def _as_chw(img, path: str) -> torch.Tensor:
        if isinstance(img, torch.Tensor):
            return img
        if not isinstance(img, np.ndarray):
            raise TypeError(f'{path}: the view pipeline must leave an image '
                            f'array in "img", got {type(img).__name__}')
        if img.ndim == 2:
            img = img[..., None]
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    def transform(self, results: dict) -> dict:
        """Load, preprocess and stack the study's views.

        Args:
            results (dict): A study sample with ``img_paths``.

        Returns:
            dict: ``results`` with the added keys.
        """
        paths: List[str] = list(results['img_paths'])
        study = results.get('study_id', paths[0] if paths else '?')
        if not paths:
            raise ValueError(f'study {study}: no views')
        if len(paths) > self.num_views:
            raise ValueError(
                f'study {study}: {len(paths)} views, more than num_views='
                f'{self.num_views}; MuraStudyDataset(num_views=...) cuts '
                f'them, use the same num_views in both')
        views = []
        sources = []
        for slot in range(self.num_views):
            source = slot % len(paths)
            out = self.view_pipeline(dict(img_path=paths[source]))
            if out is None:
                raise ValueError(f'{paths[source]}: the view pipeline '
                                 f'dropped the view')
            if slot >= len(paths):
                out = self.fill_pipeline(out)
            views.append(self._as_chw(out['img'], paths[source]))
            sources.append(source)
        shapes = {tuple(v.shape) for v in views}
        if len(shapes) != 1:
            raise ValueError(
                f'study {study}: views of different shapes {sorted(shapes)} '
                f'after the view pipeline; end it with a fixed-size resize '
                f'or letterbox')
        results['img'] = torch.stack(views)
        results['img_shape'] = tuple(views[0].shape[1:])
        results['view_mask'] = torch.arange(self.num_views) < len(paths)
        results['view_sources'] = sources
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_views={self.num_views}, '
                f'view_pipeline={self.view_pipeline}, '
                f'fill_pipeline={self.fill_pipeline})')
