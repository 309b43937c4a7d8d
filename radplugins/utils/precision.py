"""Mixed precision and memory format, one place for tools, hooks and the
CPU optimiser wrapper.

On a CPU with bfloat16 instructions (AVX512-BF16, AMX) convolutions and
matrix products under ``torch.autocast('cpu', dtype=torch.bfloat16)`` run
about twice as fast as in float32; on a GPU, float16 autocast is the usual
choice. Everything here decides *once, at run time*, which dtype a device
gets:

- :func:`cpu_supports_bf16`: whether this CPU has the instructions;
- :func:`resolve_amp_dtype`: the autocast dtype for a device, or None (run
  in float32) with one log line per process when the device cannot;
- :func:`amp_inference`: the helper the inference tools and
  :class:`~radplugins.engine.hooks.AutocastInferenceHook` share: a
  model's ``val_step``/``test_step`` run under autocast, their outputs
  (scores, boxes) handed back in float32;
- :func:`amp_optim_wrapper_cfg`: the optimiser wrapper config of
  ``tools/train.py --amp`` (bfloat16 on a CPU, float16 on a GPU);
- :func:`to_channels_last`: the channels-last memory format for a model.

Autocast only changes the dtype of the ops on its lists (convolutions,
linear layers, matrix products); sums, cumulative sums, comparisons and the
saliency post-processing keep their inputs' dtype, so code that needs
float32 (entropy quantisation, ROI thresholds, probabilities) casts
explicitly (see :mod:`radplugins.saliency`).
"""
import copy
import functools
import logging
from contextlib import contextmanager, nullcontext
from typing import Any, ContextManager, Iterator, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

AMP_DTYPES = ('bfloat16', 'float16')

# Fallback messages already logged in this process: the optimiser wrapper
# and the inference hook of one run ask the same question.
_REPORTED = set()


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bfloat16 instructions.

    True when PyTorch reports AVX512-BF16 or AMX tiles (Intel Cooper Lake,
    Sapphire Rapids and later; AMD Zen 4). Without them bfloat16 still
    runs, emulated, and is slower than float32.

    Returns:
        bool: Whether bfloat16 autocast pays on this CPU.
    """
    checks = [
        getattr(torch.cpu, name, None)
        for name in ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
    ]
    return any(check() for check in checks if check is not None)


def _as_dtype(dtype: Union[str, torch.dtype]) -> torch.dtype:
    """``'bfloat16'``/``'float16'`` or the torch dtype, checked."""
    if isinstance(dtype, torch.dtype):
        name = str(dtype).replace('torch.', '')
    else:
        name = dtype
    if name not in AMP_DTYPES:
        raise ValueError(f'unknown mixed-precision dtype {dtype!r}; expected '
                         f'one of {AMP_DTYPES}')
    return getattr(torch, name)


def _report_once(message: str) -> None:
    if message not in _REPORTED:
        _REPORTED.add(message)
        print_log(message, logger='current', level=logging.WARNING)


def resolve_amp_dtype(device_type: str,
                      dtype: Optional[Union[str, torch.dtype]] = None
                      ) -> Optional[torch.dtype]:
    """The autocast dtype a device gets, decided at run time.

    ``'cpu'`` gets bfloat16 when :func:`cpu_supports_bf16`, else None
    (float32) with one warning line per process; ``'cuda'`` gets float16
    (or ``dtype``). Other devices run in float32, also said once.

    Args:
        device_type (str): ``'cpu'``, ``'cuda'``, ...
        dtype (str | torch.dtype, optional): Ask for ``'bfloat16'`` or
            ``'float16'``; None takes the device's choice. A CPU accepts
            only bfloat16 (float16 needs loss scaling and GPU kernels).

    Returns:
        torch.dtype | None: The dtype to autocast to; None means float32.

    Raises:
        ValueError: For an unknown dtype, or float16 on a CPU.
    """
    wanted = None if dtype is None else _as_dtype(dtype)
    if device_type == 'cpu':
        if wanted not in (None, torch.bfloat16):
            raise ValueError(f'mixed precision on the CPU is bfloat16 only, '
                             f'got dtype={dtype!r}')
        if not cpu_supports_bf16():
            _report_once(
                'mixed precision: this CPU has no bfloat16 instructions '
                f'(capability {torch.backends.cpu.get_cpu_capability()}, '
                'no AVX512-BF16 or AMX); running in float32')
            return None
        return torch.bfloat16
    if device_type == 'cuda':
        return wanted or torch.float16
    _report_once(f'mixed precision: not supported on {device_type!r} here; '
                 'running in float32')
    return None


def autocast(device_type: str,
             dtype: Optional[torch.dtype]) -> ContextManager:
    """``torch.autocast(device_type, dtype)``, or nothing for None.

    Args:
        device_type (str): ``'cpu'`` or ``'cuda'``.
        dtype (torch.dtype, optional): From :func:`resolve_amp_dtype`.

    Returns:
        ContextManager: The context to run forward passes in.
    """
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device_type, dtype=dtype)


def to_float32(outputs: Any) -> Any:
    """Cast the low-precision floating tensors in model outputs to float32.

    Walks tensors, data elements (``DataSample``, ``InstanceData``: their
    data fields, in place), lists, tuples and dicts. float32 and float64
    tensors and everything else are left as they are.

    Args:
        outputs: What ``test_step``/``val_step`` returned.

    Returns:
        The same structure, float16/bfloat16 tensors now float32.
    """
    if isinstance(outputs, torch.Tensor):
        if outputs.is_floating_point() and outputs.element_size() < 4:
            return outputs.float()
        return outputs
    if isinstance(outputs, BaseDataElement):
        for key, value in list(outputs.items()):
            cast = to_float32(value)
            if cast is not value:
                outputs.set_field(cast, key)
        return outputs
    if isinstance(outputs, (list, tuple)):
        cast = [to_float32(x) for x in outputs]
        return type(outputs)(cast) if isinstance(outputs, list) else \
            tuple(cast)
    if isinstance(outputs, dict):
        return {k: to_float32(v) for k, v in outputs.items()}
    return outputs


def model_device_type(model: nn.Module) -> str:
    """The device type of a model's first parameter or buffer (``'cpu'``
    without either)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device.type
    return 'cpu'


