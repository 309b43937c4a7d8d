"""Transforms for radiographs, registered in MMPretrain's TRANSFORMS."""
from .flag_removal import FillFlagRegions
from .gbp_normalize import GBPNormalize
from .high_res import KeepHighRes
from .intensity import RescaleIntensity
from .letterbox import LetterboxResize
from .loading import LoadRadiograph
from .study_views import LoadStudyViews

__all__ = [
    'FillFlagRegions', 'GBPNormalize', 'KeepHighRes', 'LetterboxResize',
    'LoadRadiograph', 'LoadStudyViews', 'RescaleIntensity'
]
