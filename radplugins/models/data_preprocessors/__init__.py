"""Data preprocessors, registered in MMPretrain's MODELS."""
from .rad_data_preprocessor import RadDataPreprocessor

__all__ = ['RadDataPreprocessor']
