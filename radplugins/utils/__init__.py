"""Utilities: safe and checked checkpoint loading, CPU distributed, config
helpers."""
from .checkpoint_compat import (TRAINING_STATE_GLOBALS,
                                enable_safe_checkpoint_loading)
from .checkpoint_loading import (CheckpointError, check_training_checkpoint,
                                 load_model_checkpoint,
                                 load_state_dict_checked, read_checkpoint)
from .config_utils import set_data_root
from .dist_utils import (check_amp_available, setup_cpu_distributed,
                         teardown_distributed)
from .tool_args import add_runner_args, apply_runner_args

__all__ = [
    'CheckpointError', 'TRAINING_STATE_GLOBALS', 'add_runner_args',
    'apply_runner_args', 'check_amp_available', 'check_training_checkpoint',
    'enable_safe_checkpoint_loading', 'load_model_checkpoint',
    'load_state_dict_checked', 'read_checkpoint', 'set_data_root',
    'setup_cpu_distributed', 'teardown_distributed'
]
