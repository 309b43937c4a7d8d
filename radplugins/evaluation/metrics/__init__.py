"""Metrics, registered in MMPretrain's METRICS."""
from .mura_kappa import MuraKappa
from .spine_grading import SpineGradingMetric
from .spine_hotspot_localization import SpineHotspotLocalization
from .zoom_localization import ZoomLocalization

__all__ = [
    'MuraKappa', 'SpineGradingMetric', 'SpineHotspotLocalization',
    'ZoomLocalization'
]
