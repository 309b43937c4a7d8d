"""Hooks, registered in MMPretrain's HOOKS (the precision and memory-format
hooks in MMEngine's root HOOKS, for detection configs too)."""
from .autocast_inference_hook import AutocastInferenceHook
from .channels_last_hook import ChannelsLastHook
from .check_dataset_hook import CheckDatasetHook
from .dist_safe_logger_hook import DistSafeLoggerHook
from .spine_class_balance_hook import SpineClassBalanceHook
from .zoom_visualization_hook import ZoomVisualizationHook

__all__ = [
    'AutocastInferenceHook', 'ChannelsLastHook', 'CheckDatasetHook',
    'DistSafeLoggerHook', 'SpineClassBalanceHook', 'ZoomVisualizationHook'
]
