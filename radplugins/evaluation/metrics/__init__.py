"""Metrics, registered in MMPretrain's METRICS."""
from .mura_kappa import MuraKappa

__all__ = ['MuraKappa']
