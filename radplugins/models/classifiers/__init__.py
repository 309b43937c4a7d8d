"""Classifiers, registered in MMPretrain's MODELS."""
from .zoom_in_classifier import ZoomInClassifier

__all__ = ['ZoomInClassifier']
