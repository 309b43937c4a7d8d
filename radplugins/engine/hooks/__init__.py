"""Hooks, registered in MMPretrain's HOOKS."""
from .dist_safe_logger_hook import DistSafeLoggerHook

__all__ = ['DistSafeLoggerHook']
