"""Utilities: safe and checked checkpoint loading, CPU distributed, config
helpers, the output guard of the tools, the JSON lines of the analysis
tools."""
from .analysis_tools import emit, sync, timed
from .checkpoint_compat import (TRAINING_STATE_GLOBALS,
                                enable_safe_checkpoint_loading)
from .checkpoint_loading import (CheckpointError, check_training_checkpoint,
                                 load_model_checkpoint,
                                 load_state_dict_checked, read_checkpoint)
from .config_utils import data_roots, set_data_root
from .dist_utils import (check_amp_available, setup_cpu_distributed,
                         teardown_distributed)
from .output_guard import (UnsafeOutputError, check_output,
                           check_output_or_exit, path_is_within)
from .tool_args import add_runner_args, apply_runner_args

__all__ = [
    'CheckpointError', 'TRAINING_STATE_GLOBALS', 'UnsafeOutputError',
    'add_runner_args', 'apply_runner_args', 'check_amp_available',
    'check_output', 'check_output_or_exit', 'check_training_checkpoint',
    'data_roots', 'emit', 'enable_safe_checkpoint_loading',
    'load_model_checkpoint', 'load_state_dict_checked', 'path_is_within',
    'read_checkpoint', 'set_data_root', 'setup_cpu_distributed', 'sync',
    'teardown_distributed', 'timed'
]
