"""Drawing primitives for synthetic radiographs.

A radiograph is rendered as attenuation on a float32 canvas in [0, 1]:
background, a soft-tissue envelope, bones with a bright cortex and a darker,
textured medulla, and optionally an implant, a fracture and a marker
("flag"). Anatomy is described in a normalised frame (unit square, limb
axis vertical) and posed into the image by a similarity transform, so the
views of one study share their anatomy and lesion but not their pose.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

# Sub-pixel precision for cv2 drawing calls (coordinates scaled by 2**4).
_SHIFT = 4
_SCALE = 1 << _SHIFT


@dataclass
class Bone:
    """A long bone (capsule) or a round bone (``p1 == p2``).

    Coordinates are in the normalised anatomy frame.

    Attributes:
        p1 (tuple): One end ``(x, y)``.
        p2 (tuple): Other end.
        radius (float): Half the shaft width.
        head (float): Radius of the bulge drawn at both ends, as a multiple
            of ``radius`` (0 for none).
        density (float): Attenuation of the cortex.
    """
    p1: Tuple[float, float]
    p2: Tuple[float, float]
    radius: float
    head: float = 1.3
    density: float = 0.55

    @property
    def length(self) -> float:
        return float(np.hypot(self.p2[0] - self.p1[0], self.p2[1] - self.p1[1]))


def _phalanx_ray(x0: float, y0: float, angle: float,
                 lengths: Sequence[float], radius: float) -> List[Bone]:
    """Bones laid end to end from ``(x0, y0)`` towards ``angle`` (radians,
    0 = up)."""
    bones = []
    dx, dy = np.sin(angle), -np.cos(angle)
    x, y = x0, y0
    r = radius
    for length in lengths:
        x2, y2 = x + dx * length, y + dy * length
        bones.append(Bone((x, y), (x2, y2), r, head=1.35))
        gap = 0.25 * r
        x, y = x2 + dx * gap * 2, y2 + dy * gap * 2
        r *= 0.88
    return bones


def body_part_bones(part: str, rng: np.random.Generator) -> List[Bone]:
    """Return the bones of a body part with per-study jitter.

    Args:
        part (str): A MURA body part, e.g. ``'XR_HAND'``.
        rng (np.random.Generator): Source of the anatomical variation.

    Returns:
        list[Bone]: Bones in the normalised frame; the first ones are the
        long bones an abnormality may be placed on.
    """
    j = lambda s=0.02: float(rng.normal(0, s))  # noqa: E731
    if part == 'XR_FINGER':
        bones = _phalanx_ray(0.5 + j(), 1.02, j(0.05),
                             [0.26 + j(), 0.27 + j(), 0.17 + j(), 0.12],
                             0.05 + j(0.004))
    elif part == 'XR_HAND':
        bones = []
        for k in range(4):
            x = 0.36 + 0.09 * k + j(0.01)
            angle = (k - 1.5) * 0.12 + j(0.03)
            bones += _phalanx_ray(x, 0.8, angle,
                                  [0.24, 0.17 + j(), 0.1 + j(0.01),
                                   0.07], 0.024 + j(0.002))
        bones += _phalanx_ray(0.3, 0.86, -0.7 + j(0.05),
                              [0.17, 0.12, 0.09], 0.027)
        for k in range(7):
            cx = 0.36 + 0.05 * (k % 4) + j(0.005)
            cy = 0.86 + 0.05 * (k // 4) + j(0.005)
            bones.append(Bone((cx, cy), (cx, cy), 0.024, head=0, density=0.45))
    elif part == 'XR_WRIST':
        bones = [
            Bone((0.4 + j(), 1.05), (0.41 + j(), 0.66), 0.065, head=1.25),
            Bone((0.6 + j(), 1.05), (0.59 + j(), 0.68), 0.035, head=1.3),
        ]
        for k in range(5):
            x = 0.3 + 0.1 * k + j(0.01)
            bones.append(Bone((x, 0.34), (x + (k - 2) * 0.03, 0.0), 0.026,
                              head=1.4))
        for k in range(8):
            cx = 0.34 + 0.1 * (k % 4) + j(0.008)
            cy = 0.55 - 0.09 * (k // 4) + j(0.008)
            bones.append(Bone((cx, cy), (cx, cy), 0.04, head=0, density=0.45))
    elif part == 'XR_FOREARM':
        bones = [
            Bone((0.42 + j(), 0.04), (0.38 + j(), 0.96), 0.038, head=1.5),
            Bone((0.58 + j(), 0.03), (0.6 + j(), 0.95), 0.033, head=1.4),
        ]
    elif part == 'XR_ELBOW':
        flex = float(rng.uniform(-0.5, 0.1))
        bones = [
            Bone((0.5 + j(), -0.05), (0.5, 0.46), 0.055, head=1.9),
            Bone((0.45, 0.56), (0.45 + np.sin(flex) * 0.5,
                                0.56 + np.cos(flex) * 0.5), 0.032),
            Bone((0.56, 0.5), (0.56 + np.sin(flex) * 0.52,
                               0.5 + np.cos(flex) * 0.52), 0.036,
                 head=1.6),
        ]
    elif part == 'XR_HUMERUS':
        bones = [
            Bone((0.5 + j(), 0.14), (0.5 + j(), 0.88), 0.045, head=1.4),
            Bone((0.5, 0.1), (0.5, 0.1), 0.1, head=0),
            Bone((0.46, 0.91), (0.56, 0.91), 0.04, head=1.1),
        ]
    elif part == 'XR_SHOULDER':
        bones = [
            Bone((0.44 + j(), 0.52), (0.48 + j(), 1.05), 0.06, head=1.2),
            Bone((0.1, 0.13 + j()), (0.88, 0.2 + j()), 0.032, head=1.3),
            Bone((0.43, 0.44), (0.43, 0.44), 0.14, head=0),
            Bone((0.66, 0.42), (0.66, 0.42), 0.07, head=0, density=0.4),
        ]
    else:
        raise ValueError(f'unknown body part {part!r}')
    return bones


def long_bone_indices(bones: Sequence[Bone]) -> List[int]:
    """Indices of bones long enough to carry a plate or a fracture."""
    lengths = [b.length for b in bones]
    cutoff = 0.5 * max(lengths)
    return [i for i, length in enumerate(lengths) if length >= cutoff]


class Pose:
    """Similarity transform from the anatomy frame to image pixels.

    Args:
        width (int): Image width.
        height (int): Image height.
        angle (float): Rotation in radians.
        scale (float): Anatomy frame size as a fraction of the long side.
        shift (tuple): Offset of the frame centre, in fractions of the size.
        mirror (bool): Mirror the anatomy left-right.
    """

    def __init__(self, width: int, height: int, angle: float, scale: float,
                 shift: Tuple[float, float], mirror: bool) -> None:
        self.size = scale * max(width, height)
        c, s = np.cos(angle), np.sin(angle)
        self.rot = np.array([[c, -s], [s, c]]) * self.size
        if mirror:
            self.rot[:, 0] *= -1
        self.centre = np.array([width / 2 + shift[0] * width,
                                height / 2 + shift[1] * height])

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        """Map ``(N, 2)`` frame points to pixel coordinates."""
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2) - 0.5
        return pts @ self.rot.T + self.centre

    def length(self, value: float) -> float:
        """Map a frame length to pixels."""
        return value * self.size


def _fixed(pt: np.ndarray) -> Tuple[int, int]:
    return int(round(pt[0] * _SCALE)), int(round(pt[1] * _SCALE))


def draw_capsule(canvas: np.ndarray, p1: np.ndarray, p2: np.ndarray,
                 radius: float, value: float) -> None:
    """Draw a filled capsule (round-capped thick line) of ``value``."""
    radius = max(radius, 0.5)
    if np.allclose(p1, p2):
        cv2.circle(canvas, _fixed(p1), int(round(radius * _SCALE)), value,
                   -1, cv2.LINE_AA, _SHIFT)
        return
    cv2.line(canvas, _fixed(p1), _fixed(p2), value,
             max(1, int(round(2 * radius))), cv2.LINE_AA, _SHIFT)
    for p in (p1, p2):
        cv2.circle(canvas, _fixed(p), int(round(radius * _SCALE)), value, -1,
                   cv2.LINE_AA, _SHIFT)


def smooth_noise(shape: Tuple[int, int], cell: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Zero-mean noise with features of about ``cell`` pixels."""
    h, w = shape
    small = rng.standard_normal(
        (max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def render_anatomy(canvas: np.ndarray, bones: Sequence[Bone], pose: Pose,
                   rng: np.random.Generator) -> None:
    """Add soft tissue and bones to ``canvas`` (in place)."""
    h, w = canvas.shape
    tissue = np.zeros_like(canvas)
    for bone in bones:
        p = pose(np.array([bone.p1, bone.p2]))
        draw_capsule(tissue, p[0], p[1], pose.length(bone.radius * 3.2), 1.0)
    sigma = max(1.0, 0.02 * max(h, w))
    tissue = cv2.GaussianBlur(tissue, (0, 0), sigma)
    tissue *= rng.uniform(0.12, 0.22)
    tissue *= 1 + 0.1 * smooth_noise(canvas.shape, max(8, max(h, w) // 20),
                                     rng)
    canvas += tissue

    bone_layer = np.zeros_like(canvas)
    medulla = np.zeros_like(canvas)
    for bone in bones:
        p = pose(np.array([bone.p1, bone.p2]))
        r = pose.length(bone.radius)
        cortex = max(1.0, 0.28 * r)
        draw_capsule(bone_layer, p[0], p[1], r, bone.density)
        if bone.head > 0:
            for q in p:
                draw_capsule(bone_layer, q, q, r * bone.head, bone.density)
        draw_capsule(medulla, p[0], p[1], max(0.5, r - cortex), 1.0)
        if bone.head > 0:
            for q in p:
                draw_capsule(medulla, q, q, max(0.5, r * bone.head - cortex),
                             1.0)
    # Trabecular texture in the medulla, whose density is lower than the
    # cortex's.
    texture = smooth_noise(canvas.shape, max(2, max(h, w) // 150), rng)
    bone_layer *= 1 - medulla * (0.35 - 0.08 * texture)
    canvas += bone_layer


def draw_implant(canvas: np.ndarray, bone: Bone, pose: Pose, t: float,
                 scale: float, rng: np.random.Generator) -> np.ndarray:
    """Draw a metal plate with screws on ``bone``; return its outline.

    Args:
        canvas: Float canvas, modified in place.
        bone: The bone carrying the plate.
        pose: Frame-to-pixel transform.
        t: Position of the plate centre along the bone, in [0, 1].
        scale: Plate length as a fraction of the bone length.
        rng: Random source.

    Returns:
        np.ndarray: ``(K, 2)`` convex outline in pixels.
    """
    p1, p2 = pose(np.array([bone.p1, bone.p2]))
    axis = p2 - p1
    length = np.linalg.norm(axis)
    u = axis / max(length, 1e-6)
    n = np.array([-u[1], u[0]])
    r = pose.length(bone.radius)
    half = 0.5 * min(scale, 0.9) * length
    centre = p1 + axis * t + n * r * rng.uniform(-0.6, 0.6)
    half_w = max(1.0, 0.45 * r)
    corners = np.array([
        centre - u * half - n * half_w, centre + u * half - n * half_w,
        centre + u * half + n * half_w, centre - u * half + n * half_w
    ])
    metal = rng.uniform(0.9, 1.1)
    cv2.fillConvexPoly(canvas, (corners * _SCALE).round().astype(np.int32),
                       metal, cv2.LINE_AA, _SHIFT)
    points = [corners]
    n_screws = max(2, int(round(2 * half / max(3 * half_w, 1))))
    for k in range(n_screws):
        s = centre + u * (-half + (k + 0.5) * 2 * half / n_screws)
        a, b = s - n * 1.3 * r, s + n * 1.3 * r
        draw_capsule(canvas, a, b, max(0.6, 0.18 * r), metal)
        draw_capsule(canvas, s, s, max(1.0, 0.35 * r), metal * 1.05)
        points.append(np.array([a, b]))
    outline = cv2.convexHull(np.concatenate(points).astype(np.float32))
    return outline.reshape(-1, 2).astype(np.float64)


def draw_fracture(canvas: np.ndarray, bone: Bone, pose: Pose, t: float,
                  scale: float, rng: np.random.Generator,
                  tissue_level: float) -> np.ndarray:
    """Cut a thin, jagged dark line across ``bone``; return its outline.

    The line replaces the bone's attenuation with the surrounding soft
    tissue's, as a fracture gap does. ``scale`` sets its thickness relative
    to the bone width.

    Returns:
        np.ndarray: ``(K, 2)`` convex outline in pixels.
    """
    p1, p2 = pose(np.array([bone.p1, bone.p2]))
    axis = p2 - p1
    u = axis / max(np.linalg.norm(axis), 1e-6)
    tilt = rng.uniform(-0.45, 0.45)
    c, s = np.cos(tilt), np.sin(tilt)
    across = np.array([-u[1] * c - u[0] * s, u[0] * c - u[1] * s])
    along = np.array([across[1], -across[0]])
    r = pose.length(bone.radius) * (bone.head if t in (0.0, 1.0) else 1.0)
    centre = p1 + axis * t
    n_pts = 7
    offsets = np.linspace(-1.25 * r, 1.25 * r, n_pts)
    jag = rng.normal(0, 0.12 * r, n_pts)
    pts = centre + np.outer(offsets, across) + np.outer(jag, along)
    thickness = max(1, int(round(0.16 * r * scale)))
    mask = np.zeros_like(canvas)
    cv2.polylines(mask, [(pts * _SCALE).round().astype(np.int32)], False,
                  1.0, thickness, cv2.LINE_AA, _SHIFT)
    canvas[:] = canvas * (1 - mask) + tissue_level * mask
    margin = thickness / 2 + 1
    outline = cv2.convexHull(
        np.concatenate([pts + along * margin,
                        pts - along * margin]).astype(np.float32))
    return outline.reshape(-1, 2).astype(np.float64)


_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX,
          cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
          cv2.FONT_HERSHEY_PLAIN)


def draw_flag(canvas: np.ndarray, text: str, centre: Tuple[float, float],
              height: float, angle_deg: float, opacity: float,
              rng: np.random.Generator) -> np.ndarray:
    """Blend a lead marker (letters in a box) into ``canvas``.

    Args:
        canvas: Float canvas, modified in place.
        text: The letters, e.g. ``'L'`` or ``'JD'``.
        centre: Marker centre ``(x, y)`` in pixels.
        height: Box height in pixels.
        angle_deg: Rotation in degrees.
        opacity: Blend weight in (0, 1].
        rng: Random source (font, polarity, border).

    Returns:
        np.ndarray: ``(4, 2)`` rotated box corners in pixels.
    """
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    thick = max(1, int(round(height / 12)))
    font_scale = cv2.getFontScaleFromHeight(font, max(4, int(height * 0.6)),
                                            thick)
    (tw, th), _ = cv2.getTextSize(text, font, font_scale, thick)
    bw, bh = int(tw + 0.5 * height), int(height)
    patch = np.zeros((bh, bw), np.float32)
    alpha = np.ones((bh, bw), np.float32)
    bright_text = rng.random() < 0.7
    patch[:] = 0.15 if bright_text else 0.95
    cv2.putText(patch, text, ((bw - tw) // 2, (bh + th) // 2), font,
                font_scale, 1.0 if bright_text else 0.05, thick, cv2.LINE_AA)
    if rng.random() < 0.6:
        cv2.rectangle(patch, (0, 0), (bw - 1, bh - 1), 0.9, max(1, thick // 2))
    diag = int(np.ceil(np.hypot(bw, bh))) + 2
    m = cv2.getRotationMatrix2D((bw / 2, bh / 2), angle_deg, 1.0)
    m[:, 2] += (diag / 2 - bw / 2, diag / 2 - bh / 2)
    patch = cv2.warpAffine(patch, m, (diag, diag), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(alpha, m, (diag, diag), flags=cv2.INTER_LINEAR)
    x0 = int(round(centre[0] - diag / 2))
    y0 = int(round(centre[1] - diag / 2))
    h, w = canvas.shape
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(w, x0 + diag), min(h, y0 + diag)
    if xe > xs and ye > ys:
        a = alpha[ys - y0:ye - y0, xs - x0:xe - x0] * opacity
        region = canvas[ys:ye, xs:xe]
        region[:] = region * (1 - a) + patch[ys - y0:ye - y0,
                                             xs - x0:xe - x0] * a
    box = np.array([[0, 0], [bw, 0], [bw, bh], [0, bh]], np.float64)
    return box @ m[:, :2].T + m[:, 2] + (x0, y0)


def clip_outline(outline: np.ndarray, width: int,
                 height: int) -> Optional[Dict[str, list]]:
    """Clip an outline to the image; return its bbox, polygon and area.

    Returns:
        dict | None: ``bbox`` (x1, y1, x2, y2), ``polygon`` (one flat
        list), ``area``; None when nothing of it is inside the image.
    """
    rect = np.array([[0, 0], [width, 0], [width, height], [0, height]],
                    np.float32)
    area, clipped = cv2.intersectConvexConvex(
        outline.astype(np.float32), rect)
    if clipped is None or area <= 0.5:
        return None
    pts = clipped.reshape(-1, 2).astype(np.float64)
    pts[:, 0] = pts[:, 0].clip(0, width)
    pts[:, 1] = pts[:, 1].clip(0, height)
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    return dict(
        bbox=[round(float(v), 2) for v in (x1, y1, x2, y2)],
        polygon=[[round(float(v), 2) for v in pts.reshape(-1)]],
        area=round(float(area), 2))
