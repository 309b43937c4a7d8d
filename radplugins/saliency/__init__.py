"""The saliency core shared by the zoom head, evidence maps and tools.

- :mod:`.guided_backprop`: guided-backprop / plain gradients of class
  scores w.r.t. the input, batched, on the model's device.
- :mod:`.local_entropy`: the paper's eq. (5) over a sliding window.
- :mod:`.roi`: threshold, region box, map to the original, enlarge, crop.
- :mod:`.evidence`: saliency averaged over inverted augmentations.
- :mod:`.grad_cam`: Grad-CAM at a feature map, a second opinion.
"""
from .guided_backprop import (RULES, SCORES, SwitchableReLU, backward_rule,
                              class_score_gradients, class_scores,
                              current_backward_rule, record_relus, saliency,
                              saliency_mode)
from .evidence import (evidence_hotspots, reference_volumes,
                       smooth_in_plane, stratified_path_points)
from .grad_cam import grad_cam
from .local_entropy import local_entropy, quantize_saliency, saliency_entropy
from .roi import (boxes_from_maps, crop_and_resize, fit_boxes, map_boxes,
                  map_thresholds, otsu_thresholds, saliency_peaks)

__all__ = [
    'RULES', 'SCORES', 'SwitchableReLU', 'backward_rule', 'boxes_from_maps',
    'class_score_gradients', 'class_scores', 'crop_and_resize', 'current_backward_rule',
    'fit_boxes', 'grad_cam', 'local_entropy', 'map_boxes', 'map_thresholds',
    'otsu_thresholds', 'quantize_saliency', 'record_relus', 'saliency',
    'saliency_entropy', 'saliency_mode', 'saliency_peaks',
    'evidence_hotspots', 'reference_volumes', 'smooth_in_plane',
    'stratified_path_points'
]
