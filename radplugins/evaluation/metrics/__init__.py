"""Metrics, registered in MMPretrain's METRICS."""
from .mura_kappa import MuraKappa
from .scale_mura_kappa import ScaleMuraKappa
from .spine_grading import SpineGradingMetric
from .spine_hotspot_localization import SpineHotspotLocalization
from .zoom_localization import ZoomLocalization

__all__ = [
    'MuraKappa', 'ScaleMuraKappa', 'SpineGradingMetric',
    'SpineHotspotLocalization', 'ZoomLocalization'
]
