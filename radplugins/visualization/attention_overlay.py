"""Pictures of RA-CNN's attended regions, one tile per scale.

Pure NumPy/OpenCV drawing on top of :mod:`.zoom_overlay`'s helpers. A panel
is one row::

    +-------------------+-------------------+-------------------+
    | scale 0: image    | scale 1: region   | scale 2: region   |
    | + box of scale 1  | of box 1 + box 2  | of box 2          |
    +-------------------+-------------------+-------------------+

Each tile is what that scale classified (in the original's pixels, not the
network's interpolated input), captioned with the scale's prediction, and
shows the box the next scale attends to. Boxes are ``zoom_boxes`` of
:class:`RACNNClassifier` (``x1, y1, x2, y2`` in original pixels); box ``k``
is the region scale ``k + 1`` sees.
"""
from typing import Optional, Sequence

import cv2
import numpy as np

from .zoom_overlay import (_fit_tile, _panel_header, _to_numpy, ArrayLike,
                           crop_region, draw_zoom_boxes, format_prediction,
                           to_display_bgr)


def render_attention_panel(image: np.ndarray,
                           boxes: ArrayLike,
                           scale_scores: Optional[ArrayLike] = None,
                           pred_score: Optional[ArrayLike] = None,
                           class_names: Optional[Sequence[str]] = None,
                           gt_boxes: Optional[ArrayLike] = None,
                           title: Optional[str] = None,
                           tile_size: int = 320) -> np.ndarray:
    """Compose one row of tiles: the region each scale classified.

    Args:
        image (np.ndarray): The original ``(H, W)`` or ``(H, W, 3)`` BGR
            image, any dtype (contrast-stretched for display).
        boxes (array-like): ``(num_scales - 1, 4)`` attended boxes in
            original pixels.
        scale_scores (array-like, optional): ``(num_scales, classes)``
            probabilities of each scale.
        pred_score (array-like, optional): Fused class probabilities.
        class_names (Sequence[str], optional): Names of the classes.
        gt_boxes (array-like, optional): Ground-truth boxes, dashed.
        title (str, optional): Header text (e.g. the file name).
        tile_size (int): Side of each square tile in pixels.

    Returns:
        np.ndarray: ``(H', num_scales * tile_size, 3)`` uint8 BGR panel.
    """
    boxes_np = _to_numpy(boxes).reshape(-1, 4).astype(np.float64)
    num_scales = len(boxes_np) + 1
    scores = None if scale_scores is None else _to_numpy(scale_scores)
    if scores is not None and len(scores) != num_scales:
        raise ValueError(f'scale_scores has {len(scores)} scales but there '
                         f'are {len(boxes_np)} boxes ({num_scales} scales)')
    display = to_display_bgr(image)
    ori_h, ori_w = display.shape[:2]
    caption_h = max(16, tile_size // 16)
    tiles = []
    for k in range(num_scales):
        if k == 0:
            scale = min(1.0, tile_size / max(ori_h, ori_w))
            size = (max(1, round(ori_w * scale)), max(1, round(ori_h * scale)))
            frame = cv2.resize(display, size, interpolation=cv2.INTER_AREA)
            origin, fscale = np.zeros(2), size[0] / ori_w
        else:
            frame, origin, fscale = crop_region(display, boxes_np[k - 1],
                                                tile_size)
        nxt = boxes_np[k:k + 1] if k < num_scales - 1 else None
        tile = draw_zoom_boxes(frame, nxt, None, None, gt_boxes, fscale,
                               origin, first_step=k)
        caption = 'image' if k == 0 else f'region S{k - 1}'
        caption = f'scale {k}: {caption}'
        if scores is not None:
            caption += f'  {format_prediction(class_names, scores[k])}'
        tiles.append(_fit_tile(tile, tile_size, caption, caption_h))
    row = np.concatenate(tiles, axis=1)
    header = _panel_header(row.shape[1], caption_h, title, 'fused',
                           format_prediction(class_names, pred_score))
    return np.concatenate([header, row], axis=0)
