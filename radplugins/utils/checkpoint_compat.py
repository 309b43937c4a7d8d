"""Safe loading of MMEngine training checkpoints under torch >= 2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it
unpickles only tensors, containers and an allow-list of types, and refuses
everything else. MMEngine 0.10.7 calls ``torch.load`` without the argument,
so ``--resume`` (and ``load_from``) fail on MMEngine's own checkpoints,
whose ``message_hub`` holds :class:`HistoryBuffer` objects and whose
``meta`` holds NumPy arrays and scalars.

This module keeps ``weights_only=True`` in force and extends its allow-list
with exactly the *data* types those checkpoints contain: MMEngine's
``HistoryBuffer`` and NumPy's array, dtype and scalar reconstructors. None
of them runs code on unpickling. A ``HistoryBuffer`` also pickles its
statistics methods as ``getattr(HistoryBuffer, 'min')``; a plain
``builtins.getattr`` in the allow-list would let a crafted file reach any
attribute of any allowed object (and from there, code), so instead
``builtins.getattr`` is mapped to :func:`training_state_getattr`, which only
resolves ``HistoryBuffer``'s statistics methods. MMEngine's one-cycle
schedulers keep their annealing function (a static method) in their state
and pickle it as ``getattr(OneCycleParamScheduler, '_annealing_cos')``;
the class is not allowed itself (a crafted file could call it) but mapped
to an inert stand-in from which :func:`training_state_getattr` resolves
only those two functions.
Arbitrary objects are still refused, and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
is never set.
"""
import pickle
from typing import Any, List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler

_ENABLED = False
_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')
_ONE_CYCLE_ANNEALING = ('_annealing_cos', '_annealing_linear')


class OneCycleSchedulerReference:
    """Inert stand-in for ``OneCycleParamScheduler`` in ``weights_only``
    loads: it cannot be called or instantiated with arguments, and
    :func:`training_state_getattr` resolves only the scheduler's annealing
    functions from it."""

    def __new__(cls, *args, **kwargs):
        raise pickle.UnpicklingError(
            'checkpoint asked to call OneCycleParamScheduler; only its '
            'annealing functions may be referenced')


def _numpy_dtype_classes() -> List[type]:
    """Return NumPy's per-dtype classes (``numpy.dtypes.*DType``)."""
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is None:
        return []
    classes = []
    for name in dir(dtypes):
        obj = getattr(dtypes, name)
        if isinstance(obj, type) and issubclass(obj, np.dtype):
            classes.append(obj)
    return classes


def _numpy_multiarray_reconstructors() -> List[Any]:
    """Return ``_reconstruct`` and ``scalar`` from NumPy's multiarray."""
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy < 2
        from numpy.core import multiarray
    return [multiarray._reconstruct, multiarray.scalar]


def training_state_getattr(obj: Any, name: str) -> Any:
    """A ``getattr`` limited to what MMEngine's training state needs.

    Stands in for ``builtins.getattr`` while unpickling with
    ``weights_only=True``: it resolves ``HistoryBuffer``'s registered
    statistics methods (``min``, ``max``, ``current``, ``mean``, ...) and
    the one-cycle schedulers' annealing functions, and nothing else.

    Args:
        obj (Any): The object whose attribute is asked for.
        name (str): The attribute name.

    Returns:
        Callable: The statistics method.

    Raises:
        pickle.UnpicklingError: For any other attribute.
    """
    if obj is HistoryBuffer:
        # The class-level registry only fills when a first HistoryBuffer
        # is built, so the four built-in methods are named explicitly.
        method = HistoryBuffer._statistics_methods.get(name)
        if method is None and name in _BUILTIN_STATISTICS:
            method = getattr(HistoryBuffer, name)
        if method is not None:
            return method
    if obj is OneCycleSchedulerReference and name in _ONE_CYCLE_ANNEALING:
        return getattr(OneCycleParamScheduler, name)
    raise pickle.UnpicklingError(
        f'checkpoint asked for getattr({obj!r:.80}, {name!r}); only '
        'HistoryBuffer statistics methods and one-cycle annealing '
        'functions are allowed')


TRAINING_STATE_GLOBALS: List[Any] = [
    HistoryBuffer,
    np.ndarray,
    np.dtype,
    *_numpy_multiarray_reconstructors(),
    *_numpy_dtype_classes(),
    (training_state_getattr, 'builtins.getattr'),
    (OneCycleSchedulerReference,
     f'{OneCycleParamScheduler.__module__}.OneCycleParamScheduler'),
]


def enable_safe_checkpoint_loading() -> None:
    """Allow MMEngine's training state in ``weights_only`` loads.

    Idempotent; called when :mod:`radplugins` is imported.
    """
    global _ENABLED
    if _ENABLED:
        return
    torch.serialization.add_safe_globals(TRAINING_STATE_GLOBALS)
    _ENABLED = True
