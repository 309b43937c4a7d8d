"""Command-line options shared by tools/train.py and tools/test.py."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.device import get_device

from .config_utils import data_roots, set_data_root
from .output_guard import check_output_or_exit
from .precision import amp_optim_wrapper_cfg


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--data-root``, ``--cfg-options``, ``--launcher``
    and ``--local-rank`` to a tool's parser.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument('--work-dir', help='where logs and outputs go')
    parser.add_argument(
        '--data-root',
        help='point every dataset of the config at this folder (for MURA: '
        'the folder containing MURA-v1.1/)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. train_cfg.max_epochs=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def apply_runner_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the options of :func:`add_runner_args` to a loaded config.

    The work dir defaults to ``work_dirs/<config name>``; ``--cfg-options``
    are applied last so they win over everything else. A work dir that is,
    contains or lies inside a dataset's ``data_root`` ends the program
    with one error line: logs and checkpoints never go into the data.

    Args:
        cfg (Config): The config; modified in place.
        args (argparse.Namespace): Parsed arguments with ``config``.

    Returns:
        Config: ``cfg``.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_output_or_exit(cfg.work_dir, data_roots(cfg), is_dir=True,
                         label='--work-dir')
    return cfg


def add_custom_hook(cfg: Config, hook_type: str, **kwargs) -> None:
    """Add ``dict(type=hook_type, **kwargs)`` to the config's
    ``custom_hooks`` unless a hook of that type is there already.

    Args:
        cfg (Config): The config; modified in place.
        hook_type (str): The registered hook's name.
        **kwargs: Its arguments.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == hook_type for h in hooks):
        cfg.custom_hooks = hooks + [dict(type=hook_type, **kwargs)]


def add_precision_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--amp`` and ``--channels-last`` to a tool's parser.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: bfloat16 autocast on a CPU with bfloat16 '
        'instructions (float32 and a log line on one without), float16 on '
        'a GPU; scores and boxes are handed on in float32')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='store the model channels-last (NHWC); whether it is faster '
        'depends on the machine: measure with '
        'tools/analysis_tools/benchmark_train.py --channels-last')


def apply_precision_args(cfg: Config, args: argparse.Namespace,
                         training: bool) -> Config:
    """Apply :func:`add_precision_args`'s options to a runner config.

    ``--amp`` adds :class:`~radplugins.engine.hooks.AutocastInferenceHook`
    (validation and test loops) and, when training, switches the optimiser
    wrapper (:func:`~radplugins.utils.precision.amp_optim_wrapper_cfg`:
    ``CPUAmpOptimWrapper`` on a CPU, ``AmpOptimWrapper`` on a GPU).
    ``--channels-last`` adds
    :class:`~radplugins.engine.hooks.ChannelsLastHook`.

    Args:
        cfg (Config): The config; modified in place.
        args (argparse.Namespace): With ``amp`` and ``channels_last``.
        training (bool): Whether the runner will train.

    Returns:
        Config: ``cfg``.
    """
    if args.amp:
        if training:
            cfg.optim_wrapper = amp_optim_wrapper_cfg(cfg.optim_wrapper,
                                                      get_device())
        add_custom_hook(cfg, 'AutocastInferenceHook')
    if args.channels_last:
        add_custom_hook(cfg, 'ChannelsLastHook')
    return cfg
