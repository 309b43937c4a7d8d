"""Mixed precision training on the CPU: bfloat16 autocast."""
from contextlib import contextmanager
from typing import Iterator, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from radplugins.utils.precision import (autocast, model_device_type,
                                        resolve_amp_dtype)


# In MMEngine's root registry, next to its AmpOptimWrapper, so that
# classification (mmpretrain) and detection (mmdet) configs find it alike.
@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """An optimiser wrapper whose forward passes run in bfloat16 on the CPU.

    MMEngine's ``AmpOptimWrapper`` refuses to be built without a GPU (NPU,
    MLU, MUSA). This one autocasts to bfloat16 on the CPU:
    :meth:`optim_context` (where ``train_step`` runs the data preprocessor
    and the forward) enters ``torch.autocast('cpu', dtype=torch.bfloat16)``.
    Parameters, gradients and optimiser state stay float32: autocast casts
    the weights for each convolution and linear layer, and the gradients
    flow back to the float32 parameters. bfloat16 has float32's exponent
    range, so no loss scaling is needed (``loss_scaler`` is absent, as for
    a plain ``OptimWrapper``).

    Support is decided when the wrapper is built
    (:func:`radplugins.utils.resolve_amp_dtype`): a CPU without bfloat16
    instructions (AVX512-BF16 or AMX) trains in float32, said in one log
    line, since emulated bfloat16 is slower than float32. ``cast_dtype``
    holds the outcome (None for float32).

    Config::

        optim_wrapper = dict(
            type='CPUAmpOptimWrapper',
            optimizer=dict(type='Adam', lr=1e-3))

    ``tools/train.py --amp`` sets it on a CPU (and MMEngine's
    ``AmpOptimWrapper`` with float16 on a GPU).

    Args:
        dtype (str | torch.dtype): ``'bfloat16'``, the only dtype CPU
            autocast trains in without loss scaling.
        **kwargs: ``optimizer``, ``accumulative_counts``, ``clip_grad`` of
            :class:`~mmengine.optim.OptimWrapper`.
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs) -> None:
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(
                f'CPUAmpOptimWrapper trains in bfloat16 only, got dtype='
                f'{dtype!r} (float16 needs loss scaling: AmpOptimWrapper on '
                'a GPU)')
        super().__init__(**kwargs)
        self.cast_dtype = resolve_amp_dtype('cpu', 'bfloat16')
        self._device_checked = False

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context and bfloat16 autocast on the CPU.

        Args:
            model (nn.Module): The training model (possibly wrapped).

        Raises:
            ValueError: If the model is not on the CPU (CPU autocast would
                leave it in float32 without a word).
        """
        if not self._device_checked:
            device = model_device_type(model)
            if device != 'cpu':
                raise ValueError(
                    f'CPUAmpOptimWrapper autocasts on the CPU, but the model '
                    f'is on {device!r}; use AmpOptimWrapper there')
            self._device_checked = True
        with super().optim_context(model), autocast('cpu', self.cast_dtype):
            yield
