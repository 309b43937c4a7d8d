"""Losses, registered in MMPretrain's MODELS."""
from .class_balanced_ce import (ClassBalancedCrossEntropyLoss,
                                class_balanced_cross_entropy,
                                inverse_frequency_weights)

__all__ = [
    'ClassBalancedCrossEntropyLoss', 'class_balanced_cross_entropy',
    'inverse_frequency_weights'
]
