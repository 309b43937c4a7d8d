"""Test-time augmentation models, registered in MMDetection's MODELS."""
from .box_voting_det_tta import (BoxVotingDetTTAModel, find_voters,
                                 view_mean_scores, vote_boxes)
from .edge_refined_det_tta import EdgeRefinedDetTTAModel

__all__ = [
    'BoxVotingDetTTAModel', 'EdgeRefinedDetTTAModel', 'find_voters',
    'view_mean_scores', 'vote_boxes'
]
