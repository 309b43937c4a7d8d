"""Bagged SVMs per body part on extracted features (paper §IV-C, Table II).

One SVM on all of MURA's features ran the paper's 128 GB workstation out
of memory, so each body part gets its own bag of 10 SVMs (polynomial
kernel of degree 5), each trained on a tenth of the part's samples, used
one-vs-rest. The bag trains its SVMs in parallel and its kernel matrices
are a hundredth of one SVM's.
"""
import math
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from sklearn.ensemble import BaggingClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

from ..evaluation.metrics.metric_utils import format_cell, render_table
from ..evaluation.metrics.mura_kappa import MuraKappa

#: Table II's columns: (header, key of a result row).
TABLE_COLUMNS = (('accuracy', 'accuracy'), ('kappa', 'kappa'),
                 ('train s', 'train_seconds'), ('train', 'num_train'),
                 ('test', 'num_test'), ('study kappa', 'study_kappa'))


def build_bagged_svm(num_samples: int,
                     n_estimators: int = 10,
                     sample_fraction: float = 0.1,
                     min_bag_size: int = 20,
                     kernel: str = 'poly',
                     degree: int = 5,
                     C: float = 1.0,
                     n_jobs: Optional[int] = None,
                     seed: int = 0) -> OneVsRestClassifier:
    """A one-vs-rest bag of SVMs, as in the paper.

    Each SVM sees ``sample_fraction`` of the ``num_samples`` training
    samples, drawn without replacement, but at least ``min_bag_size`` (all
    of them if fewer) so that tiny sets still give each SVM both classes.

    Args:
        num_samples (int): Training samples the bag will be fitted on.
        n_estimators (int): SVMs in the bag. Defaults to 10.
        sample_fraction (float): Share of the samples each SVM sees.
            Defaults to 0.1.
        min_bag_size (int): Smallest bag. Defaults to 20.
        kernel (str): SVC kernel. Defaults to ``'poly'``.
        degree (int): Polynomial degree. Defaults to 5.
        C (float): SVC regularisation. Defaults to 1.0.
        n_jobs (int, optional): SVMs trained in parallel (-1: all cores).
        seed (int): Seed of the bags' sampling.

    Returns:
        OneVsRestClassifier: The unfitted classifier.
    """
    if not 0 < sample_fraction <= 1:
        raise ValueError(
            f'sample_fraction must be in (0, 1], got {sample_fraction}')
    bag = min(num_samples,
              max(int(math.ceil(sample_fraction * num_samples)),
                  min_bag_size))
    svm = SVC(kernel=kernel, degree=degree, C=C, gamma='scale')
    bagging = BaggingClassifier(
        estimator=svm,
        n_estimators=n_estimators,
        max_samples=max(bag, 1),
        bootstrap=False,
        n_jobs=n_jobs,
        random_state=seed)
    return OneVsRestClassifier(bagging)


def group_by_body_part(body_parts: np.ndarray) -> Dict[str, np.ndarray]:
    """Indices of each body part, parts in sorted order."""
    body_parts = np.asarray(body_parts)
    return {
        str(part): np.flatnonzero(body_parts == part)
        for part in sorted(set(body_parts.tolist()))
    }


def positive_probability(clf: OneVsRestClassifier,
                         features: np.ndarray) -> np.ndarray:
    """Positive-class probability of each sample: the share of the bag's
    SVMs that vote positive."""
    proba = clf.predict_proba(features)
    return proba[:, list(clf.classes_).index(1)]


