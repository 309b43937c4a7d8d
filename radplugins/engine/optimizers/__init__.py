"""Optimiser wrappers and their constructors: the CPU mixed-precision
wrapper (MMEngine's root registry) and RA-CNN's constructor (MMPretrain)."""
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .racnn_optim_wrapper_constructor import RACNNOptimWrapperConstructor

__all__ = ['CPUAmpOptimWrapper', 'RACNNOptimWrapperConstructor']
