"""SpineGradingMetric vs scikit-learn and by hand; hotspot localisation by
hand."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import METRICS
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from radplugins.evaluation.metrics.spine_hotspot_localization import \
    hotspot_scores


def test_average_class_accuracy_matches_sklearn_with_missing_labels():
    rng = np.random.default_rng(0)
    n = 200
    k = (5, 4, 2, 2, 2, 2)
    labels = np.stack([rng.integers(0, c, n) for c in k], 1)
    preds = np.where(
        rng.random((n, 6)) < 0.6, labels,
        np.stack([rng.integers(0, c, n) for c in k], 1))
    labels[rng.random((n, 6)) < 0.1] = -1
    metric = METRICS.build(dict(type='SpineGradingMetric'))
    results = []
    for i in range(n):
        scores = {
            t: torch.nn.functional.one_hot(
                torch.tensor(int(preds[i, j])), c).float()
            for j, (t, c) in enumerate(zip(metric.tasks, k))
        }
        results.append(dict(task_scores=scores, task_labels=labels[i]))
    metric.process(None, results)
    got = metric.evaluate(n)
    means = []
    for j, task in enumerate(metric.tasks):
        valid = labels[:, j] >= 0
        ref = balanced_accuracy_score(labels[valid, j], preds[valid, j])
        assert abs(got[f'spine/{task}/avg_class_acc'] - ref) < 1e-12
        means.append(ref)
    assert abs(got['spine/mean_avg_class_acc'] - np.mean(means)) < 1e-12
    valid = labels[:, 0] >= 0
    assert got['spine/pfirrmann/acc_pm1'] == np.mean(
        np.abs(labels[valid, 0] - preds[valid, 0]) <= 1)
    valid = labels[:, 1] >= 0
    assert abs(got['spine/narrowing/binary_avg_class_acc'] -
               balanced_accuracy_score(labels[valid, 1] > 0,
                                       preds[valid, 1] > 0)) < 1e-12


def test_average_class_accuracy_by_hand():
    from radplugins.evaluation.metrics import SpineGradingMetric
    # Recalls: class 0 1/2, class 1 1/1, class 2 0/1; class 3 is only
    # predicted, so it has no recall and is left out: (1/2 + 1 + 0) / 3.
    # The -1 row is a missing label, left out of the task.
    labels = np.array([[0], [0], [1], [2], [-1]])
    preds = np.array([[0], [1], [1], [3], [2]])
    got = SpineGradingMetric.calculate(labels, preds, ('grade', ), (4, ))
    assert got['grade/avg_class_acc'] == pytest.approx(0.5)
    assert got['grade/num'] == 4
    assert got['mean_avg_class_acc'] == pytest.approx(0.5)
    # No label at all: undefined, and left out of the mean.
    got = SpineGradingMetric.calculate(
        np.array([[-1, 1]]), np.array([[0, 1]]), ('a', 'b'), (2, 2))
    assert np.isnan(got['a/avg_class_acc']) and got['a/num'] == 0
    assert got['mean_avg_class_acc'] == 1.0
    with pytest.raises(ValueError, match=r'b: predictions outside 0..1'):
        SpineGradingMetric.calculate(
            np.array([[0, 1]]), np.array([[0, 2]]), ('a', 'b'), (2, 2))


def test_pointing_and_mass_by_hand():
    hotspot = np.zeros((2, 4, 4))
    hotspot[1, 2, 2] = 3.0
    hotspot[0, 0, 0] = 1.0
    mask = np.zeros((2, 4, 4), bool)
    mask[1, 2:, 2:] = True
    assert hotspot_scores(hotspot, mask) == dict(
        pointing=1.0, distance=0.0, mass=0.75)
    mask2 = np.zeros((2, 4, 4), bool)
    mask2[1, 0, 0] = True
    # The maximum (1, 2, 2) is 2 rows and 2 columns from (1, 0, 0).
    assert hotspot_scores(hotspot, mask2)['pointing'] == 0.0
    assert hotspot_scores(hotspot, mask2)['distance'] == 2.0
    assert hotspot_scores(hotspot, mask2, tolerance=1)['pointing'] == 0.0
    assert hotspot_scores(hotspot, mask2, tolerance=2)['pointing'] == 1.0
    # The nearest of two lesion pixels, rows and columns measured apart:
    # (1, 3, 0) is 1 row and 2 columns off, so 2; (1, 0, 3) is 2 and 1.
    mask2[1, 0, 0] = False
    mask2[1, 3, 0] = mask2[1, 0, 3] = True
    assert hotspot_scores(hotspot, mask2)['distance'] == 2.0
    # No lesion on the maximum's slice: no in-plane distance.
    mask3 = np.zeros((2, 4, 4), bool)
    mask3[0, 3, 3] = True
    scores = hotspot_scores(hotspot, mask3, tolerance=5)
    assert scores['pointing'] == 0.0 and scores['distance'] == float('inf')


def test_hotspot_metric_breaks_the_misses_down_by_hand():
    from radplugins.evaluation.metrics import SpineHotspotLocalization
    metric = SpineHotspotLocalization()
    tasks = ('upper_endplate', )
    masks = np.zeros((4, 2, 8, 8), bool)  # LESION_TASKS order
    masks[0, 1, 0, 0] = True  # upper endplate lesion at (1, 0, 0)
    samples = []
    for where in [(1, 0, 0), (1, 3, 1), (1, 1, 7), (1, 6, 6), (0, 0, 0)]:
        hotspots = np.zeros((1, 2, 8, 8), np.float32)
        hotspots[(0, ) + where] = 1.0
        samples.append(dict(hotspots=hotspots, hotspot_tasks=tasks,
                            gt_masks=masks))
    metric.process(None, samples)
    got = metric.compute_metrics(metric.results)
    # One hit; misses at distances 3, 7, 6 on the lesion's slice and one
    # on the other slice: median 6, a quarter off the slice.
    assert got['upper_endplate/num'] == 5
    assert got['upper_endplate/pointing'] == 0.2
    assert got['upper_endplate/num_misses'] == 4
    assert got['upper_endplate/miss_distance'] == 6.0
    assert got['upper_endplate/miss_off_slice'] == 0.25
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match='tolerance'):
            SpineHotspotLocalization(tolerance=bad)
    # Without the grader's scores there is nothing to split by.
    assert 'upper_endplate/num_detected' not in got
    incomplete = dict(samples[0], img_path='disc_7.npy')
    del incomplete['hotspot_tasks']
    with pytest.raises(KeyError, match=r"disc_7.npy.*'hotspot_tasks'"):
        metric.process(None, [incomplete])


def test_hotspot_metric_splits_pointing_by_what_the_grader_said():
    from radplugins.evaluation.metrics import SpineHotspotLocalization
    metric = SpineHotspotLocalization()
    tasks = ('upper_endplate', 'lower_marrow')
    masks = np.zeros((4, 2, 8, 8), bool)  # LESION_TASKS order
    masks[0, 1, 0, 0] = True  # upper endplate lesion at (1, 0, 0)
    masks[3, 0, 5, 5] = True  # lower marrow lesion at (0, 5, 5)
    samples = []
    # (upper endplate maximum, upper endplate scores): called abnormal
    # three times (two hits), normal twice (one hit).
    cases = [((1, 0, 0), [0.2, 0.8]), ((1, 0, 0), [0.4, 0.6]),
             ((1, 4, 4), [0.1, 0.9]), ((1, 0, 0), [0.7, 0.3]),
             ((0, 7, 7), [0.9, 0.1])]
    for where, upper in cases:
        hotspots = np.zeros((2, 2, 8, 8), np.float32)
        hotspots[(0, ) + where] = 1.0
        hotspots[1, 0, 5, 5] = 1.0  # every lower marrow map hits
        samples.append(
            dict(hotspots=hotspots, hotspot_tasks=tasks, gt_masks=masks,
                 task_scores=dict(upper_endplate=np.array(upper),
                                  lower_marrow=np.array([0.6, 0.4]))))
    metric.process(None, samples)
    got = metric.compute_metrics(metric.results)
    assert got['upper_endplate/pointing'] == 0.6
    assert got['upper_endplate/num_detected'] == 3
    assert got['upper_endplate/pointing_detected'] == pytest.approx(2 / 3)
    assert got['upper_endplate/num_undetected'] == 2
    assert got['upper_endplate/pointing_undetected'] == 0.5
    # The grader calls every lower marrow lesion normal: no detected group.
    assert got['lower_marrow/num_detected'] == 0
    assert 'lower_marrow/pointing_detected' not in got
    assert got['lower_marrow/pointing_undetected'] == 1.0
