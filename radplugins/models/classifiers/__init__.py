"""Classifiers, registered in MMPretrain's MODELS."""
from .racnn_classifier import RACNNClassifier
from .study_classifier import StudyClassifier
from .zoom_in_classifier import ZoomInClassifier

__all__ = ['RACNNClassifier', 'StudyClassifier', 'ZoomInClassifier']
