import pytest
import torch
from mmpretrain.registry import MODELS


def logits_of(probs):
    # softmax(log p) == p for a probability vector.
    return torch.log(torch.tensor(probs, dtype=torch.float64))


def test_values_against_a_hand_computation():
    loss_fn = MODELS.build(dict(type='InterScaleRankingLoss', margin=0.05))
    # true-class probabilities per scale:
    # sample 0 (class 1): 0.6, 0.5, 0.9 -> (0.6 - 0.5 + 0.05) + 0 = 0.15
    # sample 1 (class 0): 0.2, 0.3, 0.1 -> 0 + (0.3 - 0.1 + 0.05) = 0.25
    scales = [
        logits_of([[0.4, 0.6], [0.2, 0.8]]),
        logits_of([[0.5, 0.5], [0.3, 0.7]]),
        logits_of([[0.1, 0.9], [0.1, 0.9]]),
    ]
    target = torch.tensor([1, 0])
    loss = loss_fn(scales, target)
    assert loss.item() == pytest.approx((0.15 + 0.25) / 2, abs=1e-12)


def test_satisfied_ranking_gives_zero_loss_and_weight_scales():
    scales = [logits_of([[0.5, 0.5]]), logits_of([[0.3, 0.7]]),
              logits_of([[0.1, 0.9]])]
    target = torch.tensor([1])
    loss = MODELS.build(dict(type='InterScaleRankingLoss', margin=0.1))
    assert loss(scales, target).item() == 0.0
    # margin 0.3: (0.5 - 0.7 + 0.3) + (0.7 - 0.9 + 0.3) = 0.2, times 2
    weighted = MODELS.build(
        dict(type='InterScaleRankingLoss', margin=0.3, loss_weight=2.0))
    assert weighted(scales, target).item() == pytest.approx(0.4, abs=1e-12)


def test_gradient_pushes_the_finer_scale_up():
    coarse = logits_of([[0.3, 0.7]])
    fine = logits_of([[0.5, 0.5]]).requires_grad_()
    loss = MODELS.build(dict(type='InterScaleRankingLoss'))(
        [coarse, fine], torch.tensor([1]))
    loss.backward()
    # Descending the loss raises the fine scale's true-class logit.
    assert fine.grad[0, 1] < 0 < fine.grad[0, 0]


def test_needs_two_scales_and_a_valid_margin():
    loss = MODELS.build(dict(type='InterScaleRankingLoss'))
    with pytest.raises(ValueError, match='at least two scales'):
        loss([torch.zeros(1, 2)], torch.tensor([0]))
    with pytest.raises(ValueError, match='margin'):
        MODELS.build(dict(type='InterScaleRankingLoss', margin=-0.1))
