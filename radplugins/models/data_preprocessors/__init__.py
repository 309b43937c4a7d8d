"""Data preprocessors, registered in MMPretrain's MODELS."""
from .rad_data_preprocessor import RadDataPreprocessor
from .study_data_preprocessor import StudyDataPreprocessor

__all__ = ['RadDataPreprocessor', 'StudyDataPreprocessor']
