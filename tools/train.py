"""Train a radplugins model from a config.

Examples::

    python tools/train.py configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py
    python tools/train.py CONFIG --resume                # latest in work_dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    python tools/train.py CONFIG --data-root /data/mura  # real MURA-v1.1
    python tools/train.py CONFIG --check-data   # every file loads first
    python tools/train.py CONFIG --amp   # bfloat16 on a CPU, float16 on a GPU
    bash tools/dist_train.sh CONFIG 2                    # 2 processes
"""
import argparse

from mmengine.config import Config

# Registers radplugins and its safe checkpoint loading before the config
# is read; configs also import it through custom_imports.
import radplugins  # noqa: F401
from radplugins.engine import build_runner
from radplugins.utils import (CheckpointError, add_custom_hook,
                              add_precision_args, add_runner_args,
                              apply_precision_args, apply_runner_args,
                              setup_cpu_distributed, teardown_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a radplugins model')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or, without a value, from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    parser.add_argument(
        '--check-data',
        action='store_true',
        help='before the first epoch, load every training and validation '
        'file once and stop with a list of all that fail '
        '(CheckDatasetHook)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual total batch size')
    add_precision_args(parser)
    add_runner_args(parser)
    return parser.parse_args()


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    # --amp: CPUAmpOptimWrapper (bfloat16) on a CPU, AmpOptimWrapper
    # (float16) on a GPU, and validation under autocast.
    apply_precision_args(cfg, args, training=True)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.check_data:
        add_custom_hook(cfg, 'CheckDatasetHook')
    return apply_runner_args(cfg, args)


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg, args.launcher)
    try:
        # Checks that checkpoints fit the model (load_from, --resume).
        runner = build_runner(cfg)
        runner.train()
    except CheckpointError as exc:
        raise SystemExit(f'error: {exc}')
    # The runner holds the process group through its DDP wrapper.
    del runner
    teardown_distributed()


if __name__ == '__main__':
    main()
