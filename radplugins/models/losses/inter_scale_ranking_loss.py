"""RA-CNN's pairwise ranking loss between neighbouring scales."""
from typing import Sequence

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS


@MODELS.register_module()
class InterScaleRankingLoss(nn.Module):
    """``max(0, p_t(s) - p_t(s + 1) + margin)`` summed over scale pairs.

    ``p_t(s)`` is scale ``s``'s softmax probability of the true class. The
    loss asks each finer scale to be more confident about the truth than the
    coarser one by ``margin``; it is averaged over the batch.

    Args:
        margin (float): Required gain in true-class probability from one
            scale to the next. Defaults to 0.05 (RA-CNN).
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, margin: float = 0.05, loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'margin must be >= 0, got {margin}')
        self.margin = float(margin)
        self.loss_weight = float(loss_weight)

    def forward(self, scale_logits: Sequence[torch.Tensor],
                target: torch.Tensor) -> torch.Tensor:
        """Ranking loss of the scales' predictions.

        Args:
            scale_logits (Sequence[torch.Tensor]): One ``(N, C)`` logit
                tensor per scale, coarse to fine (at least two).
            target (torch.Tensor): ``(N, )`` true class indices.

        Returns:
            torch.Tensor: Scalar loss.
        """
        if len(scale_logits) < 2:
            raise ValueError(f'the ranking loss needs at least two scales, '
                             f'got {len(scale_logits)}')
        target = target.long().view(-1, 1)
        p_true = [
            torch.softmax(lg, dim=1).gather(1, target).squeeze(1)
            for lg in scale_logits
        ]
        loss = sum((p_true[s] - p_true[s + 1] + self.margin).clamp(min=0)
                   for s in range(len(p_true) - 1))
        return self.loss_weight * loss.mean()
