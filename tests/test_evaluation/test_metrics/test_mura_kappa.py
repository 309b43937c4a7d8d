import math
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample
from sklearn.metrics import (accuracy_score, cohen_kappa_score, recall_score,
                             roc_auc_score)

from radplugins.evaluation import MuraKappa


def sklearn_scores(probs, labels, threshold=0.5):
    """The independent reference for MuraKappa.calculate."""
    preds = (np.asarray(probs) > threshold).astype(int)
    return dict(
        kappa=cohen_kappa_score(labels, preds),
        accuracy=accuracy_score(labels, preds),
        sensitivity=recall_score(labels, preds, pos_label=1),
        specificity=recall_score(labels, preds, pos_label=0),
        auroc=roc_auc_score(labels, probs))


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_calculate_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = 200
    labels = rng.integers(0, 2, n)
    # Rounded probabilities create many ties for the AUROC.
    probs = np.clip(labels * 0.3 + rng.random(n) * 0.7, 0, 1).round(1)
    ours = MuraKappa.calculate(probs, labels)
    ref = sklearn_scores(probs, labels)
    for key, value in ref.items():
        assert ours[key] == pytest.approx(value, abs=1e-12), key


def test_calculate_hand_computed_case():
    # 2x2 table: TP=3, FN=1, FP=1, TN=5 -> p_o = 0.8,
    # p_e = (4*4 + 6*6) / 100 = 0.52, kappa = 0.28 / 0.48.
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    probs = np.array([.9, .8, .7, .2, .6, .1, .1, .3, .4, .5])
    out = MuraKappa.calculate(probs, labels)
    assert out['kappa'] == pytest.approx(0.28 / 0.48)
    assert out['accuracy'] == pytest.approx(0.8)
    assert out['sensitivity'] == pytest.approx(0.75)
    assert out['specificity'] == pytest.approx(5 / 6)
    # Pairs (pos, neg) with pos > neg: .9,.8,.7 beat all 6; .2 beats .1,.1.
    assert out['auroc'] == pytest.approx((18 + 2) / 24)


def test_tied_positive_and_negative_count_half_by_hand():
    # Pairs (pos, neg): (.6, .6) tie = 1/2, (.6, .1), (.9, .6), (.9, .1)
    # = 1 each -> AUROC 3.5 / 4. Predictions (> 0.5) 1, 1, 1, 0: TP=2,
    # FP=1, TN=1, FN=0 -> p_o = 3/4, p_e = (3*2 + 1*2) / 16 = 1/2,
    # kappa = (3/4 - 1/2) / (1 - 1/2) = 1/2.
    out = MuraKappa.calculate(
        np.array([.6, .6, .9, .1]), np.array([1, 0, 1, 0]))
    assert out['auroc'] == pytest.approx(3.5 / 4)
    assert out['kappa'] == pytest.approx(0.5)
    assert out['sensitivity'] == 1.0 and out['specificity'] == 0.5


def test_exactly_half_counts_as_negative():
    out = MuraKappa.calculate(np.array([0.5, 0.51]), np.array([0, 1]))
    assert out['accuracy'] == 1.0


def test_undefined_values_are_nan_without_errors():
    with warnings.catch_warnings():
        # Undefined scores must be quiet NaNs, not numpy/sklearn warnings.
        warnings.simplefilter('error')
        out = MuraKappa.calculate(np.array([0.9, 0.8]), np.array([1, 1]))
        empty = MuraKappa.calculate(np.array([]), np.array([]))
        # One class in the labels but both predicted: p_e < 1, kappa = 0.
        mixed = MuraKappa.calculate(np.array([0.9, 0.1]), np.array([0, 0]))
    assert math.isnan(out['auroc'])
    assert math.isnan(out['specificity'])
    assert math.isnan(out['kappa'])  # p_e == 1
    assert out['accuracy'] == 1.0
    assert all(math.isnan(v) for v in empty.values())
    assert mixed['kappa'] == pytest.approx(
        cohen_kappa_score([0, 0], [1, 0]))
    assert math.isnan(mixed['auroc']) and math.isnan(mixed['sensitivity'])
    with pytest.raises(ValueError, match=r'labels must be 0 or 1, got \[2\]'):
        MuraKappa.calculate(np.array([0.1]), np.array([2]))


def test_aggregate_studies_means_views_in_first_appearance_order():
    ids, probs, labels = MuraKappa.aggregate_studies(
        ['b', 'a', 'b', 'b', 'c'], [0.2, 0.9, 0.5, 0.8, 0.4], [1, 0, 1, 1, 0])
    assert ids == ['b', 'a', 'c']
    np.testing.assert_allclose(probs, [0.5, 0.9, 0.4])
    np.testing.assert_array_equal(labels, [1, 0, 0])
    with pytest.raises(ValueError, match="study 'x' disagree.*0 and 1"):
        MuraKappa.aggregate_studies(['x', 'x'], [0.1, 0.2], [0, 1])