@contextmanager
def amp_inference(model: nn.Module,
                  dtype: Optional[Union[str, torch.dtype]] = None,
                  enabled: bool = True) -> Iterator[Optional[torch.dtype]]:
    """Run a model's ``val_step`` and ``test_step`` under autocast.

    The one switch the inference tools (``tools/infer.py``,
    ``tools/mura_predict.py``) and :class:`AutocastInferenceHook`
    (``tools/test.py --amp``, validation in ``tools/train.py --amp``)
    share. Inside the block each call of ``model.val_step`` /
    ``model.test_step`` runs under ``torch.autocast`` with the dtype of
    :func:`resolve_amp_dtype` for the model's device, and its outputs come
    back through :func:`to_float32`, so metrics, JSON and pickles see
    float32 scores and boxes as without autocast (their values carry the
    rounding of the low-precision forward). The methods are restored on
    exit, also on errors. With ``enabled=False``, or where the device
    cannot (see :func:`resolve_amp_dtype`), nothing changes.

    Args:
        model (nn.Module): The model (or a model wrapper) the caller runs.
        dtype (str | torch.dtype, optional): See
            :func:`resolve_amp_dtype`.
        enabled (bool): False makes the block a no-op (the tools pass
            their ``--amp`` flag).

    Yields:
        torch.dtype | None: The dtype in use; None for float32.
    """
    if not enabled:
        yield None
        return
    device_type = model_device_type(model)
    cast = resolve_amp_dtype(device_type, dtype)
    if cast is None:
        yield None
        return
    patched = []
    for name in ('val_step', 'test_step'):
        method = getattr(model, name, None)
        if method is None:
            continue

        def wrapped(*args, _method=method, **kwargs):
            with torch.autocast(device_type=device_type, dtype=cast):
                outputs = _method(*args, **kwargs)
            return to_float32(outputs)

        functools.update_wrapper(wrapped, method)
        previous = model.__dict__.get(name)
        patched.append((name, previous))
        setattr(model, name, wrapped)
    try:
        yield cast
    finally:
        for name, previous in reversed(patched):
            if previous is None:
                model.__dict__.pop(name, None)
            else:
                setattr(model, name, previous)


