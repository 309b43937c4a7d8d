"""Hooks, registered in MMPretrain's HOOKS."""
from .check_dataset_hook import CheckDatasetHook
from .dist_safe_logger_hook import DistSafeLoggerHook
from .spine_class_balance_hook import SpineClassBalanceHook
from .zoom_visualization_hook import ZoomVisualizationHook

__all__ = [
    'CheckDatasetHook', 'DistSafeLoggerHook', 'SpineClassBalanceHook',
    'ZoomVisualizationHook'
]
