"""Optimiser wrapper constructors, registered in MMPretrain."""
from .racnn_optim_wrapper_constructor import RACNNOptimWrapperConstructor

__all__ = ['RACNNOptimWrapperConstructor']
