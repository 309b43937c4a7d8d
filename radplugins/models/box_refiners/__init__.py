"""Models that move a detector's box edges, registered in MMDetection's MODELS."""
from .box_edge_refiner import (EDGES, WINDOW_SYMMETRIES, BoxEdgeRefiner,
                               crop_windows, decode_edges, edge_peak_mass,
                               edge_soft_targets, from_window,
                               normalise_windows, to_window)

__all__ = [
    'EDGES', 'WINDOW_SYMMETRIES', 'BoxEdgeRefiner', 'crop_windows',
    'decode_edges', 'edge_peak_mass', 'edge_soft_targets', 'from_window',
    'normalise_windows', 'to_window'
]
