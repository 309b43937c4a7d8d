import numpy as np
import pytest
import torch
from mmpretrain.registry import METRICS
from sklearn.metrics import cohen_kappa_score


def samples(scale_scores, labels, studies):
    return [
        dict(scale_scores=torch.tensor(s), pred_score=torch.tensor([0.5, 0.5]),
             gt_label=torch.tensor([y]), study_id=st, body_part='XR_HAND',
             img_path=f'img{i}.png')
        for i, (s, y, st) in enumerate(zip(scale_scores, labels, studies))
    ]


def test_each_scale_is_scored_like_sklearn_on_that_scale():
    rng = np.random.default_rng(0)
    n, num_scales = 40, 3
    labels = rng.integers(0, 2, n)
    pos = rng.random((n, num_scales))
    scores = np.stack([1 - pos, pos], -1)  # (n, scales, 2)
    data = samples(scores.tolist(), labels.tolist(), [f's{i}' for i in
                                                      range(n)])
    for k in range(num_scales):
        metric = METRICS.build(dict(type='ScaleMuraKappa', scale=k,
                                    per_body_part=False))
        metric.process(None, data)
        out = metric.evaluate(n)
        ref = cohen_kappa_score(labels, (pos[:, k] > 0.5).astype(int))
        assert out[f'mura_s{k}/image/kappa'] == pytest.approx(ref, abs=1e-12)
        # one image per study: the study level agrees
        assert out[f'mura_s{k}/study/kappa'] == pytest.approx(ref, abs=1e-12)


def test_missing_scores_and_bad_scale_are_named():
    metric = METRICS.build(dict(type='ScaleMuraKappa', scale=3))
    with pytest.raises(IndexError, match='scale 3 out of range'):
        metric.process(None, samples([[[0.5, 0.5]] * 2], [1], ['a']))
    with pytest.raises(KeyError, match='scale_scores'):
        metric.process(None, [dict(pred_score=torch.ones(2) / 2,
                                   img_path='x.png')])
    with pytest.raises(TypeError, match='scale must be an int'):
        METRICS.build(dict(type='ScaleMuraKappa', scale=1.0))
