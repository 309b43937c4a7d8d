"""MURA's evaluation: Cohen's kappa and friends, per image and per study."""
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.registry import METRICS
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score, confusion_matrix, roc_auc_score

from .metric_utils import format_cell, ratio, render_table, to_numpy

_LEVELS = ('image', 'study')
_SCORES = ('kappa', 'accuracy', 'sensitivity', 'specificity', 'auroc')


@METRICS.register_module()
class MuraKappa(BaseMetric):
    """Cohen's kappa, accuracy, sensitivity, specificity and AUROC for MURA.

    MURA labels studies, not images, so every score is reported at two
    levels:

    - **image**: each view is a sample, with its study's label;
    - **study**: the study's probability of being abnormal is the mean of
      its views' positive probabilities, and the study is predicted
      abnormal when that mean is *strictly greater than* ``threshold``
      (0.5). This follows the MURA paper (Rajpurkar et al., 2017, sec. 3:
      "abnormal if the probability of abnormality for the study is greater
      than 0.5") rather than ``>=``. The same strict rule applies to
      images, so a probability of exactly 0.5 counts as normal at both
      levels.

    Both levels are scored overall and per body part. Aggregation happens in
    :meth:`compute_metrics`, after MMEngine has gathered every rank's
    results, so it is exact when one study's views were evaluated on
    different ranks.

    Each data sample must carry ``pred_score`` (2 class probabilities),
    ``gt_label`` and the metainfo ``study_id`` and ``body_part`` (pass them
    through ``PackInputs(meta_keys=...)``; :class:`MuraDataset` provides
    them).

    Returned keys (with the ``mura/`` prefix): ``{level}/{score}`` for
    ``score`` in kappa, accuracy, sensitivity, specificity, auroc, plus
    ``image/num_images`` and ``study/num_studies`` (floats, because
    MMEngine's JSON log drops integer scalars). Undefined values (AUROC with
    one class present, kappa when chance agreement is 1) are NaN.

    The per-body-part figures go to the table that :meth:`compute_metrics`
    logs (one row per body part and ``ALL``). MMEngine writes every
    returned key into the one validation line of the console and into the
    scalars of the ``vis_backends`` (``vis_data/scalars.json``,
    TensorBoard), and per body part that is some 80 keys, so they are
    returned only with ``per_group_keys=True``: then
    ``{level}/{BODY_PART}/{score}`` and the per-part counts are returned
    too, and reach the scalars and the console line alike. The overall
    keys (``save_best='mura/study/kappa'``, ``'mura/image/auroc'``) are
    returned either way.

    Args:
        threshold (float): Positive-probability threshold. Defaults to 0.5.
        levels (Sequence[str]): Any of ``'image'``, ``'study'``.
        per_body_part (bool): Score each body part (for the table, and
            for the keys with ``per_group_keys``). Defaults to True.
        per_group_keys (bool): Also return the per-body-part figures as
            metric keys, so they reach the JSON/TensorBoard scalars (and
            the console line). Defaults to False: the table only.
        collect_device (str): ``'cpu'`` or ``'gpu'`` for gathering results.
        prefix (str, optional): Key prefix. Defaults to ``'mura'``.
    """

    default_prefix: Optional[str] = 'mura'

    def __init__(self,
                 threshold: float = 0.5,
                 levels: Sequence[str] = _LEVELS,
                 per_body_part: bool = True,
                 per_group_keys: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f'threshold must be in [0, 1], got {threshold}')
        unknown = [lv for lv in levels if lv not in _LEVELS]
        if unknown or not levels:
            raise ValueError(f'levels must be a non-empty subset of '
                             f'{_LEVELS}, got {tuple(levels)!r}')
        self.threshold = threshold
        self.levels = tuple(levels)
        self.per_body_part = per_body_part
        self.per_group_keys = per_group_keys

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's positive probability, label, study and part.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Outputs of the model as dicts.
        """
        for sample in data_samples:
            name = sample.get('img_path', sample.get('study_id', '?'))
            for key in ('study_id', 'body_part'):
                if key not in sample:
                    raise KeyError(
                        f'MuraKappa needs {key!r} in every data sample; add '
                        f'it to PackInputs(meta_keys=...) in the pipeline '
                        f'(sample: {name})')
            for key in ('pred_score', 'gt_label'):
                if key not in sample:
                    raise KeyError(f'MuraKappa needs {key!r} in every data '
                                   f'sample, missing in {name}')
            score = to_numpy(sample['pred_score']).astype(np.float64)
            if score.shape != (2, ):
                raise ValueError(
                    f'MuraKappa expects 2 class scores (negative, positive) '
                    f'per sample, got shape {tuple(score.shape)} for {name}')
            label = to_numpy(sample['gt_label']).reshape(-1)
            if label.size != 1:
                raise ValueError(
                    f'MuraKappa expects one gt_label per sample, got '
                    f'{label.tolist()} for {name}')
            # Plain Python values keep the gathered results small and
            # picklable; tensors would drag device memory into the gather.
            self.results.append(
                dict(
                    prob=float(score[1]),
                    label=int(label[0]),
                    study_id=str(sample['study_id']),
                    body_part=str(sample['body_part'])))

    @staticmethod
    def calculate(probs: np.ndarray,
                  labels: np.ndarray,
                  threshold: float = 0.5) -> Dict[str, float]:
        """Binary scores from positive probabilities and 0/1 labels.

        Args:
            probs (np.ndarray): Positive-class probabilities, shape (N,).
            labels (np.ndarray): Ground truth in {0, 1}, shape (N,).
            threshold (float): Predicted positive iff ``prob > threshold``.

        Returns:
            dict: ``kappa`` (eq. (4): (p_o - p_e) / (1 - p_e), scikit-learn's
            ``cohen_kappa_score``), ``accuracy``, ``sensitivity`` (recall of
            positives), ``specificity`` (recall of negatives) and ``auroc``
            (scikit-learn's ``roc_auc_score``: a tied positive-negative pair
            counts 1/2). Undefined values are NaN: every score of an empty
            set, kappa when labels and predictions are all one class, AUROC
            and the recall of the missing class when one class is absent.
        """
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels).reshape(-1).astype(np.int64)
        if probs.shape != labels.shape:
            raise ValueError(f'{probs.size} probabilities but {labels.size} '
                             'labels')
        bad = np.setdiff1d(np.unique(labels), [0, 1])
        if bad.size:
            raise ValueError(f'labels must be 0 or 1, got {bad.tolist()}')
        if labels.size == 0:
            return {k: float('nan') for k in _SCORES}
        preds = (probs > threshold).astype(np.int64)
        (tn, fp), (fn, tp) = confusion_matrix(labels, preds, labels=[0, 1])
        n_pos, n_neg = tp + fn, tn + fp
        with warnings.catch_warnings():
            # Kappa is undefined when labels and predictions are all one
            # class (chance agreement 1); the documented value is NaN, not
            # a warning per evaluation.
            warnings.simplefilter('ignore', UndefinedMetricWarning)
            kappa = cohen_kappa_score(
                labels, preds, labels=[0, 1], replace_undefined_by=np.nan)
        # Ties between a positive and a negative count 1/2 (sklearn's
        # trapezoidal ROC). One class alone: undefined, NaN.
        auroc = roc_auc_score(labels, probs) if n_pos and n_neg else np.nan
        return dict(
            kappa=float(kappa),
            accuracy=ratio(tp + tn, labels.size),
            sensitivity=ratio(tp, n_pos),
            specificity=ratio(tn, n_neg),
            auroc=float(auroc))

    @staticmethod
    def aggregate_studies(
        study_ids: Sequence[str], probs: Sequence[float],
        labels: Sequence[int]
    ) -> Tuple[List[str], np.ndarray, np.ndarray]:
        """Average view probabilities per study.

        Args:
            study_ids (Sequence[str]): Study of each view.
            probs (Sequence[float]): Positive probability of each view.
            labels (Sequence[int]): Label of each view.

        Returns:
            tuple: ``(ids, mean_probs, labels)`` with one entry per study in
            order of first appearance.

        Raises:
            ValueError: If the views of a study disagree on the label.
        """
        sums: 'OrderedDict[str, List[float]]' = OrderedDict()
        study_label: Dict[str, int] = {}
        for sid, prob, label in zip(study_ids, probs, labels):
            label = int(label)
            if sid in study_label and study_label[sid] != label:
                raise ValueError(
                    f'views of study {sid!r} disagree on the label: '
                    f'{study_label[sid]} and {label}')
            study_label[sid] = label
            entry = sums.setdefault(sid, [0.0, 0])
            entry[0] += float(prob)
            entry[1] += 1
        ids = list(sums)
        mean = np.array([sums[s][0] / sums[s][1] for s in ids])
        return ids, mean, np.array([study_label[s] for s in ids],
                                   dtype=np.int64)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute every level, overall and per body part, and log a table.

        Args:
            results (list[dict]): Gathered outputs of :meth:`process`.

        Returns:
            dict: The flat metric dict described in the class docstring:
            the overall keys, and the per-body-part ones with
            ``per_group_keys``.

        Raises:
            ValueError: If the views of a study disagree on the label or on
                the body part.
        """
        probs = np.array([r['prob'] for r in results], dtype=np.float64)
        labels = np.array([r['label'] for r in results], dtype=np.int64)
        studies = [r['study_id'] for r in results]
        part_list = [r['body_part'] for r in results]
        parts = np.array(part_list)
        # A study id reused across body parts would silently merge two
        # studies in the overall study-level numbers, so refuse it.
        part_of: Dict[str, str] = {}
        for sid, part in zip(studies, part_list):
            if part_of.setdefault(sid, part) != part:
                raise ValueError(
                    f'views of study {sid!r} disagree on the body part: '
                    f'{part_of[sid]!r} and {part!r}')

        groups = [('', np.ones(len(results), dtype=bool))]
        if self.per_body_part:
            groups += [(f'{p}/', parts == p) for p in sorted(set(parts))]

        metrics: Dict[str, float] = {}
        for name, mask in groups:
            if 'image' in self.levels:
                scores = self.calculate(probs[mask], labels[mask],
                                        self.threshold)
                for key, value in scores.items():
                    metrics[f'image/{name}{key}'] = value
                metrics[f'image/{name}num_images'] = float(mask.sum())
            if 'study' in self.levels:
                ids, s_probs, s_labels = self.aggregate_studies(
                    [studies[i] for i in np.flatnonzero(mask)], probs[mask],
                    labels[mask])
                scores = self.calculate(s_probs, s_labels, self.threshold)
                for key, value in scores.items():
                    metrics[f'study/{name}{key}'] = value
                metrics[f'study/{name}num_studies'] = float(len(ids))

        print_log('\n' + self.format_table(metrics), logger='current')
        if self.per_group_keys:
            return metrics
        # An overall key is '{level}/{score}'; a body part adds a field.
        return {k: v for k, v in metrics.items() if k.count('/') == 1}

    @staticmethod
    def format_table(metrics: Dict[str, float]) -> str:
        """Render per-body-part rows and an overall row as text.

        Args:
            metrics (dict): Output of :meth:`compute_metrics` or of
                :meth:`evaluate`, with or without a key prefix.

        Returns:
            str: A fixed-width table, one row per body part plus ``ALL``.
        """
        # Drop whatever prefix the evaluator added ('mura/', 'val/mura/',
        # a user's own) by cutting each key at its level name.
        flat: Dict[str, float] = {}
        for key, value in metrics.items():
            fields = key.split('/')
            starts = [i for i, f in enumerate(fields) if f in _LEVELS]
            if starts:
                flat['/'.join(fields[starts[0]:])] = value
        parts = sorted({
            k.split('/')[1]
            for k in flat if k.count('/') == 2
        })
        # Without studies (levels=('image', ), e.g. FracAtlas, where each
        # image is its own study) the image level fills the columns.
        level = 'study' if 'study/num_studies' in flat else 'image'
        columns = [('studies', 'study/{}num_studies'),
                   ('images', 'image/{}num_images'),
                   ('kappa', level + '/{}kappa'),
                   ('acc', level + '/{}accuracy'),
                   ('sens', level + '/{}sensitivity'),
                   ('spec', level + '/{}specificity'),
                   ('auroc', level + '/{}auroc')]
        if level == 'study':
            columns.append(('img kappa', 'image/{}kappa'))
        else:
            columns = columns[1:]

        def cell(key: str) -> str:
            return format_cell(key, flat.get(key))

        rows = [['body part'] + [c[0] for c in columns]]
        for part in parts + ['ALL']:
            prefix = '' if part == 'ALL' else f'{part}/'
            rows.append([part] + [cell(c[1].format(prefix))
                                  for c in columns])
        title = ('MURA scores (study level unless marked img):'
                 if level == 'study' else 'Scores (image level):')
        return render_table(rows, title)
