"""Classifiers, registered in MMPretrain's MODELS."""
from .zoom_in_classifier import ZoomInClassifier
from .study_classifier import StudyClassifier

__all__ = ['ZoomInClassifier', 'StudyClassifier']
