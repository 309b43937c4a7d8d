"""Utilities: safe checkpoint loading, CPU distributed, config helpers,
the output guard of the tools."""
from .checkpoint_compat import (TRAINING_STATE_GLOBALS,
                                enable_safe_checkpoint_loading)
from .config_utils import data_roots, set_data_root
from .dist_utils import (check_amp_available, setup_cpu_distributed,
                         teardown_distributed)
from .output_guard import UnsafeOutputError, check_output, path_is_within
from .tool_args import add_runner_args, apply_runner_args

__all__ = [
    'TRAINING_STATE_GLOBALS', 'add_runner_args', 'apply_runner_args',
    'check_amp_available', 'check_output', 'data_roots',
    'enable_safe_checkpoint_loading',
    'path_is_within', 'set_data_root', 'setup_cpu_distributed',
    'teardown_distributed', 'UnsafeOutputError'
]
