"""Pictures of the zoom: ROI boxes, GBP and entropy maps, crops, panels.

Pure NumPy/OpenCV drawing, shared by :class:`ZoomVisualizationHook`,
``tools/visualization/vis_zoom.py`` and ``tools/infer.py``.

Coordinates follow :mod:`radplugins.saliency.roi`: boxes are
``(x1, y1, x2, y2)`` in continuous pixels of the original image (pixel
``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``). A map of zoom step ``k``
lives on that step's network input, related to the original by
``input = original * scale + offset``: for step 0 the letterbox geometry
(``scale_factor``, ``letterbox_offset``), for step ``k > 0`` the crop of
box ``k - 1`` resized to the input size (see :func:`zoom_step_frames`).

A panel has one row per zoom step::

    +-----------------+-----------------+-----------------+-------------+
    | frame + ROI(s)  | GBP |saliency|   | local entropy   | crop of ROI |
    +-----------------+-----------------+-----------------+-------------+

Row 0's frame is the whole radiograph with every step's box, the saliency
peaks and the prediction written on it; row ``k``'s frame is the region of
box ``k - 1`` (what step ``k`` looked at).
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

ArrayLike = Union[np.ndarray, Sequence[float]]

# BGR, one per zoom step; saturated hues that stand out on gray bone.
STEP_COLORS: Tuple[Tuple[int, int, int], ...] = (
    (40, 255, 40),  # green
    (0, 170, 255),  # orange
    (255, 80, 255),  # magenta
    (255, 255, 0),  # cyan
    (0, 255, 255),  # yellow
)
GT_COLOR = (60, 60, 255)  # red, dashed: ground-truth abnormality
FLAG_COLOR = (255, 255, 0)  # cyan, dotted: a marker (e.g. detected)
BACKGROUND = (32, 32, 32)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def step_color(step: int) -> Tuple[int, int, int]:
    """BGR colour of zoom step ``step`` (cycles after five steps)."""
    return STEP_COLORS[step % len(STEP_COLORS)]


def _to_numpy(value) -> np.ndarray:
    """Tensors (any device) and sequences to a NumPy array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


