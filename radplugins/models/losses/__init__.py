"""Losses, registered in MMPretrain's MODELS."""
from .class_balanced_ce import (ClassBalancedCrossEntropyLoss,
                                class_balanced_cross_entropy,
                                inverse_frequency_weights)
from .inter_scale_ranking_loss import InterScaleRankingLoss

__all__ = [
    'ClassBalancedCrossEntropyLoss', 'InterScaleRankingLoss',
    'class_balanced_cross_entropy', 'inverse_frequency_weights'
]
