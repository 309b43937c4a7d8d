"""Losses, registered in MMPretrain's MODELS."""
from .inter_scale_ranking_loss import InterScaleRankingLoss

__all__ = ['InterScaleRankingLoss']
