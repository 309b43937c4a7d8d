"""What the scripts of ``tools/analysis_tools`` share: one JSON line per
figure on standard output, and timing that waits for the device."""
import json
import time
from typing import Callable

import torch

__all__ = ['emit', 'sync', 'timed']


def emit(**record) -> None:
    """Print ``record`` as one JSON line and flush it at once, so a reader
    of a pipe sees each figure as soon as it is measured.

    Args:
        **record: The figure's fields, in the order they are printed;
            values must be JSON-serialisable (NaN prints as ``NaN``, as
            :func:`json.dumps` writes it).
    """
    print(json.dumps(record), flush=True)


def sync(device: str) -> None:
    """Wait for the queued GPU work of ``device`` (a no-op on the CPU), so
    that a timer read afterwards includes it.

    Args:
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
    """
    if str(device).startswith('cuda'):
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: str) -> float:
    """Seconds one call of ``fn`` takes, the device's queued work before
    it excluded and its own included.

    Args:
        fn (callable): Called once without arguments.
        device (str): The device ``fn`` runs on.

    Returns:
        float: Wall-clock seconds.
    """
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start
