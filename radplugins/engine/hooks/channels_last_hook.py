"""Channels-last (NHWC) memory format for training and inference."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from radplugins.utils.precision import to_channels_last


# In MMEngine's root registry, so that mmpretrain and mmdet configs (and
# the tools that add it to either) find it.
@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Store the model channels-last before training, validation, testing.

    oneDNN's CPU convolutions (and cuDNN's under float16) can be faster on
    NHWC tensors; whether they are depends on the machine and the network,
    so measure first (``benchmark_train.py --channels-last``). The
    conversion happens after the weights are loaded, keeps the parameter
    objects (the optimiser's references stay valid) and changes no value.

    Config::

        custom_hooks = [dict(type='ChannelsLastHook')]

    or ``--channels-last`` on ``tools/train.py`` and ``tools/test.py``.
    """

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        """Convert the model before the first training iteration."""
        to_channels_last(runner.model)

    def before_val(self, runner) -> None:
        """Convert the model before validation."""
        to_channels_last(runner.model)

    def before_test(self, runner) -> None:
        """Convert the model before testing."""
        to_channels_last(runner.model)
