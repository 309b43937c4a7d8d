"""Metrics, registered in MMPretrain's METRICS."""
from .mura_kappa import MuraKappa
from .zoom_localization import ZoomLocalization

__all__ = ['MuraKappa', 'ZoomLocalization']
from .scale_mura_kappa import ScaleMuraKappa

__all__ += ['ScaleMuraKappa']
