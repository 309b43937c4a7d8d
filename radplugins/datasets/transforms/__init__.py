"""Transforms for radiographs and disc volumes, registered in MMPretrain's
TRANSFORMS (the box-edge refiner's windows in MMDetection's)."""
from .box_edge_windows import SampleBoxEdgeWindows
from .cached import CachedTransforms
from .disc_augment import (NUM_TTA_VIEWS, RandomDiscAugment,
                           apply_disc_augment, disc_tta_views,
                           invert_disc_augment, sample_disc_aug_params)
from .disc_intensity import NormalizeDiscIntensity
from .disc_loading import LoadDiscVolume, pad_slices
from .flag_removal import FillFlagRegions
from .gbp_normalize import GBPNormalize
from .high_res import KeepHighRes
from .intensity import RescaleIntensity
from .letterbox import LetterboxResize
from .loading import LoadRadiograph
from .study_views import LoadStudyViews

__all__ = [
    'CachedTransforms', 'FillFlagRegions', 'GBPNormalize', 'KeepHighRes',
    'LetterboxResize', 'LoadDiscVolume', 'LoadRadiograph', 'LoadStudyViews',
    'NUM_TTA_VIEWS', 'NormalizeDiscIntensity', 'RandomDiscAugment',
    'RescaleIntensity', 'SampleBoxEdgeWindows', 'apply_disc_augment',
    'disc_tta_views', 'invert_disc_augment', 'pad_slices',
    'sample_disc_aug_params'
]
