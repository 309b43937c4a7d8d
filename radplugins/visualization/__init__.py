"""Pictures of what the models look at (pure NumPy/OpenCV drawing)."""
from .hotspot_strip import hotspot_strip
from .zoom_overlay import (STEP_COLORS, draw_zoom_boxes, format_prediction,
                           heat_overlay, map_to_frame, normalize_map,
                           render_overlay, render_zoom_panel,
                           saliency_magnitude, sample_to_panel_args,
                           save_image, to_display_bgr, unletterbox_map,
                           zoom_step_frames)

__all__ = [
    'STEP_COLORS', 'draw_zoom_boxes', 'format_prediction', 'heat_overlay',
    'map_to_frame', 'normalize_map', 'render_overlay', 'render_zoom_panel',
    'saliency_magnitude', 'sample_to_panel_args', 'save_image',
    'to_display_bgr', 'unletterbox_map', 'zoom_step_frames',
    'hotspot_strip'
]
from .attention_overlay import render_attention_panel

__all__ += ['render_attention_panel']
