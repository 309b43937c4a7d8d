"""Measure training throughput and memory of a config.

Prints one JSON line per figure:

- ``dataloader``: images/s the train dataloader delivers (decode, augment,
  collate; with the config's workers), no model involved;
- ``train_step``: images/s of ``model.train_step`` (preprocess, forward,
  backward, optimizer step) on batches already in memory;
- ``memory``: peak resident memory of this process (CPU) or peak CUDA
  memory allocated, during the train steps;
- ``loader_over_train``: the first figure over the second. Below 1 the
  model waits for data; 1.5 leaves room for the workers' share of the CPU
  while they run beside the model.

Later features report their overhead as ratios against these figures.

Example::

    python tools/analysis_tools/benchmark_train.py \\
        configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py \\
        --data-root data/synthetic_mura --iters 20
"""
import argparse
import resource
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import radplugins  # noqa: F401
from radplugins.utils import emit, set_data_root


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--data-root', help='override the datasets\' root')
    parser.add_argument(
        '--iters', type=int, default=20, help='measured iterations')
    parser.add_argument(
        '--warmup', type=int, default=3, help='unmeasured iterations first')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of the model')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides')
    return parser.parse_args()


def peak_memory_mb(device: str) -> float:
    """Peak CUDA allocation, or this process's peak resident set, in MiB."""
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**20
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = cfg.get('work_dir') or 'work_dirs/benchmark_train'
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks = dict()
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    total = args.warmup + args.iters

    loader = runner.build_dataloader(cfg.train_dataloader)
    batch_size = cfg.train_dataloader.batch_size
    batches = []
    it = iter(loader)
    for i in range(total):
        if i == args.warmup:
            start = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        batches.append(batch)
    loader_seconds = time.perf_counter() - start
    emit(
        figure='dataloader',
        config=args.config,
        images_per_s=round(args.iters * batch_size / loader_seconds, 2),
        batch_size=batch_size,
        num_workers=cfg.train_dataloader.get('num_workers', 0),
        iters=args.iters)
    del it, loader

    model = runner.model.to(args.device)
    model.train()
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    rss_before = peak_memory_mb('cpu')
    for i, batch in enumerate(batches):
        if i == args.warmup:
            if args.device.startswith('cuda'):
                torch.cuda.synchronize()
            start = time.perf_counter()
        model.train_step(batch, optim_wrapper)
    if args.device.startswith('cuda'):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    loader_rate = args.iters * batch_size / loader_seconds
    emit(
        figure='train_step',
        config=args.config,
        images_per_s=round(args.iters * batch_size / seconds, 2),
        seconds_per_iter=round(seconds / args.iters, 4),
        batch_size=batch_size,
        device=args.device,
        threads=torch.get_num_threads(),
        iters=args.iters)
    emit(
        figure='memory',
        config=args.config,
        device=args.device,
        peak_mb=round(peak_memory_mb(args.device), 1),
        peak_rss_before_training_mb=round(rss_before, 1),
        what='cuda max_memory_allocated'
        if args.device.startswith('cuda') else 'process peak RSS')
    emit(
        figure='loader_over_train',
        config=args.config,
        ratio=round(loader_rate / (args.iters * batch_size / seconds), 2))


if __name__ == '__main__':
    main()
