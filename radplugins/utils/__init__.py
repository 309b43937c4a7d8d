"""Utilities: safe and checked checkpoint loading (files, model-zoo URLs
through the torch hub cache, ``init_cfg=Pretrained``), CPU distributed,
config helpers, the output guard of the tools, reading JSON files, mixed
precision, the JSON lines of the analysis tools."""
from .analysis_tools import emit, sync, timed
from .checked_pretrained_init import CheckedPretrainedInit
from .checkpoint_compat import (TRAINING_STATE_GLOBALS,
                                enable_safe_checkpoint_loading)
from .checkpoint_loading import (CheckpointError, check_training_checkpoint,
                                 load_model_checkpoint,
                                 load_state_dict_checked, read_checkpoint)
from .config_utils import data_roots, set_data_root
from .dist_utils import setup_cpu_distributed, teardown_distributed
from .json_files import read_json
from .model_zoo import (PretrainedWeightsUnavailable, hub_cache_path,
                        load_from_http_cached)
from .output_guard import (UnsafeOutputError, check_output,
                           check_output_or_exit, path_is_within)
from .precision import (amp_inference, amp_optim_wrapper_cfg,
                        cpu_supports_bf16, resolve_amp_dtype,
                        to_channels_last, to_float32)
from .tool_args import (add_custom_hook, add_precision_args, add_runner_args,
                        apply_precision_args, apply_runner_args)

__all__ = [
    'CheckedPretrainedInit', 'CheckpointError',
    'PretrainedWeightsUnavailable', 'TRAINING_STATE_GLOBALS',
    'UnsafeOutputError', 'add_custom_hook', 'add_precision_args',
    'add_runner_args', 'amp_inference', 'amp_optim_wrapper_cfg',
    'apply_precision_args', 'apply_runner_args', 'check_output',
    'check_output_or_exit', 'check_training_checkpoint',
    'cpu_supports_bf16', 'data_roots', 'emit',
    'enable_safe_checkpoint_loading', 'hub_cache_path',
    'load_from_http_cached', 'load_model_checkpoint',
    'load_state_dict_checked', 'path_is_within', 'read_checkpoint',
    'read_json',
    'resolve_amp_dtype', 'set_data_root', 'setup_cpu_distributed', 'sync',
    'teardown_distributed', 'timed', 'to_channels_last', 'to_float32'
]
