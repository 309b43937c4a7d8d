"""Class-balanced cross-entropy with missing labels."""
import math

import numpy as np
import torch

from radplugins.models.losses import (class_balanced_cross_entropy,
                                      inverse_frequency_weights)


def test_weights_are_inverse_frequencies_by_hand():
    labels = np.array([0, 0, 0, 1, -1, 2, 0, 1, -1])  # 7 labelled
    weights = inverse_frequency_weights(labels, 4)
    np.testing.assert_allclose(weights, [7 / 4, 7 / 2, 7 / 1, 0])


def test_loss_matches_hand_computation_and_ignores_missing():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, -5.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, -1, 1])
    alpha = torch.tensor([3.0, 1.5])

    def ce(row, c):
        return -math.log(math.exp(row[c]) / sum(math.exp(v) for v in row))

    rows = logits.tolist()
    terms = [(3.0, ce(rows[0], 0)), (1.5, ce(rows[1], 1)),
             (1.5, ce(rows[3], 1))]
    expected = sum(w * c for w, c in terms) / sum(w for w, _ in terms)
    got = class_balanced_cross_entropy(logits, labels, alpha)
    assert abs(got.item() - expected) < 1e-6


def test_task_without_labels_gives_zero_not_nan():
    logits = torch.randn(3, 5, requires_grad=True)
    loss = class_balanced_cross_entropy(logits, torch.full((3, ), -1),
                                        torch.ones(5))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all() and not logits.grad.any()
