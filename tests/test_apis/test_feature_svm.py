"""Bagged SVMs per body part against scikit-learn's own scores."""
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from radplugins.apis import build_bagged_svm, fit_body_parts, format_svm_table


def separable(n_studies, views, seed, parts=('XR_HAND', 'XR_WRIST')):
    """Two well separated classes per body part, studies of ``views``
    images sharing a label."""
    rng = np.random.default_rng(seed)
    feats, labels, studies, body_parts = [], [], [], []
    for p, part in enumerate(parts):
        for s in range(n_studies):
            label = s % 2
            centre = np.zeros(16)
            centre[p] = 4.0 if label else -4.0
            for _ in range(views):
                feats.append(centre + rng.normal(size=16))
                labels.append(label)
                studies.append(f'{part}/study{s}')
                body_parts.append(part)
    return dict(
        features=np.asarray(feats, dtype=np.float32),
        labels=np.asarray(labels),
        study_ids=np.asarray(studies),
        body_parts=np.asarray(body_parts))


def test_bag_of_ten_svms_each_on_a_tenth():
    data = separable(100, 3, seed=0)
    clf = build_bagged_svm(300, n_jobs=1)
    clf.fit(data['features'][:300], data['labels'][:300])
    bag = clf.estimators_[0]
    assert len(bag.estimators_) == 10
    assert all(len(s) == 30 for s in bag.estimators_samples_)
    svm = bag.estimators_[0]
    assert (svm.kernel, svm.degree) == ('poly', 5)
    # Different tenths, drawn without replacement.
    assert len(set(bag.estimators_samples_[0])) == 30
    assert set(bag.estimators_samples_[0]) != set(bag.estimators_samples_[1])


def test_separable_features_reach_high_accuracy():
    train = separable(100, 3, seed=0)
    test = separable(30, 3, seed=1)
    result = fit_body_parts(train, test, n_jobs=1)
    rows = {r['body_part']: r for r in result['rows']}
    assert list(rows) == ['XR_HAND', 'XR_WRIST', 'ALL']
    for part in ('XR_HAND', 'XR_WRIST'):
        row = rows[part]
        assert (row['num_train'], row['num_test']) == (300, 90)
        assert row['num_test_studies'] == 30
        assert row['accuracy'] >= 0.95
        idx = test['body_parts'] == part
        y, pred = test['labels'][idx], result['predictions'][part]['pred']
        assert row['accuracy'] == pytest.approx(np.mean(y == pred))
        assert row['kappa'] == pytest.approx(cohen_kappa_score(y, pred),
                                             abs=1e-12)
        # Study level: mean of the views' probabilities, then > 0.5.
        prob = result['predictions'][part]['prob']
        studies = test['study_ids'][idx]
        names = sorted(set(studies))
        mean = [prob[studies == s].mean() for s in names]
        truth = [y[studies == s][0] for s in names]
        assert row['study_kappa'] == pytest.approx(
            cohen_kappa_score(truth, np.asarray(mean) > 0.5), abs=1e-12)
        assert row['train_seconds'] > 0
    assert rows['ALL']['num_train'] == 600
    assert rows['ALL']['num_test'] == 180
    preds = np.concatenate(
        [result['predictions'][p]['pred'] for p in ('XR_HAND', 'XR_WRIST')])
    labels = np.concatenate([
        test['labels'][test['body_parts'] == p]
        for p in ('XR_HAND', 'XR_WRIST')
    ])
    assert rows['ALL']['kappa'] == pytest.approx(
        cohen_kappa_score(labels, preds), abs=1e-12)

    table = format_svm_table(result['rows'])
    lines = table.splitlines()
    assert lines[1].split() == [
        'body', 'part', 'accuracy', 'kappa', 'train', 's', 'train', 'test',
        'study', 'kappa'
    ]
    assert lines[3].split()[0] == 'XR_HAND'
    assert lines[-1].split()[0] == 'ALL'
    assert lines[-1].split()[4:6] == ['600', '180']


def test_random_features_do_not_score_high():
    """The scores come from the data: shuffled labels give chance."""
    train = separable(100, 3, seed=0)
    test = separable(30, 3, seed=1)
    rng = np.random.default_rng(0)
    train['labels'] = rng.permutation(train['labels'])
    result = fit_body_parts(train, test, body_parts=['XR_HAND'], n_jobs=1)
    assert abs(result['rows'][0]['kappa']) < 0.4


def test_bad_fraction():
    with pytest.raises(ValueError, match='sample_fraction must be in'):
        build_bagged_svm(10, sample_fraction=0)
