"""Classifiers, registered in MMPretrain's MODELS."""
from .racnn_classifier import RACNNClassifier
from .spine_multitask_classifier import SpineMultiTaskClassifier
from .study_classifier import StudyClassifier
from .zoom_in_classifier import ZoomInClassifier

__all__ = [
    'RACNNClassifier', 'SpineMultiTaskClassifier', 'StudyClassifier',
    'ZoomInClassifier'
]
