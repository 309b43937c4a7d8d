"""Class-balanced softmax cross-entropy that ignores missing labels."""
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


def inverse_frequency_weights(labels: np.ndarray, num_classes: int,
                              ignore_index: int = -1) -> np.ndarray:
    """SpineNet's ``alpha_c = freq(c)^-1`` from one task's labels.

    ``freq(c)`` is the share of labelled samples in class ``c``; missing
    labels (``ignore_index``) are not counted. A class absent from the
    labels gets weight 0 (it cannot occur in a training loss anyway).

    Returns:
        np.ndarray: ``(num_classes,)`` float weights.
    """
    labels = np.asarray(labels)
    labels = labels[labels != ignore_index]
    counts = np.bincount(labels, minlength=num_classes)[:num_classes]
    if labels.size and counts.sum() != labels.size:
        raise ValueError(f'labels outside 0..{num_classes - 1}: '
                         f'{sorted(set(labels.tolist()))}')
    freq = counts / max(labels.size, 1)
    return np.where(counts > 0, 1.0 / np.maximum(freq, 1e-12), 0.0)


def class_balanced_cross_entropy(logits: torch.Tensor,
                                 labels: torch.Tensor,
                                 class_weights: Optional[torch.Tensor] = None,
                                 ignore_index: int = -1) -> torch.Tensor:
    """Mean of ``alpha_y * CE`` over labelled samples, normalised by the
    sum of their weights (so the loss scale does not depend on the
    weights' scale). Zero, not NaN, when no sample is labelled.

    Args:
        logits (torch.Tensor): ``(N, K)``.
        labels (torch.Tensor): ``(N,)`` classes, ``ignore_index`` = missing.
        class_weights (torch.Tensor, optional): ``(K,)``; None = uniform.
        ignore_index (int): Label value of a missing label.
    """
    valid = labels != ignore_index
    if not bool(valid.any()):
        return logits.sum() * 0.0
    target = labels[valid].long()
    ce = F.cross_entropy(logits[valid], target, reduction='none')
    if class_weights is None:
        return ce.mean()
    w = class_weights.to(ce)[target]
    if float(w.sum()) == 0:
        return logits.sum() * 0.0
    return (w * ce).sum() / w.sum()


@MODELS.register_module()
class ClassBalancedCrossEntropyLoss(nn.Module):
    """Module form of :func:`class_balanced_cross_entropy`.

    Args:
        loss_weight (float): Task weight ``omega_t``.
        ignore_index (int): Label value of a missing label.
    """

    def __init__(self, loss_weight: float = 1.0, ignore_index: int = -1):
        super().__init__()
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index

    def forward(self,
                logits: torch.Tensor,
                labels: torch.Tensor,
                class_weights: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        return self.loss_weight * class_balanced_cross_entropy(
            logits, labels, class_weights, self.ignore_index)
