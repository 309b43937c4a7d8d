"""Evaluate a checkpoint on a config's test set.

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out preds.pkl
    python tools/test.py CONFIG CHECKPOINT --tta   # the config's tta_model
    python tools/test.py CONFIG CHECKPOINT --amp   # bfloat16 on a CPU
    bash tools/dist_test.sh CONFIG CHECKPOINT 2
"""
import argparse

from mmengine.config import Config, ConfigDict

import radplugins  # noqa: F401
from radplugins.engine import build_runner
from radplugins.utils import (CheckpointError, add_precision_args,
                              add_runner_args, apply_precision_args,
                              apply_runner_args, check_output_or_exit,
                              data_roots, setup_cpu_distributed,
                              teardown_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a radplugins model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump per-sample predictions (scores, labels, study ids) to '
        'this .pkl file')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: wrap the model in the config\'s '
        'tta_model and load the test set through its tta_pipeline')
    add_precision_args(parser)
    add_runner_args(parser)
    return parser.parse_args()


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    cfg.load_from = args.checkpoint
    # --amp: the test loop under autocast (AutocastInferenceHook).
    apply_precision_args(cfg, args, training=False)
    # --cfg-options first, so that they reach tta_model and tta_pipeline
    # (and, with --tta, the wrapped detector as model.*).
    apply_runner_args(cfg, args)
    if args.tta:
        missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
        if missing:
            raise SystemExit(f'--tta: {args.config} has no '
                             f'{" or ".join(missing)}')
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        dataset = cfg.test_dataloader.dataset
        # Wrapped datasets (e.g. ClassBalancedDataset) hold the pipeline
        # in their innermost dataset.
        while 'dataset' in dataset:
            dataset = dataset.dataset
        dataset.pipeline = cfg.tta_pipeline
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--out must be a .pkl file, got {args.out!r}')
        check_output_or_exit(args.out,
                             [args.config, args.checkpoint] + data_roots(cfg),
                             is_dir=False, label='--out')
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = list(evaluators) + [
            dict(type='DumpResults', out_file_path=args.out)
        ]
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg, args.launcher)
    try:
        # Checks that checkpoints fit the model (load_from, --resume).
        runner = build_runner(cfg)
        runner.test()
    except CheckpointError as exc:
        raise SystemExit(f'error: {exc}')
    # The runner holds the process group through its DDP wrapper.
    del runner
    teardown_distributed()


if __name__ == '__main__':
    main()
