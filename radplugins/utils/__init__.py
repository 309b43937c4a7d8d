"""Utilities: safe checkpoint loading, CPU distributed, config helpers."""
from .checkpoint_compat import (TRAINING_STATE_GLOBALS,
                                enable_safe_checkpoint_loading)
from .config_utils import set_data_root
from .dist_utils import (check_amp_available, setup_cpu_distributed,
                         teardown_distributed)
from .tool_args import add_runner_args, apply_runner_args

__all__ = [
    'TRAINING_STATE_GLOBALS', 'add_runner_args', 'apply_runner_args',
    'check_amp_available', 'enable_safe_checkpoint_loading', 'set_data_root',
    'setup_cpu_distributed', 'teardown_distributed'
]
