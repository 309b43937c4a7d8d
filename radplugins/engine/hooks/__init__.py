"""Hooks, registered in MMPretrain's HOOKS."""
from .dist_safe_logger_hook import DistSafeLoggerHook
from .zoom_visualization_hook import ZoomVisualizationHook

__all__ = ['DistSafeLoggerHook', 'ZoomVisualizationHook']