def amp_optim_wrapper_cfg(optim_wrapper: dict,
                          device_type: str,
                          dtype: Optional[str] = None) -> dict:
    """The optimiser wrapper config of ``tools/train.py --amp``.

    On a CPU: :class:`~radplugins.engine.optimizers.CPUAmpOptimWrapper`
    (bfloat16 autocast, no loss scaling; float32 where the CPU lacks the
    instructions). On a GPU (or NPU, MLU): MMEngine's ``AmpOptimWrapper``
    with float16 (or ``dtype``) and dynamic loss scaling. A config of
    several wrappers (RA-CNN's ``classifier`` and ``apn``) has each entry
    switched.

    Args:
        optim_wrapper (dict): The config's ``optim_wrapper``.
        device_type (str): Where training runs.
        dtype (str, optional): ``'bfloat16'`` or ``'float16'``; None takes
            the device's choice. The wrapper checks it when it is built
            (a CPU refuses float16).

    Returns:
        dict: A new config; ``optim_wrapper`` is not modified.
    """
    cfg = ConfigDict(copy.deepcopy(dict(optim_wrapper)))
    if 'optimizer' not in cfg and cfg and all(
            isinstance(v, dict) and 'optimizer' in v for k, v in cfg.items()
            if k != 'constructor'):
        for key in cfg:
            if key != 'constructor':
                cfg[key] = amp_optim_wrapper_cfg(cfg[key], device_type,
                                                 dtype)
        return cfg
    if device_type == 'cpu':
        cfg.type = 'CPUAmpOptimWrapper'
        cfg.dtype = dtype or 'bfloat16'
        cfg.pop('loss_scale', None)
    else:
        cfg.type = 'AmpOptimWrapper'
        cfg.setdefault('loss_scale', 'dynamic')
        if dtype is not None:
            cfg.dtype = dtype
    return cfg


def to_channels_last(model: nn.Module) -> nn.Module:
    """Store a model's 4-d parameters and buffers channels-last (NHWC).

    Convolutions then run in channels-last and hand that layout on, so
    inputs need no conversion (the first convolution converts them). The
    parameters stay the same objects (optimisers keep them); checkpoints
    load into them unchanged.

    Args:
        model (nn.Module): The model, converted in place.

    Returns:
        nn.Module: ``model``.
    """
    return model.to(memory_format=torch.channels_last)


BENCHMARK_PRECISIONS = ('float32', 'bfloat16', 'float16')


def add_variant_args(parser, infer_what: str = '') -> None:
    """The benchmarks' ``--precision``, ``--channels-last`` and
    ``--infer-iters`` options, whose values :func:`variant_names` and
    :func:`optim_cfg_for` take.

    Args:
        parser (argparse.ArgumentParser): The benchmark's parser.
        infer_what (str): What ``--infer-iters`` runs, for its help, e.g.
            ``'of both models '``.
    """
    parser.add_argument(
        '--precision',
        nargs='+',
        choices=BENCHMARK_PRECISIONS,
        default=['float32'],
        help='precisions to measure side by side; the first is the '
        'reference of the ratios (bfloat16: CPUAmpOptimWrapper on a CPU; '
        'float16 needs a GPU)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='also measure every precision with channels-last models')
    parser.add_argument(
        '--infer-iters',
        type=int,
        default=0,
        help=f'also measure inference (test_step) {infer_what}over this '
        'many batches per variant (default 0: off)')


def variant_names(precisions: List[str], channels_last: bool) -> List[tuple]:
    """``(name, precision, channels_last)`` of every variant, in order."""
    out = []
    for precision in precisions:
        out.append((precision, precision, False))
        if channels_last:
            out.append((f'{precision}+channels_last', precision, True))
    if len({name for name, _, _ in out}) != len(out):
        raise SystemExit(f'--precision lists a precision twice: {precisions}')
    return out


def optim_cfg_for(optim_wrapper: dict, precision: str, device: str) -> dict:
    """The optimiser wrapper a precision trains with: the config's own for
    float32, ``tools/train.py --amp``'s otherwise, with this dtype."""
    if precision == 'float32':
        return copy.deepcopy(optim_wrapper)
    return amp_optim_wrapper_cfg(optim_wrapper, device.split(':')[0],
                                 precision)
