"""Command-line options shared by tools/train.py and tools/test.py."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from .config_utils import set_data_root


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
    are applied last so they win over everything else.

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
    return cfg
