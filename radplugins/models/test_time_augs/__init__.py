"""Test-time augmentation models, registered in MMDetection's MODELS."""
from .box_voting_det_tta import (BoxVotingDetTTAModel, find_voters,
                                 view_mean_scores, vote_boxes)

__all__ = [
    'BoxVotingDetTTAModel', 'find_voters', 'view_mean_scores', 'vote_boxes'
]