def sample_dict(score, label, **meta):
    sample = DataSample().set_pred_score(torch.tensor(score)).set_gt_label(
        label)
    sample.set_metainfo(meta)
    return sample.to_dict()


def make_samples(seed=0, n_studies=30):
    """Views of studies in two body parts, as DataSample dicts."""
    rng = np.random.default_rng(seed)
    samples = []
    for s in range(n_studies):
        label = int(rng.integers(0, 2))
        part = 'XR_WRIST' if s % 3 else 'XR_HAND'
        for _ in range(int(rng.integers(1, 5))):
            p = float(np.clip(0.35 * label + rng.random() * 0.65, 0, 1))
            samples.append(
                sample_dict([1 - p, p], label, study_id=f'study{s}',
                            body_part=part))
    return samples


def reference_study_level(samples, part=None):
    """Group views by study independently of MuraKappa."""
    groups = {}
    for s in samples:
        if part is None or s['body_part'] == part:
            groups.setdefault(s['study_id'], []).append(
                (float(s['pred_score'][1]), int(s['gt_label'][0])))
    probs = np.array([np.mean([p for p, _ in v]) for v in groups.values()])
    labels = np.array([v[0][1] for v in groups.values()])
    return probs, labels


def evaluate(samples, **kwargs):
    """Evaluate with the per-body-part keys returned (unless told not to)."""
    kwargs.setdefault('per_group_keys', True)
    metric = METRICS.build(dict(type='MuraKappa', **kwargs))
    metric.process({}, samples)
    return metric.evaluate(len(samples))


OVERALL_KEYS = {
    f'mura/{level}/{key}'
    for level in ('image', 'study')
    for key in ('kappa', 'accuracy', 'sensitivity', 'specificity', 'auroc')
} | {'mura/image/num_images', 'mura/study/num_studies'}


def test_per_body_part_figures_go_to_the_table_not_the_keys(monkeypatch):
    """By default only the overall keys are returned (the console line and
    save_best need no more); every body part is a row of the logged
    table, the same table as with the keys returned."""
    import radplugins.evaluation.metrics.mura_kappa as module
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, logger=None: logged.append(msg))
    samples = make_samples()
    metric = MuraKappa()
    metric.process({}, samples)
    out = metric.evaluate(len(samples))
    assert set(out) == OVERALL_KEYS
    full = evaluate(samples)
    assert {k: full[k] for k in OVERALL_KEYS} == out
    assert len(full) == 3 * len(OVERALL_KEYS)  # overall, XR_HAND, XR_WRIST
    assert logged[0].strip() == MuraKappa.format_table(full)
    assert len(logged) == 2 and logged[0] == logged[1]
    hand = [line for line in logged[0].splitlines()
            if line.startswith('XR_HAND')][0]
    assert hand.split()[1] == str(int(full['mura/study/XR_HAND/num_studies']))


def test_study_and_image_levels_per_body_part_vs_sklearn():
    samples = make_samples()
    out = evaluate(samples)
    for part in (None, 'XR_WRIST', 'XR_HAND'):
        name = '' if part is None else f'{part}/'
        probs, labels = reference_study_level(samples, part)
        ref = sklearn_scores(probs, labels)
        for key, value in ref.items():
            assert out[f'mura/study/{name}{key}'] == pytest.approx(value), (
                part, key)
        assert out[f'mura/study/{name}num_studies'] == len(labels)
        views = [s for s in samples if part is None or s['body_part'] == part]
        ref = sklearn_scores([float(s['pred_score'][1]) for s in views],
                             [int(s['gt_label'][0]) for s in views])
        for key, value in ref.items():
            assert out[f'mura/image/{name}{key}'] == pytest.approx(value)
        assert out[f'mura/image/{name}num_images'] == len(views)


def test_study_mean_of_exactly_half_is_normal():
    # Views 0.25 and 0.75 average to exactly 0.5: MURA's "greater than 0.5"
    # makes the study normal, although each view is on its own side.
    samples = [
        sample_dict([0.75, 0.25], 1, study_id='s1', body_part='XR_HAND'),
        sample_dict([0.25, 0.75], 1, study_id='s1', body_part='XR_HAND'),
        sample_dict([0.1, 0.9], 1, study_id='s2', body_part='XR_HAND'),
        sample_dict([0.8, 0.2], 0, study_id='s3', body_part='XR_HAND'),
    ]
    out = evaluate(samples)
    assert out['mura/study/num_studies'] == 3
    assert out['mura/study/sensitivity'] == 0.5  # s1 missed
    assert out['mura/image/sensitivity'] == pytest.approx(2 / 3)
    assert out['mura/study/XR_HAND/accuracy'] == pytest.approx(2 / 3)


def test_study_ids_must_not_span_body_parts():
    samples = [
        sample_dict([0.2, 0.8], 1, study_id='s', body_part='XR_HAND'),
        sample_dict([0.2, 0.8], 1, study_id='s', body_part='XR_WRIST'),
    ]
    with pytest.raises(ValueError,
                       match="study 's'.*'XR_HAND' and 'XR_WRIST'"):
        evaluate(samples)


