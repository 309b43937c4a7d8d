"""Classifiers, registered in MMPretrain's MODELS."""
from .spine_multitask_classifier import SpineMultiTaskClassifier
from .zoom_in_classifier import ZoomInClassifier

__all__ = ['SpineMultiTaskClassifier', 'ZoomInClassifier']