# ---------------------------------------------------------------------------
# geometry
def zoom_step_frames(scale_factor: ArrayLike, letterbox_offset: ArrayLike,
                     boxes: ArrayLike, input_hw: Tuple[int, int]
                     ) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Geometry of every zoom step's network input.

    Mirrors :class:`ZoomInClassifier`: step 0 sees the letterboxed image;
    step ``k`` sees box ``k - 1`` resized to the input size, i.e.
    ``scale = input_size / box_size`` and ``offset = -box_origin * scale``.

    Args:
        scale_factor (array-like): ``(sx, sy)`` of the letterbox.
        letterbox_offset (array-like): ``(ox, oy)`` of the letterbox.
        boxes (array-like): ``(num_steps, 4)`` ROI boxes, original pixels.
        input_hw (tuple[int, int]): Network input ``(height, width)``.

    Returns:
        list[tuple[np.ndarray, np.ndarray]]: ``(scale, offset)`` per step,
        each ``(2,)`` float64, with ``input = original * scale + offset``.
    """
    boxes = _to_numpy(boxes).reshape(-1, 4).astype(np.float64)
    in_h, in_w = input_hw
    frames = [(_to_numpy(scale_factor).astype(np.float64).reshape(2),
               _to_numpy(letterbox_offset).astype(np.float64).reshape(2))]
    for box in boxes[:-1]:
        size = np.maximum(box[2:] - box[:2], 1e-6)
        scale = np.array([in_w, in_h], dtype=np.float64) / size
        frames.append((scale, -box[:2] * scale))
    return frames


def map_to_frame(map_: np.ndarray,
                 scale: ArrayLike,
                 offset: ArrayLike,
                 out_shape: Tuple[int, int],
                 origin: ArrayLike = (0.0, 0.0),
                 out_scale: float = 1.0) -> np.ndarray:
    """Resample a network-input map onto a grid of the original image.

    The map's pixels relate to the original by
    ``input = original * scale + offset``; output pixel ``(u, v)`` covers
    original ``origin + (u, v) / out_scale``. Only the part of the map that
    shows the output frame is used (letterbox padding is cropped away, as
    if the valid region were cut out and resized), so padding never bleeds
    into the image border.

    Args:
        map_ (np.ndarray): ``(h, w)`` or ``(C, h, w)`` map.
        scale (array-like): ``(sx, sy)``, input pixels per original pixel.
        offset (array-like): ``(ox, oy)`` in input pixels.
        out_shape (tuple[int, int]): Output ``(height, width)``.
        origin (array-like): Original coordinates ``(x, y)`` of the
            output's top-left corner. Defaults to (0, 0).
        out_scale (float): Output pixels per original pixel. Defaults to 1.

    Returns:
        np.ndarray: float32, ``out_shape`` (with the leading ``C`` if given).
    """
    map_ = _to_numpy(map_).astype(np.float32)
    if map_.ndim == 3:
        return np.stack([
            map_to_frame(m, scale, offset, out_shape, origin, out_scale)
            for m in map_
        ])
    if map_.ndim != 2:
        raise ValueError(f'map must be (h, w) or (C, h, w), got shape '
                         f'{map_.shape}')
    out_h, out_w = (int(v) for v in out_shape)
    sx, sy = (float(v) for v in _to_numpy(scale).reshape(2))
    ox, oy = (float(v) for v in _to_numpy(offset).reshape(2))
    gx, gy = (float(v) for v in _to_numpy(origin).reshape(2))
    if min(sx, sy, out_scale) <= 0:
        raise ValueError(f'scales must be positive, got scale=({sx}, {sy}), '
                         f'out_scale={out_scale}')
    h, w = map_.shape
    # The output frame in continuous input coordinates, clipped to the map.
    lo_x, hi_x = gx * sx + ox, (gx + out_w / out_scale) * sx + ox
    lo_y, hi_y = gy * sy + oy, (gy + out_h / out_scale) * sy + oy
    x0 = int(np.clip(np.floor(lo_x + 1e-6), 0, w))
    x1 = int(np.clip(np.ceil(hi_x - 1e-6), 0, w))
    y0 = int(np.clip(np.floor(lo_y + 1e-6), 0, h))
    y1 = int(np.clip(np.ceil(hi_y - 1e-6), 0, h))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((out_h, out_w), np.float32)
    sub = np.ascontiguousarray(map_[y0:y1, x0:x1])
    # Output pixel centre (u + 0.5) sits at original gx + (u + 0.5) / k,
    # i.e. at input index ((...) * sx + ox) - 0.5 - x0 in the sub-map.
    ax, ay = sx / out_scale, sy / out_scale
    bx = (gx + 0.5 / out_scale) * sx + ox - 0.5 - x0
    by = (gy + 0.5 / out_scale) * sy + oy - 0.5 - y0
    matrix = np.array([[ax, 0.0, bx], [0.0, ay, by]], dtype=np.float64)
    return cv2.warpAffine(
        sub,
        matrix, (out_w, out_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE)


def unletterbox_map(map_: np.ndarray, scale_factor: ArrayLike,
                    letterbox_offset: ArrayLike,
                    ori_shape: Tuple[int, int]) -> np.ndarray:
    """Map a letterboxed network-input map back to the original image.

    Equivalent to cutting the valid (non-padding) region out of the map and
    resizing it to the original size.

    Args:
        map_ (np.ndarray): ``(h, w)`` or ``(C, h, w)`` map on the input.
        scale_factor (array-like): ``(sx, sy)`` from
            :class:`LetterboxResize`.
        letterbox_offset (array-like): ``(ox, oy)`` from
            :class:`LetterboxResize`.
        ori_shape (tuple[int, int]): Original ``(height, width)``.

    Returns:
        np.ndarray: float32 map of ``ori_shape``.
    """
    return map_to_frame(map_, scale_factor, letterbox_offset,
                        tuple(ori_shape)[:2])


# ---------------------------------------------------------------------------
# pixels
def to_display_bgr(image: np.ndarray,
                   percentiles: Tuple[float, float] = (0.5, 99.5)
                   ) -> np.ndarray:
    """An 8-bit BGR copy of a radiograph, contrast-stretched for viewing.

    Args:
        image (np.ndarray): ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` BGR
            of any numeric dtype.
        percentiles (tuple[float, float]): Intensities mapped to 0 and 255.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8.
    """
    img = _to_numpy(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise ValueError(f'expected an (H, W) or (H, W, 3) image, got shape '
                         f'{img.shape}')
    img = img.astype(np.float32)
    step = max(1, img.size // (1 << 18))
    lo, hi = np.percentile(img.reshape(-1)[::step], percentiles)
    if hi <= lo:
        hi = lo + 1.0
    img = np.clip((img - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def saliency_magnitude(saliency: np.ndarray) -> np.ndarray:
    """``|saliency|`` maximised over channels (the usual GBP display).

    Args:
        saliency (np.ndarray): ``(C, h, w)`` or ``(h, w)``.

    Returns:
        np.ndarray: ``(h, w)`` float32.
    """
    sal = np.abs(_to_numpy(saliency).astype(np.float32))
    return sal.max(axis=0) if sal.ndim == 3 else sal


def normalize_map(map_: np.ndarray,
                  low_percentile: Optional[float] = None,
                  high_percentile: float = 99.5) -> np.ndarray:
    """Scale a map to [0, 1] between a low value and a high percentile.

    Guided-backprop maps are spiky: dividing by the maximum would leave
    almost everything black, so the top is a high percentile instead.

    Args:
        map_ (np.ndarray): Any float map.
        low_percentile (float, optional): Percentile mapped to 0; None maps
            the minimum.
        high_percentile (float): Percentile mapped to 1.

    Returns:
        np.ndarray: float32 in [0, 1]; a flat map gives zeros.
    """
    m = _to_numpy(map_).astype(np.float32)
    lo = float(m.min()) if low_percentile is None else float(
        np.percentile(m, low_percentile))
    hi = float(np.percentile(m, high_percentile))
    if hi <= lo:
        hi = float(m.max())
    if hi <= lo:
        return np.zeros_like(m)
    return np.clip((m - lo) / (hi - lo), 0.0, 1.0)


def heat_overlay(image_bgr: np.ndarray,
                 heat: np.ndarray,
                 colormap: int = cv2.COLORMAP_JET,
                 alpha: float = 0.75) -> np.ndarray:
    """Colour a [0, 1] map over a dimmed radiograph.

    Each pixel's opacity grows with its value, so cold regions keep
    showing the anatomy and hot regions show the colour map.

    Args:
        image_bgr (np.ndarray): ``(H, W, 3)`` uint8.
        heat (np.ndarray): ``(H, W)`` in [0, 1].
        colormap (int): An OpenCV colour map.
        alpha (float): Opacity of the hottest pixels.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8.
    """
    if heat.shape != image_bgr.shape[:2]:
        raise ValueError(f'heat map {heat.shape} and image '
                         f'{image_bgr.shape[:2]} differ in size')
    color = cv2.applyColorMap(
        np.round(heat * 255).astype(np.uint8), colormap).astype(np.float32)
    # Dimmed anatomy so that the colours carry the eye.
    base = image_bgr.astype(np.float32) * 0.6
    weight = (alpha * np.sqrt(heat))[..., None]
    return np.clip(base * (1 - weight) + color * weight, 0,
                   255).astype(np.uint8)


def _line_width(size: int) -> int:
    return max(1, int(round(size / 150)))


def _dashed_rectangle(img: np.ndarray, p1, p2, color, thickness: int,
                      dash: int) -> None:
    x1, y1 = p1
    x2, y2 = p2
    for (ax, ay), (bx, by) in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)),
                               ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(bx - ax), abs(by - ay))
        for start in range(0, max(length, 1), 2 * dash):
            end = min(start + dash, length)
            t0, t1 = start / max(length, 1), end / max(length, 1)
            cv2.line(img, (int(ax + (bx - ax) * t0), int(ay + (by - ay) * t0)),
                     (int(ax + (bx - ax) * t1), int(ay + (by - ay) * t1)),
                     color, thickness, cv2.LINE_AA)


def put_label(img: np.ndarray,
              text: str,
              org: Tuple[int, int],
              color: Tuple[int, int, int] = (255, 255, 255),
              font_scale: Optional[float] = None,
              anchor: str = 'top-left') -> None:
    """Write text on a dark box so it reads on any background (in place).

    Args:
        img (np.ndarray): ``(H, W, 3)`` uint8, drawn on in place.
        text (str): The text.
        org (tuple[int, int]): Position of the box corner named by
            ``anchor``.
        color (tuple[int, int, int]): BGR text colour.
        font_scale (float, optional): Defaults to a size readable at the
            image's size.
        anchor (str): ``'top-left'`` or ``'top-right'``.
    """
    h, w = img.shape[:2]
    if font_scale is None:
        font_scale = float(np.clip(max(h, w) / 640, 0.4, 1.2))
    font_scale = _fitted_scale(text, max(8, w - 8), font_scale)
    thick = max(1, int(round(font_scale * 1.6)))
    (tw, th), base = cv2.getTextSize(text, _FONT, font_scale, thick)
    pad = max(2, int(round(4 * font_scale)))
    x, y = org
    if anchor == 'top-right':
        x = x - tw - 2 * pad
    x = int(np.clip(x, 0, max(0, w - tw - 2 * pad)))
    y = int(np.clip(y, 0, max(0, h - th - base - 2 * pad)))
    cv2.rectangle(img, (x, y), (x + tw + 2 * pad, y + th + base + 2 * pad),
                  (0, 0, 0), -1)
    cv2.putText(img, text, (x + pad, y + pad + th), _FONT, font_scale, color,
                thick, cv2.LINE_AA)


def draw_zoom_boxes(image_bgr: np.ndarray,
                    boxes: Optional[ArrayLike] = None,
                    peaks: Optional[ArrayLike] = None,
                    label: Optional[str] = None,
                    gt_boxes: Optional[ArrayLike] = None,
                    scale: float = 1.0,
                    origin: ArrayLike = (0.0, 0.0),
                    first_step: int = 0,
                    step_labels: bool = True,
                    flag_boxes: Optional[ArrayLike] = None) -> np.ndarray:
    """Draw ROI boxes (one colour per step), peaks and a label.

    Args:
        image_bgr (np.ndarray): ``(H, W, 3)`` uint8 display image of the
            region starting at original ``origin`` at ``scale`` display
            pixels per original pixel.
        boxes (array-like, optional): ``(num_steps, 4)`` boxes in original
            pixels.
        peaks (array-like, optional): ``(num_steps, 2)`` saliency peaks
            ``(x, y)`` in original pixels, drawn as crosses.
        label (str, optional): Text written in the top-left corner.
        gt_boxes (array-like, optional): ``(K, 4)`` ground-truth boxes in
            original pixels, dashed red.
        scale (float): Display pixels per original pixel.
        origin (array-like): Original ``(x, y)`` of the image's top-left.
        first_step (int): Step number of ``boxes[0]`` (picks its colour).
        step_labels (bool): Write ``S<k>`` next to each box.
        flag_boxes (array-like, optional): ``(F, 4)`` marker ("flag") boxes
            in original pixels, e.g. a detector's, drawn dotted in
            ``FLAG_COLOR``.

    Returns:
        np.ndarray: A new ``(H, W, 3)`` uint8 image.
    """
    out = image_bgr.copy()
    h, w = out.shape[:2]
    lw = _line_width(max(h, w))
    gx, gy = (float(v) for v in _to_numpy(origin).reshape(2))

    def to_px(x, y):
        return (int(round((x - gx) * scale)), int(round((y - gy) * scale)))

    # The label goes underneath: boxes and peaks must stay visible.
    if label:
        put_label(out, label, (0, 0))

    if gt_boxes is not None:
        for box in _to_numpy(gt_boxes).reshape(-1, 4):
            _dashed_rectangle(out, to_px(*box[:2]),
                              to_px(*box[2:]), GT_COLOR, lw,
                              max(4, 3 * lw))
    if flag_boxes is not None:
        for box in _to_numpy(flag_boxes).reshape(-1, 4):
            _dashed_rectangle(out, to_px(*box[:2]), to_px(*box[2:]),
                              FLAG_COLOR, lw, max(2, lw))
    if boxes is not None:
        for k, box in enumerate(_to_numpy(boxes).reshape(-1, 4)):
            color = step_color(first_step + k)
            p1, p2 = to_px(*box[:2]), to_px(*box[2:])
            # A dark halo keeps thin coloured lines visible on bright bone.
            # Axis-aligned: plain lines keep the step colour exact.
            cv2.rectangle(out, p1, p2, (0, 0, 0), lw + 2)
            cv2.rectangle(out, p1, p2, color, lw)
            if step_labels:
                put_label(out, f'S{first_step + k}', (p1[0], p2[1]), color,
                          font_scale=float(np.clip(max(h, w) / 900, 0.35,
                                                   0.9)))
    if peaks is not None:
        # Small, thin crosses: a peak must not hide a small ROI box.
        arm = max(7, 3 * lw)
        mw = max(1, (lw + 1) // 2)
        for k, (x, y) in enumerate(_to_numpy(peaks).reshape(-1, 2)):
            c = to_px(x, y)
            cv2.drawMarker(out, c, (0, 0, 0), cv2.MARKER_CROSS, arm + 2,
                           mw + 2, cv2.LINE_AA)
            cv2.drawMarker(out, c, step_color(first_step + k),
                           cv2.MARKER_CROSS, arm, mw, cv2.LINE_AA)
    return out


def render_overlay(image: np.ndarray,
                   boxes: Optional[ArrayLike] = None,
                   peaks: Optional[ArrayLike] = None,
                   label: Optional[str] = None,
                   gt_boxes: Optional[ArrayLike] = None,
                   max_side: int = 1024) -> np.ndarray:
    """The original with its ROI boxes, peaks and label, as one picture.

    Args:
        image (np.ndarray): Original ``(H, W)`` or ``(H, W, 3)`` BGR image.
        boxes (array-like, optional): ``(num_steps, 4)`` in original pixels.
        peaks (array-like, optional): ``(num_steps, 2)`` in original pixels.
        label (str, optional): Text for the top-left corner.
        gt_boxes (array-like, optional): Ground-truth boxes (dashed).
        max_side (int): Images with a longer side are shrunk to it so that
            lines and text keep a legible size. Defaults to 1024.

    Returns:
        np.ndarray: ``(H', W', 3)`` uint8 with ``max(H', W') <=
        max(max_side, max(H, W))`` and the original aspect ratio.
    """
    display = to_display_bgr(image)
    h, w = display.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        display = cv2.resize(
            display, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA)
        scale = display.shape[1] / w
    return draw_zoom_boxes(display, boxes, peaks, label, gt_boxes, scale)


def crop_region(image: np.ndarray, box: ArrayLike,
                max_side: int) -> Tuple[np.ndarray, np.ndarray, float]:
    """Cut a box out of an image and resize it for display.

    The box is widened to whole pixels (at most one pixel each side) so the
    crop is exact; the returned origin and scale describe that region.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 display image.
        box (array-like): ``(x1, y1, x2, y2)`` in the image's pixels.
        max_side (int): Long side of the result.

    Returns:
        tuple: ``(crop, origin (x, y), scale)`` with ``scale`` display
        pixels per image pixel.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in _to_numpy(box).reshape(4))
    ix1 = int(np.clip(np.floor(x1), 0, w - 1))
    iy1 = int(np.clip(np.floor(y1), 0, h - 1))
    ix2 = int(np.clip(np.ceil(x2), ix1 + 1, w))
    iy2 = int(np.clip(np.ceil(y2), iy1 + 1, h))
    region = image[iy1:iy2, ix1:ix2]
    scale = max_side / max(region.shape[:2])
    size = (max(1, int(round(region.shape[1] * scale))),
            max(1, int(round(region.shape[0] * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    # Exact per-axis scale after rounding, so overlays line up.
    return cv2.resize(region, size, interpolation=interp), np.array(
        [ix1, iy1], np.float64), size[0] / region.shape[1]


def _fitted_scale(text: str, width: int, font_scale: float) -> float:
    """Shrink ``font_scale`` until ``text`` fits in ``width`` pixels."""
    text_w = cv2.getTextSize(text, _FONT, font_scale, 1)[0][0]
    return font_scale if text_w <= width else font_scale * width / text_w


def _fit_tile(img: np.ndarray, tile: int, caption: str,
              caption_h: int) -> np.ndarray:
    """Centre an image in a ``tile x tile`` cell under a caption strip."""
    cell = np.full((tile + caption_h, tile, 3), BACKGROUND, np.uint8)
    h, w = img.shape[:2]
    if max(h, w) > tile:
        s = tile / max(h, w)
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                         interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
    y = caption_h + (tile - h) // 2
    x = (tile - w) // 2
    cell[y:y + h, x:x + w] = img
    if caption:
        font_scale = _fitted_scale(caption, tile - 10, caption_h / 40)
        cv2.putText(cell, caption, (6, int(caption_h * 0.72)), _FONT,
                    font_scale, (235, 235, 235), 1, cv2.LINE_AA)
    return cell


# ---------------------------------------------------------------------------
# panels
def _panel_header(width: int, caption_h: int, title: Optional[str],
                  pred_label: str, pred: str) -> np.ndarray:
    """The band above a panel: ``title`` and ``'{pred_label}: {pred}'``
    (each only when given) in white, two captions high.

    Args:
        width (int): The panel's width in pixels.
        caption_h (int): Height of a tile caption; the band is twice it.
        title (str, optional): E.g. the file name.
        pred_label (str): What the prediction is, e.g. ``'prediction'``.
        pred (str): The prediction's text; empty for none.

    Returns:
        np.ndarray: ``(2 * caption_h, width, 3)`` uint8 BGR.
    """
    header_h = 2 * caption_h
    header = np.full((header_h, width, 3), BACKGROUND, np.uint8)
    head = [title] if title else []
    if pred:
        head.append(f'{pred_label}: {pred}')
    if head:
        text = '   '.join(head)
        cv2.putText(header, text, (6, int(header_h * 0.68)), _FONT,
                    _fitted_scale(text, width - 12, header_h / 50),
                    (255, 255, 255), 1, cv2.LINE_AA)
    return header


def format_prediction(class_names: Optional[Sequence[str]],
                      pred_score: Optional[ArrayLike]) -> Optional[str]:
    """``'<class> p=<probability>'`` of the arg-max class, or None."""
    if pred_score is None:
        return None
    score = _to_numpy(pred_score).reshape(-1)
    label = int(score.argmax())
    name = class_names[label] if class_names is not None and \
        label < len(class_names) else f'class {label}'
    return f'{name} p={score[label]:.2f}'


def render_zoom_panel(image: np.ndarray,
                      boxes: Optional[ArrayLike] = None,
                      saliency_maps: Optional[ArrayLike] = None,
                      entropy_maps: Optional[ArrayLike] = None,
                      scale_factor: Optional[ArrayLike] = None,
                      letterbox_offset: Optional[ArrayLike] = None,
                      peaks: Optional[ArrayLike] = None,
                      pred_score: Optional[ArrayLike] = None,
                      scale_scores: Optional[ArrayLike] = None,
                      class_names: Optional[Sequence[str]] = None,
                      gt_boxes: Optional[ArrayLike] = None,
                      title: Optional[str] = None,
                      tile_size: int = 320,
                      flag_boxes: Optional[ArrayLike] = None) -> np.ndarray:
    """Compose the picture of one zoom: one row of four tiles per step.

    Row ``k`` shows step ``k``'s frame (row 0: the whole radiograph with
    every box, the saliency peaks and the prediction), its GBP map
    (``|saliency|`` max over channels), its local-entropy map, each over
    the frame and with the step's box, and the crop of that box (what the
    next scale classifies). Without maps, the map tiles are left out.

    Args:
        image (np.ndarray): The original image, ``(H, W)`` or ``(H, W, 3)``
            BGR, any dtype (contrast-stretched for display).
        boxes (array-like, optional): ``(num_steps, 4)`` ROI boxes in
            original pixels (``zoom_boxes``).
        saliency_maps (array-like, optional): ``(num_steps, C, h, w)`` on
            each step's network input.
        entropy_maps (array-like, optional): ``(num_steps, h, w)``.
        scale_factor (array-like, optional): Letterbox ``(sx, sy)``; needed
            with maps.
        letterbox_offset (array-like, optional): Letterbox ``(ox, oy)``;
            needed with maps.
        peaks (array-like, optional): ``(num_steps, 2)`` saliency peaks.
        pred_score (array-like, optional): Combined class probabilities.
        scale_scores (array-like, optional): ``(num_steps + 1, classes)``
            probabilities of each scale.
        class_names (Sequence[str], optional): Names of the classes.
        gt_boxes (array-like, optional): Ground-truth boxes to draw dashed.
        title (str, optional): Header text (e.g. the file name).
        tile_size (int): Side of each square tile in pixels.
        flag_boxes (array-like, optional): Marker boxes (e.g. detected) to
            draw dotted on the image and region tiles.

    Returns:
        np.ndarray: ``(H', W', 3)`` uint8 BGR panel; ``W'`` is
        ``4 * tile_size`` with maps (``2 * tile_size`` without), ``H'`` is a
        header plus ``max(1, num_steps)`` rows of ``tile_size`` and a
        caption strip.
    """
    display = to_display_bgr(image)
    ori_h, ori_w = display.shape[:2]
    boxes_np = None if boxes is None else _to_numpy(boxes).reshape(-1, 4)
    num_steps = 0 if boxes_np is None else len(boxes_np)
    peaks_np = None if peaks is None else _to_numpy(peaks).reshape(-1, 2)
    sal = None if saliency_maps is None else _to_numpy(saliency_maps)
    ent = None if entropy_maps is None else _to_numpy(entropy_maps)
    with_maps = (sal is not None or ent is not None) and num_steps > 0
    if with_maps and (scale_factor is None or letterbox_offset is None):
        raise ValueError('saliency/entropy maps need scale_factor and '
                         'letterbox_offset to be mapped to the image')
    for name, maps in (('saliency_maps', sal), ('entropy_maps', ent)):
        if maps is not None and len(maps) != num_steps:
            raise ValueError(f'{name} has {len(maps)} steps but there are '
                             f'{num_steps} boxes')
    caption_h = max(16, tile_size // 16)
    scores = None if scale_scores is None else _to_numpy(scale_scores)

    def scale_text(k: int) -> str:
        if scores is None or k >= len(scores):
            return ''
        return f' (scale {k}: {format_prediction(class_names, scores[k])})'

    rows = []
    frames = []
    if with_maps:
        input_hw = (sal if sal is not None else ent).shape[-2:]
        frames = zoom_step_frames(scale_factor, letterbox_offset, boxes_np,
                                  input_hw)
    full_scale = tile_size / max(ori_h, ori_w)
    for k in range(max(1, num_steps)):
        if k == 0:
            interp = cv2.INTER_AREA if full_scale < 1 else cv2.INTER_LINEAR
            size = (max(1, round(ori_w * full_scale)),
                    max(1, round(ori_h * full_scale)))
            frame = cv2.resize(display, size, interpolation=interp)
            origin = np.zeros(2)
            fscale = size[0] / ori_w
            tile0 = draw_zoom_boxes(
                frame, boxes_np, peaks_np,
                format_prediction(class_names, pred_score), gt_boxes, fscale,
                origin, flag_boxes=flag_boxes)
            caption0 = 'image' + scale_text(0)
        else:
            frame, origin, fscale = crop_region(display, boxes_np[k - 1],
                                                tile_size)
            tile0 = draw_zoom_boxes(frame, boxes_np[k:k + 1],
                                    None if peaks_np is None else
                                    peaks_np[k:k + 1], None, gt_boxes,
                                    fscale, origin, first_step=k,
                                    flag_boxes=flag_boxes)
            caption0 = f'region S{k - 1}' + scale_text(k)
        tiles = [_fit_tile(tile0, tile_size, caption0, caption_h)]
        step_box = None if boxes_np is None else boxes_np[k:k + 1]
        step_peak = None if peaks_np is None else peaks_np[k:k + 1]
        if with_maps:
            scale, offset = frames[k]
            out_shape = frame.shape[:2]
            for maps, caption, transform in (
                    (sal, f'GBP |saliency| S{k}', saliency_magnitude),
                    (ent, f'local entropy S{k}', None)):
                if maps is None:
                    heat_tile = np.full_like(frame, BACKGROUND)
                else:
                    m = maps[k] if transform is None else transform(maps[k])
                    m = map_to_frame(m, scale, offset, out_shape, origin,
                                     fscale)
                    heat = normalize_map(m)
                    heat_tile = draw_zoom_boxes(
                        heat_overlay(frame, heat), step_box, step_peak,
                        None, None, fscale, origin, first_step=k,
                        step_labels=False)
                tiles.append(_fit_tile(heat_tile, tile_size, caption,
                                       caption_h))
        if num_steps:
            crop, _, _ = crop_region(display, boxes_np[k], tile_size)
            tiles.append(
                _fit_tile(crop, tile_size, f'crop S{k}' + scale_text(k + 1),
                          caption_h))
        rows.append(np.concatenate(tiles, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [
        np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)))
        if r.shape[1] < width else r for r in rows
    ]
    header = _panel_header(width, caption_h, title, 'prediction',
                           format_prediction(class_names, pred_score))
    return np.concatenate([header] + rows, axis=0)


def sample_to_panel_args(sample) -> Dict[str, object]:
    """The :func:`render_zoom_panel` arguments carried by a prediction.

    Args:
        sample (DataSample | dict): An MMPretrain prediction, e.g. from
            :class:`ZoomInClassifier` (``zoom_boxes``, ``saliency_peaks``,
            ``scale_scores``, ``pred_score``, optional maps, and the
            ``scale_factor``/``letterbox_offset`` metainfo), or a plain
            classifier's (only ``pred_score``).

    Returns:
        dict: Keyword arguments (absent fields are None).
    """
    get = sample.get
    args = dict(
        boxes=get('zoom_boxes', None),
        saliency_maps=get('saliency_maps', None),
        entropy_maps=get('entropy_maps', None),
        scale_factor=get('scale_factor', None),
        letterbox_offset=get('letterbox_offset', None),
        peaks=get('saliency_peaks', None),
        pred_score=get('pred_score', None),
        scale_scores=get('scale_scores', None),
        gt_boxes=get('gt_abnormal_boxes', None),
    )
    return args


def save_image(path: str, image: np.ndarray) -> str:
    """Write an image, creating its folder; fail loudly.

    Args:
        path (str): Output file (the extension picks the format).
        image (np.ndarray): uint8 image.

    Returns:
        str: ``path``.

    Raises:
        OSError: If OpenCV cannot write the file.
    """
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'cannot write image {path}')
    return path