def test_disagreeing_labels_through_the_metric():
    samples = [
        sample_dict([0.2, 0.8], 1, study_id='s7', body_part='XR_HAND'),
        sample_dict([0.2, 0.8], 0, study_id='s7', body_part='XR_HAND'),
    ]
    with pytest.raises(ValueError, match="study 's7' disagree.*1 and 0"):
        evaluate(samples)


def test_options_levels_and_threshold():
    samples = make_samples(1)
    out = evaluate(samples, levels=('study', ), per_body_part=False,
                   threshold=0.7)
    assert not any(k.startswith('mura/image') for k in out)
    assert not any('XR_' in k for k in out)
    probs, labels = reference_study_level(samples)
    assert out['mura/study/kappa'] == pytest.approx(
        sklearn_scores(probs, labels, 0.7)['kappa'])
    with pytest.raises(ValueError, match="'pixel'"):
        MuraKappa(levels=('pixel', ))


def test_missing_meta_key_and_wrong_score_shape():
    sample = sample_dict([0.3, 0.7], 1, study_id='s')
    with pytest.raises(KeyError, match="'body_part'.*meta_keys"):
        MuraKappa().process({}, [sample])
    sample = sample_dict([0.2, 0.3, 0.5], 1, study_id='s',
                         body_part='XR_HAND')
    with pytest.raises(ValueError, match=r'shape \(3,\)'):
        MuraKappa().process({}, [sample])
    sample = sample_dict([0.3, 0.7], [0, 1], study_id='s',
                         body_part='XR_HAND')
    with pytest.raises(ValueError, match=r'one gt_label.*\[0, 1\]'):
        MuraKappa().process({}, [sample])


def test_table_lists_every_body_part():
    out = evaluate(make_samples())
    table = MuraKappa.format_table(out)
    lines = table.splitlines()
    assert any(line.startswith('XR_HAND') for line in lines)
    assert any(line.startswith('XR_WRIST') for line in lines)
    overall = [line for line in lines if line.startswith('ALL')][0]
    assert f'{out["mura/study/kappa"]:.3f}' in overall
    assert overall.split()[1] == str(int(out['mura/study/num_studies']))
    # Any evaluator prefix (here the runner's 'val/') gives the same table.
    assert MuraKappa.format_table({f'val/{k}': v
                                   for k, v in out.items()}) == table


def test_image_only_table_and_keys():
    out = evaluate(make_samples(), levels=('image', ))
    assert not any(k.startswith('mura/study') for k in out)
    lines = MuraKappa.format_table(out).splitlines()
    assert lines[0] == 'Scores (image level):'
    assert lines[1].split() == ['body', 'part', 'images', 'kappa', 'acc',
                                'sens', 'spec', 'auroc']
    hand = [line for line in lines if line.startswith('XR_HAND')][0]
    # Without studies the image level fills the score columns.
    assert hand.split()[1:] == [
        str(int(out['mura/image/XR_HAND/num_images']))
    ] + [
        f'{out[f"mura/image/XR_HAND/{score}"]:.3f}'
        for score in ('kappa', 'accuracy', 'sensitivity', 'specificity',
                      'auroc')
    ]


def _rank_worker(rank, world_size, init_file, samples, queue):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank,
        world_size=world_size)
    # Like mmengine's DefaultSampler: pad to a multiple of the world size by
    # repeating the first samples, then take every world_size-th index.
    n = len(samples)
    total = -(-n // world_size) * world_size
    indices = (list(range(n)) + list(range(total - n)))[rank::world_size]
    metric = MuraKappa(per_group_keys=True)
    metric.process({}, [samples[i] for i in indices])
    result = metric.evaluate(n)
    queue.put((rank, {samples[i]['study_id'] for i in indices}, result))
    dist.destroy_process_group()


def test_studies_split_across_two_ranks_are_exact(tmp_path):
    samples = make_samples(2, n_studies=11)
    if len(samples) % 2 == 0:
        samples = samples[:-1]
    assert len(samples) % 2 == 1  # padding and truncation happen
    single = evaluate(samples)
    # Every multi-view study is split between the ranks.
    ctx = mp.get_context('spawn')
    queue = ctx.SimpleQueue()
    mp.start_processes(
        _rank_worker,
        args=(2, str(tmp_path / 'init'), samples, queue),
        nprocs=2,
        start_method='spawn')
    by_rank = {}
    for _ in range(2):
        rank, studies, result = queue.get()
        by_rank[rank] = (studies, result)
    # The test is only meaningful if some study's views sit on both ranks.
    assert by_rank[0][0] & by_rank[1][0]
    distributed = by_rank[0][1]
    assert distributed.keys() == single.keys()
    for key, value in single.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(distributed[key]), key
        else:
            assert distributed[key] == value, key
