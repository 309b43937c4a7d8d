"""Validation and testing under autocast (bfloat16 on a CPU)."""
from contextlib import ExitStack
from typing import Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from radplugins.utils.precision import AMP_DTYPES, amp_inference


# In MMEngine's root registry, so that mmpretrain and mmdet configs (and
# the tools that add it to either) find it.
@HOOKS.register_module()
class AutocastInferenceHook(Hook):
    """Run the validation and test loops' steps in mixed precision.

    MMEngine's loops autocast only with ``fp16=True``, and then hand the
    low-precision scores straight to the metrics. This hook wraps the
    model's ``val_step`` and ``test_step`` with
    :func:`radplugins.utils.amp_inference` for each validation and test
    epoch: the forward runs under ``torch.autocast`` (bfloat16 on a CPU
    that has the instructions, float16 on a GPU), the predictions reach the
    metrics in float32. Where the device cannot (a CPU without bfloat16
    instructions), the loops run in float32 and one log line says so.

    Config::

        custom_hooks = [dict(type='AutocastInferenceHook')]

    ``tools/test.py --amp`` adds it, and ``tools/train.py --amp`` for its
    validation.

    Args:
        dtype (str, optional): ``'bfloat16'`` or ``'float16'``; None (the
            default) takes the device's choice.
    """

    priority = 'VERY_LOW'

    def __init__(self, dtype: Optional[str] = None) -> None:
        if dtype is not None and dtype not in AMP_DTYPES:
            raise ValueError(f'AutocastInferenceHook: unknown dtype '
                             f'{dtype!r}; expected one of {AMP_DTYPES} or '
                             'None')
        self.dtype = dtype
        self._stack: Optional[ExitStack] = None

    def _enter(self, runner) -> None:
        self._exit(runner)
        self._stack = ExitStack()
        self._stack.enter_context(amp_inference(runner.model, self.dtype))

    def _exit(self, runner) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def before_val_epoch(self, runner) -> None:
        """Wrap ``val_step`` (and ``test_step``) for this epoch."""
        self._enter(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Restore the model's steps."""
        self._exit(runner)

    def before_test_epoch(self, runner) -> None:
        """Wrap ``test_step`` (and ``val_step``) for this epoch."""
        self._enter(runner)

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Restore the model's steps."""
        self._exit(runner)

    def after_run(self, runner) -> None:
        """Restore the model's steps, should an epoch have stopped early."""
        self._exit(runner)
