"""Hooks, registered in MMPretrain's HOOKS."""
from .dist_safe_logger_hook import DistSafeLoggerHook
from .spine_class_balance_hook import SpineClassBalanceHook
from .zoom_visualization_hook import ZoomVisualizationHook

__all__ = [
    'DistSafeLoggerHook', 'SpineClassBalanceHook', 'ZoomVisualizationHook'
]