def fit_body_parts(train: Dict[str, np.ndarray],
                   test: Dict[str, np.ndarray],
                   body_parts: Optional[Sequence[str]] = None,
                   log: Callable[[str], None] = print,
                   **svm_kwargs) -> Dict:
    """Train and test one bagged SVM per body part.

    Args:
        train (dict): Training features as from
            :func:`~radplugins.apis.feature_extraction.extract_features`
            (``features``, ``labels``, ``study_ids``, ``body_parts``).
        test (dict): Test features, same keys.
        body_parts (Sequence[str], optional): Parts to run, in this order;
            defaults to every part present in ``train`` or ``test``.
        log (callable): Where messages (skipped parts) go.
        **svm_kwargs: Passed to :func:`build_bagged_svm`.

    Returns:
        dict: ``rows``: one dict per body part with ``body_part``,
        ``accuracy``, ``kappa``, ``train_seconds``, ``num_train``,
        ``num_test``, ``study_kappa``, ``num_test_studies``, plus an
        ``ALL`` row (test images of every part pooled, times and counts
        summed); ``skipped``: ``{part: reason}``; ``predictions``: per
        part ``pred`` and ``prob`` of the test images in ``test`` order.

    Raises:
        ValueError: If a body part's training images hold a single class
            (the message names the part and the class).
    """
    train_groups = group_by_body_part(train['body_parts'])
    test_groups = group_by_body_part(test['body_parts'])
    if body_parts is None:
        body_parts = sorted(set(train_groups) | set(test_groups))
    n_jobs = svm_kwargs.get('n_jobs')
    if n_jobs not in (None, 1):
        # Start the worker processes (and their imports) with a tiny bag
        # now, so that the first body part's training time does not
        # include their start-up.
        warm = np.tile(np.eye(2), (10, 1))
        build_bagged_svm(20, **svm_kwargs).fit(warm, warm[:, 1])
    empty = np.empty(0, dtype=np.int64)
    rows: List[dict] = []
    skipped: Dict[str, str] = {}
    predictions: Dict[str, Dict[str, np.ndarray]] = {}
    all_labels, all_preds, all_probs, all_studies = [], [], [], []
    for part in body_parts:
        train_idx = train_groups.get(part, empty)
        test_idx = test_groups.get(part, empty)
        if train_idx.size == 0 or test_idx.size == 0:
            reason = (f'{train_idx.size} training and {test_idx.size} test '
                      'images')
            skipped[part] = reason
            log(f'skipping body part {part}: {reason}')
            continue
        y_train = train['labels'][train_idx]
        classes = np.unique(y_train)
        if classes.size < 2:
            raise ValueError(
                f'body part {part}: all {y_train.size} training images are '
                f'of class {int(classes[0])}; an SVM needs both classes')
        clf = build_bagged_svm(train_idx.size, **svm_kwargs)
        start = time.perf_counter()
        try:
            clf.fit(train['features'][train_idx], y_train)
        except ValueError as err:
            raise ValueError(
                f'body part {part}: fitting the bagged SVM on '
                f'{train_idx.size} images failed ({err}); a bag drew a '
                'single class, give it more samples (min_bag_size)') from err
        seconds = time.perf_counter() - start

        x_test = test['features'][test_idx]
        y_test = test['labels'][test_idx]
        pred = clf.predict(x_test).astype(np.int64)
        prob = positive_probability(clf, x_test)
        image = MuraKappa.calculate(pred.astype(np.float64), y_test)
        studies = test['study_ids'][test_idx]
        _, study_prob, study_label = MuraKappa.aggregate_studies(
            studies, prob, y_test)
        study = MuraKappa.calculate(study_prob, study_label)
        rows.append(
            dict(
                body_part=part,
                accuracy=image['accuracy'],
                kappa=image['kappa'],
                train_seconds=seconds,
                num_train=int(train_idx.size),
                num_test=int(test_idx.size),
                study_kappa=study['kappa'],
                num_test_studies=int(study_label.size)))
        predictions[part] = dict(pred=pred, prob=prob)
        all_labels.append(y_test)
        all_preds.append(pred)
        all_probs.append(prob)
        all_studies.append(studies)
    if rows:
        labels = np.concatenate(all_labels)
        image = MuraKappa.calculate(
            np.concatenate(all_preds).astype(np.float64), labels)
        _, study_prob, study_label = MuraKappa.aggregate_studies(
            np.concatenate(all_studies), np.concatenate(all_probs), labels)
        study = MuraKappa.calculate(study_prob, study_label)
        rows.append(
            dict(
                body_part='ALL',
                accuracy=image['accuracy'],
                kappa=image['kappa'],
                train_seconds=sum(r['train_seconds'] for r in rows),
                num_train=sum(r['num_train'] for r in rows),
                num_test=sum(r['num_test'] for r in rows),
                study_kappa=study['kappa'],
                num_test_studies=int(study_label.size)))
    return dict(rows=rows, skipped=skipped, predictions=predictions)


def format_svm_table(rows: Sequence[dict]) -> str:
    """Table II as text: one line per body part, ``ALL`` last.

    Args:
        rows (Sequence[dict]): ``rows`` of :func:`fit_body_parts`.

    Returns:
        str: The table.
    """
    header = ['body part'] + [name for name, _ in TABLE_COLUMNS]
    lines = [header]
    for row in rows:
        cells = [row['body_part']]
        for _, key in TABLE_COLUMNS:
            value = row[key]
            if key == 'train_seconds':
                cells.append(f'{value:.2f}')
            else:
                cells.append(format_cell(key, value))
        lines.append(cells)
    return render_table(
        lines, 'Bagged SVMs on extracted features (paper Table II); '
        'study kappa: mean view probability per study')
