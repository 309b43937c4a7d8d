"""Helpers shared by the metrics: safe ratios, host arrays, text tables."""
import math
from typing import List, Optional, Sequence

import numpy as np


def ratio(num: float, den: float) -> float:
    """``num / den``, or NaN when ``den`` is 0 (an undefined score)."""
    return float(num) / den if den else float('nan')


def to_numpy(value) -> np.ndarray:
    """A tensor (any device), array, number or sequence as a host array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def format_cell(key: str, value: Optional[float]) -> str:
    """Table text of one metric: ``-`` if absent, counts as integers, the
    rest with three decimals."""
    if value is None:
        return '-'
    if key.split('/')[-1].startswith('num_'):
        return str(int(value))
    return 'nan' if math.isnan(value) else f'{value:.3f}'


def render_table(rows: Sequence[List[str]], title: str) -> str:
    """Fixed-width table: the first column left-aligned, the rest right,
    a rule under the header and above the last (overall) row.

    Args:
        rows (Sequence[list[str]]): Header row, then one row per group.
        title (str): Line printed above the table.

    Returns:
        str: The table.
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        lines.append('  '.join(
            c.ljust(w) if j == 0 else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0 or i == len(rows) - 2:
            lines.append('-' * len(lines[-1]))
    return title + '\n' + '\n'.join(lines)
