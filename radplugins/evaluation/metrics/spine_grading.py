"""SpineNet's grading metrics: average per-class accuracy per task."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.registry import METRICS
from sklearn.metrics import confusion_matrix, recall_score

from ...datasets.spine_tasks import SPINE_NUM_CLASSES, SPINE_TASKS
from .metric_utils import format_cell, ratio, render_table, to_numpy


def average_class_accuracy(gt: np.ndarray, pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``gt``; NaN when ``gt`` is
    empty.

    This is scikit-learn's ``balanced_accuracy_score``, computed as the
    macro recall over ``gt``'s classes so that a class only the predictions
    hold, or a single class, is not a warning: both are normal in a small
    validation split.
    """
    if len(gt) == 0:
        return float('nan')
    return float(
        recall_score(gt, pred, labels=np.unique(gt), average='macro'))


@METRICS.register_module()
class SpineGradingMetric(BaseMetric):
    """Per-task scores of :class:`SpineMultiTaskClassifier` predictions.

    Samples without a label for a task (-1) are left out of that task only.

    - ``spine/<task>/avg_class_acc``: average per-class accuracy (the
      paper's protocol; mean recall over the classes present);
    - ``spine/mean_avg_class_acc``: its mean over the tasks;
    - ``spine/pfirrmann/acc_pm1``: Pfirrmann predicted within one grade;
    - ``spine/narrowing/binary_avg_class_acc``: normal (0) vs narrowed
      (1-3) average per-class accuracy (Lootus et al.'s protocol);
    - ``spine/<task>/num``: labelled samples.

    Confusion matrices are written to the log.

    Args:
        tasks (Sequence[str]): Task names, in the model's order.
        num_classes (Sequence[int]): Classes per task.
        collect_device (str): As in BaseMetric.
        prefix (str, optional): Metric prefix; ``'spine'``.
    """

    default_prefix = 'spine'

    def __init__(self,
                 tasks: Sequence[str] = SPINE_TASKS,
                 num_classes: Sequence[int] = SPINE_NUM_CLASSES,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.tasks = tuple(tasks)
        self.num_classes = tuple(num_classes)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            scores = sample['task_scores']
            self.results.append(
                dict(
                    labels=to_numpy(sample['task_labels']).astype(np.int64),
                    preds=np.array([
                        int(to_numpy(scores[t]).argmax()) for t in self.tasks
                    ])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        labels = np.stack([r['labels'] for r in results])
        preds = np.stack([r['preds'] for r in results])
        metrics = self.calculate(labels, preds, self.tasks, self.num_classes)
        rows = [['task', 'num', 'avg_class_acc']]
        for t, task in enumerate(self.tasks):
            rows.append([
                task,
                format_cell('num_', metrics[f'{task}/num']),
                format_cell('', metrics[f'{task}/avg_class_acc'])
            ])
            valid = labels[:, t] >= 0
            cm = confusion_matrix(
                labels[valid, t], preds[valid, t],
                labels=np.arange(self.num_classes[t]))
            print_log(
                f'confusion {task} (rows: truth, columns: prediction):\n'
                f'{cm}',
                logger='current')
        rows.append(
            ['mean', '', format_cell('', metrics['mean_avg_class_acc'])])
        print_log(
            render_table(rows, 'SpineNet grading (average per-class '
                         'accuracy)'),
            logger='current')
        return metrics

    @staticmethod
    def calculate(labels: np.ndarray, preds: np.ndarray,
                  tasks: Sequence[str] = SPINE_TASKS,
                  num_classes: Sequence[int] = SPINE_NUM_CLASSES
                  ) -> Dict[str, float]:
        """Scores from ``(N, T)`` labels (-1 = missing) and predictions."""
        labels, preds = np.asarray(labels), np.asarray(preds)
        if labels.shape != preds.shape or labels.shape[1:] != (len(tasks), ):
            raise ValueError(f'labels {labels.shape} and predictions '
                             f'{preds.shape} must both be (N, {len(tasks)})')
        metrics = {}
        accs = []
        for t, (task, k) in enumerate(zip(tasks, num_classes)):
            valid = labels[:, t] >= 0
            gt, pr = labels[valid, t], preds[valid, t]
            if ((pr < 0) | (pr >= k)).any():
                raise ValueError(f'{task}: predictions outside 0..{k - 1}')
            acc = average_class_accuracy(gt, pr)
            metrics[f'{task}/avg_class_acc'] = acc
            metrics[f'{task}/num'] = float(valid.sum())
            accs.append(acc)
            if task == 'pfirrmann':
                metrics['pfirrmann/acc_pm1'] = ratio(
                    (np.abs(gt - pr) <= 1).sum(), gt.size)
            if task == 'narrowing':
                metrics['narrowing/binary_avg_class_acc'] = \
                    average_class_accuracy(
                        (gt > 0).astype(np.int64), (pr > 0).astype(np.int64))
        finite = [a for a in accs if not np.isnan(a)]
        metrics['mean_avg_class_acc'] = float(
            np.mean(finite)) if finite else float('nan')
        return metrics
