"""Synthetic data generators that write the real datasets' on-disk formats."""
from .mura_generator import (GROUND_TRUTH_FILE, SyntheticMuraConfig,
                             generate_synthetic_mura, plan_dataset,
                             render_image)

__all__ = [
    'GROUND_TRUTH_FILE', 'SyntheticMuraConfig', 'generate_synthetic_mura',
    'plan_dataset', 'render_image'
]
