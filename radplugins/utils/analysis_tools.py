"""What the scripts of ``tools/analysis_tools`` share: one JSON line per
figure on standard output, and a device barrier before a timer reads the
clock."""
import json

import torch

__all__ = ['emit', 'sync']


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
