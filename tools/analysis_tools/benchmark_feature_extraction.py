"""Measure feature extraction against a plain test forward, side by side.

On the same dataloader (the config's test loader pointed at ``--split``),
alternating the two in ``--rounds`` rounds and keeping each one's best:

- ``test_forward``: images/s of ``model.test_step`` over the loader, the
  forward that ``tools/test.py`` runs for every batch (without the
  metric);
- ``feature_extraction``: images/s of
  :func:`radplugins.apis.extract_features` (what ``tools/feature_svm.py``
  runs, without the cache);
- ``ratio``: extraction / test forward images/s (target about 1.0);
- ``memory``: peak resident memory of this process during each, sampled
  every 5 ms from ``/proc/self/status`` (or CUDA's peak allocation), the
  resident memory before them, and the size of the feature matrix.

One JSON line per figure. Example::

    python tools/analysis_tools/benchmark_feature_extraction.py \\
        configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py \\
        --data-root data/synthetic_mura --split valid --rounds 2
"""
import argparse
import threading
import time
from typing import Callable, Tuple

import torch
from mmengine.config import Config, DictAction

import radplugins  # noqa: F401
from radplugins.apis import (build_split_loader, extract_features,
                             init_model_or_exit)
from radplugins.utils import emit, set_data_root


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint (default: initial weights)')
    parser.add_argument('--data-root', help='override the datasets\' root')
    parser.add_argument('--split', default='valid', help='dataset split')
    parser.add_argument('--batch-size', type=int, help='batch size')
    parser.add_argument('--num-workers', type=int, help='loader workers')
    parser.add_argument(
        '--rounds', type=int, default=2, help='alternating rounds of both')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of the model')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides')
    return parser.parse_args()


def current_rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


class PeakMemory:
    """Peak resident memory (or CUDA allocation) inside a ``with`` block,
    sampled by a thread."""

    def __init__(self, device: str, interval: float = 0.005) -> None:
        self.cuda = device.startswith('cuda')
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, current_rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> 'PeakMemory':
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        self.peak_mb = current_rss_mb()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self.cuda:
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20


def timed(run: Callable[[], int], device: str) -> Tuple[float, int, float]:
    """Run once; return (seconds, images, peak MiB)."""
    with PeakMemory(device) as peak:
        start = time.perf_counter()
        images = run()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return seconds, images, peak.peak_mb


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_model_or_exit(cfg, args.checkpoint, args.device)
    loader = build_split_loader(
        cfg,
        args.split,
        batch_size=args.batch_size,
        num_workers=args.num_workers)

    def test_forward() -> int:
        images = 0
        with torch.no_grad():
            for batch in loader:
                model.test_step(batch)
                images += len(batch['data_samples'])
        return images

    feature_dim = []

    def extraction() -> int:
        feats = extract_features(model, loader, progress=False)
        feature_dim[:] = [feats['features'].shape[1]]
        return len(feats['labels'])

    # One unmeasured pass warms the page cache and the allocator.
    test_forward()
    rss_before = current_rss_mb()
    best = {}
    for _ in range(args.rounds):
        for name, run in (('test_forward', test_forward),
                          ('feature_extraction', extraction)):
            seconds, images, peak = timed(run, args.device)
            rate = images / seconds
            if name not in best or rate > best[name]['images_per_s']:
                best[name] = dict(images_per_s=rate, peak_mb=peak,
                                  images=images)
    common = dict(
        config=args.config,
        split=args.split,
        batch_size=loader.batch_size,
        num_workers=loader.num_workers,
        device=args.device,
        threads=torch.get_num_threads(),
        rounds=args.rounds)
    for name in ('test_forward', 'feature_extraction'):
        emit(
            figure=name,
            images=best[name]['images'],
            images_per_s=round(best[name]['images_per_s'], 2),
            **common)
    emit(
        figure='ratio',
        what='feature_extraction / test_forward images/s',
        value=round(best['feature_extraction']['images_per_s'] /
                    best['test_forward']['images_per_s'], 3),
        **common)
    images = best['feature_extraction']['images']
    emit(
        figure='memory',
        what='cuda max_memory_allocated' if args.device.startswith('cuda')
        else 'process peak RSS while running',
        rss_before_mb=round(rss_before, 1),
        test_forward_peak_mb=round(best['test_forward']['peak_mb'], 1),
        feature_extraction_peak_mb=round(
            best['feature_extraction']['peak_mb'], 1),
        feature_matrix_mb=round(images * feature_dim[0] * 4 / 2**20, 2),
        **common)


if __name__ == '__main__':
    main()
