"""Datasets and transforms, registered in MMPretrain's registries."""
from .dataset_check import check_dataset
from .fracatlas import (FRACATLAS_BODY_PARTS, FracAtlasDataset,
                        fracatlas_split)
from .mura import MURA_BODY_PARTS, MuraDataset, normalize_body_part
from .mura_study import MuraStudyDataset
from .spine import NUM_DISC_SLICES, SpineDiscDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'FRACATLAS_BODY_PARTS', 'FracAtlasDataset', 'check_dataset',
    'fracatlas_split', 'MURA_BODY_PARTS', 'MuraDataset', 'MuraStudyDataset',
    'NUM_DISC_SLICES', 'SpineDiscDataset', 'normalize_body_part'
]
