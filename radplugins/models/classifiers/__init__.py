"""Classifiers, registered in MMPretrain's MODELS."""
from .zoom_in_classifier import ZoomInClassifier

__all__ = ['ZoomInClassifier']
from .racnn_classifier import RACNNClassifier

__all__ += ['RACNNClassifier']
