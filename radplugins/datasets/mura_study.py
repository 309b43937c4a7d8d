"""MURA-v1.1 at study level: one sample per study with all its views."""
from typing import Dict, List

import numpy as np
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

from .mura import MuraDataset

# Fields of a view sample -> the per-view list of a study sample.
_PER_VIEW_KEYS = {
    'img_path': 'img_paths',
    'view_idx': 'view_indices',
    'csv_row': 'csv_rows',
    'gt_abnormal_boxes': 'gt_abnormal_boxes',
    'gt_abnormal_kinds': 'gt_abnormal_kinds',
    'gt_flag_boxes': 'gt_flag_boxes',
}


@DATASETS.register_module()
class MuraStudyDataset(MuraDataset):
    """MURA-v1.1 with one sample per study (paper §IV-E, Fig. 7).

    The files and CSVs are read, validated and filtered exactly as by
    :class:`MuraDataset` (same ``data_root`` layout, same errors naming the
    CSV row), then the views are grouped by study in CSV order. Each sample
    holds ``img_paths`` (the study's views), ``gt_label``, ``body_part``,
    ``patient_id``, ``study_id`` and ``num_study_views`` (how many views the
    study has on disk); ``view_indices``, ``csv_rows`` and, with
    ``ground_truth``, ``gt_abnormal_boxes`` / ``gt_abnormal_kinds`` /
    ``gt_flag_boxes`` are per-view lists.

    A model takes ``num_views`` views a study. :meth:`get_data_info` keeps a
    study with more views to ``num_views`` of them: a random subset, drawn
    again every time the study is read, in training; the first
    ``num_views`` in CSV order in test mode (deterministic). How many
    studies are cut is logged when the set is loaded. Studies with fewer
    views are filled later, by :class:`LoadStudyViews`, which repeats views
    with different random preprocessing and flags the repeats in
    ``view_mask``.

    Args:
        data_root (str): Folder containing ``MURA-v1.1/`` or that folder.
        num_views (int): Views a study is given to the model. Defaults to 6,
            the paper's.
        **kwargs: Arguments of :class:`MuraDataset` (``split``,
            ``body_parts``, ``skip_missing``, ``ground_truth``,
            ``pipeline``, ``test_mode``, ...).
    """

    def __init__(self, data_root: str, num_views: int = 6, **kwargs) -> None:
        if not isinstance(num_views, int) or num_views < 1:
            raise ValueError(f'num_views must be a positive int, got '
                             f'{num_views!r}')
        self.num_views = num_views
        self.num_cut_studies = 0
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split's CSVs and group the images into studies.

        Returns:
            list[dict]: One sample per study, in order of first appearance
            in the image CSV.
        """
        studies: Dict[str, dict] = {}
        for view in super().load_data_list():
            study = studies.get(view['study_id'])
            if study is None:
                study = {
                    k: v
                    for k, v in view.items() if k not in _PER_VIEW_KEYS
                }
                study.update({
                    name: []
                    for key, name in _PER_VIEW_KEYS.items() if key in view
                })
                studies[view['study_id']] = study
            for key, name in _PER_VIEW_KEYS.items():
                if key in view:
                    study[name].append(view[key])
        data_list = list(studies.values())
        for study in data_list:
            study['num_study_views'] = len(study['img_paths'])
        self.num_cut_studies = sum(
            s['num_study_views'] > self.num_views for s in data_list)
        if self.num_cut_studies:
            how = ('the first' if self.test_mode else 'a random subset of')
            print_log(
                f'MuraStudyDataset({self.split}): {self.num_cut_studies} of '
                f'{len(data_list)} studies have more than {self.num_views} '
                f'views; each is given {how} {self.num_views} views',
                logger='current')
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """A study sample with at most ``num_views`` views.

        Args:
            idx (int): Study index.

        Returns:
            dict: A copy of the study's sample; per-view lists are cut to
            ``num_views`` entries (random in training, the first ones in
            test mode).
        """
        info = super().get_data_info(idx)
        n = len(info['img_paths'])
        if n > self.num_views:
            if self.test_mode:
                keep = list(range(self.num_views))
            else:
                keep = sorted(
                    np.random.choice(n, self.num_views, replace=False))
            for name in _PER_VIEW_KEYS.values():
                if name in info:
                    info[name] = [info[name][int(i)] for i in keep]
        return info

    def extra_repr(self) -> List[str]:
        """Lines for ``repr``: the parent's, views a study and cut studies."""
        return super().extra_repr() + [
            f'Views per study: {self.num_views}',
            f'Studies with more views (cut): {self.num_cut_studies}',
        ]
