"""Picture of evidence hotspots as in SpineNet's Fig. 3."""
from typing import Sequence

import cv2
import numpy as np


def hotspot_strip(volume: np.ndarray,
                  hotspot: np.ndarray,
                  slices: Sequence[int] = (1, 7),
                  gap: int = 4) -> np.ndarray:
    """Chosen slices of a disc volume above the same slices of a hotspot.

    Args:
        volume: ``(S, H, W)`` intensities (shown as clipped to [0, 1]).
        hotspot: ``(S, H, W)`` non-negative map, scaled to its maximum over
            the whole volume (so slices compare) and drawn with a heat
            colour map.
        slices: 0-based slice indices; the paper shows the 2nd and 8th.
        gap: White pixels between panels.

    Returns:
        np.ndarray: ``uint8`` BGR image.
    """
    if volume.shape != hotspot.shape:
        raise ValueError(f'volume {volume.shape} and hotspot '
                         f'{hotspot.shape} differ in shape')
    for s in slices:
        if not 0 <= s < volume.shape[0]:
            raise ValueError(f'slice {s} outside 0..{volume.shape[0] - 1}')
    peak = float(hotspot.max()) or 1.0
    top, bottom = [], []
    for s in slices:
        gray = (np.clip(volume[s], 0, 1) * 255).astype(np.uint8)
        top.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
        heat = (np.clip(hotspot[s] / peak, 0, 1) * 255).astype(np.uint8)
        bottom.append(cv2.applyColorMap(heat, cv2.COLORMAP_JET))
    h, w = volume.shape[1:]
    canvas = np.full((2 * h + gap, len(slices) * w + (len(slices) - 1) * gap,
                      3), 255, np.uint8)
    for i, (a, b) in enumerate(zip(top, bottom)):
        x = i * (w + gap)
        canvas[:h, x:x + w] = a
        canvas[h + gap:, x:x + w] = b
    return canvas
