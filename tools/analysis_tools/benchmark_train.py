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

Precision and memory format, side by side (``--precision float32
bfloat16``, ``--channels-last``): every variant (each precision, and with
``--channels-last`` each also channels-last) trains its own copy of the
same initial network on the same batches, one step of each in turn, so a
drifting machine slows them alike. Then there is one ``train_step`` line
per variant (``autocast`` says what really ran: a CPU without bfloat16
instructions runs float32), and per variant after the first a
``train_speedup``: the median over iterations of the first variant's step
time over this variant's step of the same iteration, with quartiles
(target >= 1.8 for bfloat16 against float32). ``--infer-iters N`` adds an
``inference`` line per variant (images/s of ``model.test_step`` in eval
mode without gradients, through the tools' ``amp_inference``) and an
``infer_speedup`` per variant after the first, measured alike.

Examples::

    python tools/analysis_tools/benchmark_train.py \\
        configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py \\
        --data-root data/synthetic_mura --iters 20
    python tools/analysis_tools/benchmark_train.py CONFIG --data-root D \\
        --precision float32 bfloat16 --channels-last --infer-iters 10
"""
import argparse
import copy
import resource
import time
from typing import Dict, List, NamedTuple, Optional

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

import radplugins  # noqa: F401
from radplugins.utils.precision import (add_variant_args, optim_cfg_for,
                                        variant_names)
from radplugins.utils import (amp_inference, emit, resolve_amp_dtype,
                              set_data_root, to_channels_last)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
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
    add_variant_args(parser)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides')
    return parser.parse_args(argv)


def peak_memory_mb(device: str) -> float:
    """Peak CUDA allocation, or this process's peak resident set, in MiB."""
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**20
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Variant(NamedTuple):
    """One precision and memory format, with its own model copy."""
    name: str
    precision: str
    channels_last: bool
    model: torch.nn.Module
    optim_wrapper: object


def build_variants(model: torch.nn.Module, optim_wrapper: dict,
                   precisions: List[str], channels_last: bool,
                   device: str) -> List[Variant]:
    """A copy of the same initial network per variant, with its wrapper."""
    variants = []
    initial = copy.deepcopy(model)
    for name, precision, cl in variant_names(precisions, channels_last):
        copy_ = copy.deepcopy(initial).to(device)
        if cl:
            to_channels_last(copy_)
        copy_.train()
        optim = build_optim_wrapper(
            copy_, optim_cfg_for(optim_wrapper, precision, device))
        variants.append(Variant(name, precision, cl, copy_, optim))
    return variants


def autocast_of(variant: Variant) -> Optional[str]:
    """What the variant's training really autocasts to (None: float32)."""
    dtype = getattr(variant.optim_wrapper, 'cast_dtype', None)
    if variant.precision != 'float32' and dtype is None and \
            type(variant.optim_wrapper).__name__ == 'AmpOptimWrapper':
        dtype = torch.float16  # AmpOptimWrapper's default on a GPU
    return None if dtype is None else str(dtype).replace('torch.', '')


def timed_rounds(variants: List[Variant], batches: list, warmup: int,
                 step) -> Dict[str, List[float]]:
    """Seconds of ``step(variant, batch)`` per variant and batch after the
    warm-up, the variants taking turns on each batch."""
    times: Dict[str, List[float]] = {v.name: [] for v in variants}
    for i, batch in enumerate(batches):
        for variant in variants:
            sync(variant)
            start = time.perf_counter()
            step(variant, batch)
            sync(variant)
            if i >= warmup:
                times[variant.name].append(time.perf_counter() - start)
    return times


def sync(variant: Variant) -> None:
    if next(variant.model.parameters()).is_cuda:
        torch.cuda.synchronize()


def speedups(times: Dict[str, List[float]]) -> Dict[str, tuple]:
    """Per variant after the first: the median and quartiles of the first
    variant's time over this one's, iteration by iteration."""
    names = list(times)
    ref = np.array(times[names[0]])
    out = {}
    for name in names[1:]:
        paired = ref / np.array(times[name])
        out[name] = (float(np.median(paired)),
                     [float(q) for q in np.percentile(paired, (25, 75))])
    return out


def emit_speedups(figure: str, times: Dict[str, List[float]],
                  variants: List[Variant], **fields) -> None:
    reference = variants[0]
    for variant in variants[1:]:
        ratio, quartiles = speedups(times)[variant.name]
        record = dict(
            figure=figure, variant=variant.name, reference=reference.name,
            ratio=round(ratio, 3),
            ratio_quartiles=[round(q, 3) for q in quartiles], **fields)
        if variant.precision == 'bfloat16' and \
                reference.precision == 'float32' and figure == \
                'train_speedup':
            record['target_min'] = 1.8
        emit(**record)


def inference_step(variant: Variant, batch: dict) -> None:
    """``model.test_step`` as the tools run it (one batch, no gradients,
    the amp variants through ``amp_inference``)."""
    with amp_inference(variant.model, variant.precision,
                       enabled=variant.precision != 'float32'), \
            torch.no_grad():
        variant.model.test_step(batch)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
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

    variants = build_variants(runner.model, cfg.optim_wrapper,
                              args.precision, args.channels_last,
                              args.device)
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    rss_before = peak_memory_mb('cpu')
    times = timed_rounds(variants, batches, args.warmup,
                         lambda v, b: v.model.train_step(b, v.optim_wrapper))
    for variant in variants:
        seconds = sum(times[variant.name])
        record = dict(
            figure='train_step',
            config=args.config,
            images_per_s=round(args.iters * batch_size / seconds, 2),
            seconds_per_iter=round(seconds / args.iters, 4),
            batch_size=batch_size,
            device=args.device,
            threads=torch.get_num_threads(),
            iters=args.iters)
        if len(variants) > 1 or variant.precision != 'float32':
            record.update(variant=variant.name, precision=variant.precision,
                          channels_last=variant.channels_last,
                          autocast=autocast_of(variant))
        emit(**record)
    emit_speedups('train_speedup', times, variants, config=args.config,
                  device=args.device, iters=args.iters)
    train_seconds = sum(times[variants[0].name])

    if args.infer_iters:
        for variant in variants:
            variant.model.eval()
        infer_times: Dict[str, List[float]] = {v.name: [] for v in variants}
        for i in range(args.infer_iters + 1):  # the first is a warm-up
            batch = batches[i % len(batches)]
            for variant in variants:
                # test_step may drop fields of its samples (the zoom
                # classifier drops the high-resolution copy): each call
                # gets its own copy, made before its time runs.
                copied = copy.deepcopy(batch)
                sync(variant)
                start = time.perf_counter()
                inference_step(variant, copied)
                sync(variant)
                if i:
                    infer_times[variant.name].append(time.perf_counter() -
                                                     start)
        for variant in variants:
            seconds = sum(infer_times[variant.name])
            autocast = None if variant.precision == 'float32' else \
                resolve_amp_dtype(args.device.split(':')[0],
                                  variant.precision)
            emit(figure='inference', config=args.config,
                 variant=variant.name, precision=variant.precision,
                 channels_last=variant.channels_last,
                 autocast=None if autocast is None else
                 str(autocast).replace('torch.', ''),
                 images_per_s=round(args.infer_iters * batch_size / seconds,
                                    2),
                 batch_size=batch_size, device=args.device,
                 threads=torch.get_num_threads(), iters=args.infer_iters)
        emit_speedups('infer_speedup', infer_times, variants,
                      config=args.config, device=args.device,
                      iters=args.infer_iters)

    loader_rate = args.iters * batch_size / loader_seconds
    emit(
        figure='memory',
        config=args.config,
        device=args.device,
        peak_mb=round(peak_memory_mb(args.device), 1),
        peak_rss_before_training_mb=round(rss_before, 1),
        what='cuda max_memory_allocated'
        if args.device.startswith('cuda') else 'process peak RSS',
        **({} if len(variants) == 1 else
           dict(variants=[v.name for v in variants])))
    emit(
        figure='loader_over_train',
        config=args.config,
        ratio=round(loader_rate / (args.iters * batch_size / train_seconds),
                    2),
        **({} if len(variants) == 1 else dict(variant=variants[0].name)))


if __name__ == '__main__':
    main()
