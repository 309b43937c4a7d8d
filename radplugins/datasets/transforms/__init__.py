"""Transforms for radiographs, registered in MMPretrain's TRANSFORMS."""
from .gbp_normalize import GBPNormalize
from .high_res import KeepHighRes
from .intensity import RescaleIntensity
from .letterbox import LetterboxResize
from .loading import LoadRadiograph
from .study_views import LoadStudyViews

__all__ = [
    'GBPNormalize', 'KeepHighRes', 'LetterboxResize', 'LoadRadiograph',
    'RescaleIntensity', 'LoadStudyViews'
]
