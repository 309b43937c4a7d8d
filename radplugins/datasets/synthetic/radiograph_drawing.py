"""Drawing primitives for synthetic radiographs.

A radiograph is rendered as attenuation on a float32 canvas: background, a
soft-tissue envelope, and bones whose attenuation *adds up* where they
overlap (as in a projection), each with a bright cortex that is thick along
the shaft and thin at the flared ends, and a darker trabecular medulla.
Implants, fractures and markers ("flags") are drawn on top.

Anatomy is described in a normalised frame (limb axis vertical, distal end
up, y pointing down) and posed into the image by a similarity transform
(:class:`Pose`), so the views of one study share their anatomy and lesion
but not their pose.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

# Sub-pixel precision for cv2 drawing calls (coordinates scaled by 2**4).
_SHIFT = 4
_SCALE = 1 << _SHIFT

# The part of the anatomy frame a radiographer collimates to, per body part
# (x1, y1, x2, y2); the pose fits it to the image.
FIELDS = {
    'XR_FINGER': (0.28, 0.0, 0.72, 1.0),
    'XR_HAND': (0.06, 0.0, 0.94, 1.0),
    'XR_WRIST': (0.14, 0.02, 0.86, 1.0),
    'XR_FOREARM': (0.2, 0.0, 0.8, 1.0),
    'XR_ELBOW': (0.14, 0.0, 0.86, 1.0),
    'XR_HUMERUS': (0.24, 0.0, 0.76, 1.0),
    'XR_SHOULDER': (0.02, 0.02, 0.98, 1.0),
}


@dataclass
class Bone:
    """A long bone (``p1 != p2``) or a round bone (``p1 == p2``).

    Coordinates and lengths are in the normalised anatomy frame.

    Attributes:
        p1 (tuple): One end ``(x, y)`` (the centre of a round bone).
        p2 (tuple): The other end.
        radius (float): Half the shaft width (mean radius of a round bone).
        flare (tuple): Half-width at ``p1`` and ``p2`` as a multiple of
            ``radius`` (metaphyses and condyles are wider than the shaft).
        density (float): Attenuation of the cortex.
        bow (float): Sideways bend of the shaft, as a fraction of its
            length.
        group (int): Bones with the same non-negative group are one bone
            (their union is drawn, e.g. humeral head and shaft); -1 for a
            bone of its own.
        shape (tuple): Round bones: ``(aspect, angle, a2, phase2, a3,
            phase3, ...)``, the outline's axis ratio, rotation and harmonic
            wobble.
        lesion (bool): Whether an implant or fracture may be placed on it.
    """
    p1: Tuple[float, float]
    p2: Tuple[float, float]
    radius: float
    flare: Tuple[float, float] = (1.4, 1.4)
    density: float = 0.5
    bow: float = 0.0
    group: int = -1
    shape: Tuple[float, ...] = (1.0, 0.0)
    lesion: bool = False

    @property
    def length(self) -> float:
        return float(np.hypot(self.p2[0] - self.p1[0],
                              self.p2[1] - self.p1[1]))

    @property
    def is_round(self) -> bool:
        return self.length < 1e-9

    def _frame(self) -> Tuple[np.ndarray, np.ndarray, float]:
        p1 = np.asarray(self.p1, np.float64)
        length = max(self.length, 1e-9)
        u = (np.asarray(self.p2, np.float64) - p1) / length
        return u, np.array([-u[1], u[0]]), length

    def point(self, t: float) -> np.ndarray:
        """Centre-line point at fraction ``t`` of the length (frame)."""
        u, n, length = self._frame()
        return (np.asarray(self.p1, np.float64) + u * t * length +
                n * self.bow * length * np.sin(np.pi * t))

    def profile(self, s: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Half-width and cortex thickness along the shaft.

        Args:
            s (np.ndarray): Fractions of the length in [0, 1].

        Returns:
            tuple: ``(half_width, cortex)`` in frame units.
        """
        length = max(self.length, 1e-9)
        e1 = min(0.3, 1.8 * self.flare[0] * self.radius / length)
        e2 = min(0.3, 1.8 * self.flare[1] * self.radius / length)
        w1 = np.exp(-(s / e1)**2)
        w2 = np.exp(-((1 - s) / e2)**2)
        half = self.radius * (1 + (self.flare[0] - 1) * w1 +
                              (self.flare[1] - 1) * w2)
        # Compact bone is thick along the diaphysis and thin at the ends.
        cortex = self.radius * (0.08 + 0.24 * (1 - np.maximum(w1, w2)))
        return half, cortex

    def half_width(self, t: float) -> float:
        """Half-width at fraction ``t`` (frame units)."""
        return float(self.profile(np.array([t]))[0][0])

    def outline(self, inner: bool = False) -> np.ndarray:
        """Closed outline in the frame: the periosteal surface, or the
        endosteal one (inside the cortex) when ``inner``."""
        if self.is_round:
            return self._round_outline(inner)
        u, n, length = self._frame()
        s = np.linspace(0, 1, 28)
        half, cortex = self.profile(s)
        if inner:
            half = np.maximum(half - cortex, 0.2 * half)
        centre = (np.asarray(self.p1)[None] + np.outer(s * length, u) +
                  np.outer(self.bow * length * np.sin(np.pi * s), n))
        left = centre + half[:, None] * n
        right = centre - half[:, None] * n
        phi = np.linspace(0, np.pi, 9)[1:-1, None]
        # Rounded articular ends, flatter than a half circle.
        cap2 = (centre[-1] + half[-1] * np.cos(phi) * n +
                0.45 * half[-1] * np.sin(phi) * u)
        cap1 = (centre[0] - half[0] * np.cos(phi) * n -
                0.45 * half[0] * np.sin(phi) * u)
        return np.concatenate([left, cap2, right[::-1], cap1])

    def _round_outline(self, inner: bool) -> np.ndarray:
        aspect, angle = self.shape[0], self.shape[1]
        theta = np.linspace(0, 2 * np.pi, 36, endpoint=False)
        rho = np.ones_like(theta)
        harmonics = self.shape[2:]
        for k in range(len(harmonics) // 2):
            rho += harmonics[2 * k] * np.cos((k + 2) * theta +
                                             harmonics[2 * k + 1])
        # Flat bones (scapula) have a thin cortex whatever their size.
        cortex = min(0.14 * self.radius, 0.012) if inner else 0.0
        radius = self.radius * rho - cortex
        pts = np.stack([radius * np.cos(theta),
                        aspect * radius * np.sin(theta)], 1)
        c, s = np.cos(angle), np.sin(angle)
        return pts @ np.array([[c, s], [-s, c]]) + np.asarray(self.p1)


def _jitter(rng: np.random.Generator):
    return lambda s=0.02: float(rng.normal(0, s))


def _ray(x0: float, y0: float, angle: float, lengths: Sequence[float],
         radius: float, flares: Sequence[Tuple[float, float]],
         lesion: Sequence[bool]) -> List[Bone]:
    """Bones laid end to end from ``(x0, y0)`` towards ``angle`` (radians,
    0 = up), tapering distally, with joint spaces between them."""
    bones = []
    dx, dy = np.sin(angle), -np.cos(angle)
    x, y, r = x0, y0, radius
    for k, (length, flare, les) in enumerate(zip(lengths, flares, lesion)):
        x2, y2 = x + dx * length, y + dy * length
        bones.append(Bone((x, y), (x2, y2), r, flare=flare, lesion=les))
        # The rounded ends (0.45 x their half-width deep) must not touch:
        # a joint is a dark space, not an overlap.
        next_start = flares[k + 1][0] if k + 1 < len(flares) else 1.0
        gap = 0.45 * r * (flare[1] + 0.86 * next_start) + 0.12 * r
        x, y = x2 + dx * gap, y2 + dy * gap
        r *= 0.86
    return bones


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float,
          density: float = 0.42, aspect: Tuple[float, float] = (0.7, 1.3),
          wobble: float = 0.07, group: int = -1) -> Bone:
    """A round bone with an irregular outline (carpals, humeral head)."""
    shape = (float(rng.uniform(*aspect)), float(rng.uniform(0, np.pi)),
             float(rng.normal(0, wobble)), float(rng.uniform(0, 2 * np.pi)),
             float(rng.normal(0, wobble / 2)),
             float(rng.uniform(0, 2 * np.pi)))
    return Bone((cx, cy), (cx, cy), radius, density=density, group=group,
                shape=shape)


_PHALANX_FLARES = [(1.0, 1.5), (1.5, 1.3), (1.45, 1.25), (1.4, 1.15)]


def body_part_bones(part: str, rng: np.random.Generator) -> List[Bone]:
    """Return the bones of a body part with per-study variation.

    Args:
        part (str): A MURA body part, e.g. ``'XR_HAND'``.
        rng (np.random.Generator): Source of the anatomical variation.

    Returns:
        list[Bone]: Bones in the normalised frame; those with ``lesion``
        set may carry an abnormality.
    """
    j = _jitter(rng)
    if part == 'XR_FINGER':
        scale = 1 + j(0.06)
        bones = _ray(0.5 + j(), 1.12, j(0.05),
                     [0.3 * scale, 0.29 * scale, 0.19 * scale, 0.13 * scale],
                     0.05 + j(0.004), _PHALANX_FLARES,
                     [True, True, True, False])
        # Neighbouring fingers at the edge of the field.
        for side in (-1, 1):
            if rng.random() < 0.6:
                bones += _ray(0.5 + side * (0.29 + j()), 1.14,
                              side * 0.06 + j(0.03), [0.3, 0.26, 0.17, 0.12],
                              0.045, _PHALANX_FLARES, [False] * 4)
    elif part == 'XR_HAND':
        bones = [
            Bone((0.46 + j(), 1.2), (0.46, 0.95), 0.055, flare=(1.0, 1.8),
                 bow=j(0.01)),
            Bone((0.62 + j(), 1.2), (0.61, 0.96), 0.032, flare=(1.0, 1.3)),
        ]
        for k in range(4):
            cx = 0.4 + 0.065 * k + j(0.006)
            bones.append(_blob(rng, cx, 0.79 + j(0.006), 0.028 + j(0.003)))
            bones.append(_blob(rng, cx + 0.01, 0.87 + j(0.006),
                               0.031 + j(0.003)))
        lengths = [(0.27, 0.19, 0.11, 0.08), (0.29, 0.21, 0.13, 0.09),
                   (0.26, 0.2, 0.12, 0.085), (0.24, 0.16, 0.09, 0.075)]
        spread = float(rng.uniform(0.6, 1.4))
        for k, ls in enumerate(lengths):
            s = 1 + j(0.04)
            bones += _ray(0.41 + 0.065 * k + j(0.008), 0.75,
                          (k - 1.5) * 0.1 * spread + j(0.02),
                          [v * s for v in ls], 0.022 + j(0.002),
                          [(1.3, 1.45)] + _PHALANX_FLARES[1:],
                          [True, True, False, False])
        bones += _ray(0.34 + j(0.01), 0.8, -0.6 * spread + j(0.05),
                      [0.16, 0.13, 0.1], 0.025,
                      [(1.3, 1.4), (1.4, 1.25), (1.35, 1.15)],
                      [True, False, False])
    elif part == 'XR_WRIST':
        bones = [
            Bone((0.42 + j(), 1.2), (0.42 + j(), 0.68), 0.06,
                 flare=(1.0, 1.9), bow=j(0.01), lesion=True),
            Bone((0.63 + j(), 1.2), (0.62 + j(), 0.71), 0.035,
                 flare=(1.0, 1.4), lesion=True),
        ]
        for k in range(4):
            bones.append(_blob(rng, 0.37 + 0.085 * k + j(0.008),
                               0.59 + j(0.008), 0.042 + j(0.004)))
            bones.append(_blob(rng, 0.35 + 0.09 * k + j(0.008),
                               0.48 + j(0.008), 0.037 + j(0.004)))
        for k in range(4):
            x = 0.36 + 0.085 * k + j(0.008)
            bones.append(Bone((x, 0.4), (x + (k - 1.5) * 0.05, -0.1), 0.028,
                              flare=(1.35, 1.0), lesion=True))
        bones.append(Bone((0.29, 0.47), (0.1, 0.18), 0.03, flare=(1.35, 1.1)))
    elif part == 'XR_FOREARM':
        bones = [
            Bone((0.4 + j(), 0.0), (0.38 + j(), 1.0), 0.034,
                 flare=(1.9, 1.35), bow=0.025 + j(0.008), lesion=True),
            Bone((0.61 + j(), 0.02), (0.6 + j(), 1.02), 0.03,
                 flare=(1.3, 1.9), bow=j(0.008), lesion=True),
        ]
        for k in range(3):  # the carpal row just inside the field
            bones.append(_blob(rng, 0.4 + 0.1 * k + j(0.01), -0.07, 0.04))
    elif part == 'XR_ELBOW':
        flex = float(rng.uniform(-0.5, 0.15))
        down = np.array([np.sin(flex), np.cos(flex)])
        bones = [
            Bone((0.5 + j(), -0.1), (0.5, 0.46), 0.05, flare=(1.0, 2.4),
                 group=1, lesion=True),
            _blob(rng, 0.37, 0.43, 0.035, density=0.5, group=1),
            Bone((0.55, 0.44), tuple(np.array([0.55, 0.44]) + down * 0.66),
                 0.032, flare=(2.0, 1.0), lesion=True),
            Bone((0.43, 0.53), tuple(np.array([0.43, 0.53]) + down * 0.6),
                 0.029, flare=(1.6, 1.0), bow=0.02, lesion=True),
        ]
    elif part == 'XR_HUMERUS':
        bones = [
            Bone((0.5 + j(), 0.13), (0.5 + j(), 0.9), 0.042,
                 flare=(1.5, 2.3), group=1, lesion=True),
            _blob(rng, 0.52, 0.09, 0.095, density=0.5, aspect=(0.9, 1.1),
                  wobble=0.03, group=1),
            _blob(rng, 0.76, 0.1, 0.08, density=0.28, aspect=(1.4, 1.8)),
            Bone((0.47, 0.95), (0.45, 1.25), 0.03, flare=(1.8, 1.0)),
        ]
    elif part == 'XR_SHOULDER':
        bones = [
            Bone((0.39 + j(), 0.5), (0.36 + j(), 1.15), 0.055,
                 flare=(1.5, 1.0), group=1, lesion=True),
            _blob(rng, 0.4, 0.44, 0.12 + j(0.008), density=0.5,
                  aspect=(0.9, 1.1), wobble=0.03, group=1),
            _blob(rng, 0.74, 0.62, 0.2, density=0.22, aspect=(1.4, 1.7),
                  wobble=0.05, group=2),
            _blob(rng, 0.56, 0.46, 0.055, density=0.42, aspect=(1.8, 2.2),
                  wobble=0.04, group=2),
            _blob(rng, 0.6, 0.34, 0.035, density=0.4, group=2),
            Bone((0.42, 0.27 + j()), (0.68, 0.24), 0.03, flare=(1.3, 1.2),
                 group=2),
            Bone((0.58, 0.21 + j()), (1.1, 0.09 + j()), 0.032,
                 flare=(1.5, 1.3), bow=0.04, lesion=True),
        ]
        for k in range(3):  # faint ribs behind the scapula
            y = 0.42 + 0.17 * k + j(0.01)
            bones.append(Bone((0.66, y), (1.15, y + 0.12), 0.018,
                              flare=(1.0, 1.0), density=0.16, bow=0.08))
    else:
        raise ValueError(f'unknown body part {part!r}')
    return bones


def lesion_bone_indices(bones: Sequence[Bone]) -> List[int]:
    """Indices of the bones an abnormality may be placed on."""
    flagged = [i for i, b in enumerate(bones) if b.lesion]
    if flagged:
        return flagged
    lengths = [b.length for b in bones]
    return [i for i, v in enumerate(lengths) if v >= 0.5 * max(lengths)]


class Pose:
    """Similarity transform from the anatomy frame to image pixels.

    The field of view ``field`` (frame box) is fitted into the image, scaled
    by ``scale``, rotated, shifted and optionally mirrored.

    Args:
        width (int): Image width.
        height (int): Image height.
        angle (float): Rotation in radians.
        scale (float): Size of the field relative to a tight fit.
        shift (tuple): Offset of the field centre, in fractions of the
            image size.
        mirror (bool): Mirror the anatomy left-right (the other side).
        field (tuple): ``(x1, y1, x2, y2)`` frame box to fit.
    """

    def __init__(self,
                 width: int,
                 height: int,
                 angle: float,
                 scale: float,
                 shift: Tuple[float, float],
                 mirror: bool,
                 field: Tuple[float, float, float, float] = (0, 0, 1, 1)
                 ) -> None:
        fw, fh = field[2] - field[0], field[3] - field[1]
        self.size = scale * min(width / fw, height / fh)
        c, s = np.cos(angle), np.sin(angle)
        self.rot = np.array([[c, -s], [s, c]]) * self.size
        if mirror:
            self.rot[:, 0] *= -1
        self.origin = np.array([(field[0] + field[2]) / 2,
                                (field[1] + field[3]) / 2])
        self.centre = np.array([width / 2 + shift[0] * width,
                                height / 2 + shift[1] * height])

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        """Map ``(N, 2)`` frame points to pixel coordinates."""
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2) - self.origin
        return pts @ self.rot.T + self.centre

    def length(self, value: float) -> float:
        """Map a frame length to pixels."""
        return value * self.size

    def keep_inside(self, pt: np.ndarray, width: int, height: int,
                    margin: float) -> None:
        """Shift the pose so that frame point ``pt`` lands at least
        ``margin`` (fraction of each side) inside the image."""
        p = self(pt)[0]
        lo = np.array([width, height]) * margin
        hi = np.array([width, height]) * (1 - margin)
        self.centre += np.clip(p, lo, hi) - p


def _fixed(pts: np.ndarray) -> np.ndarray:
    return (np.asarray(pts) * _SCALE).round().astype(np.int32)


def draw_capsule(canvas: np.ndarray, p1: np.ndarray, p2: np.ndarray,
                 radius: float, value: float) -> None:
    """Draw a filled capsule (round-capped thick line) of ``value``."""
    radius = max(radius, 0.5)
    p1, p2 = np.asarray(p1, np.float64), np.asarray(p2, np.float64)
    r = int(round(radius * _SCALE))
    if not np.allclose(p1, p2):
        cv2.line(canvas, tuple(_fixed(p1)), tuple(_fixed(p2)), value,
                 max(1, int(round(2 * radius))), cv2.LINE_AA, _SHIFT)
        cv2.circle(canvas, tuple(_fixed(p2)), r, value, -1, cv2.LINE_AA,
                   _SHIFT)
    cv2.circle(canvas, tuple(_fixed(p1)), r, value, -1, cv2.LINE_AA, _SHIFT)


def smooth_noise(shape: Tuple[int, int], cell: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-scale noise with features of about ``cell`` pixels."""
    h, w = shape
    small = rng.standard_normal(
        (max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _soft_tissue(shape: Tuple[int, int], bones: Sequence[Bone], pose: Pose,
                 rng: np.random.Generator) -> np.ndarray:
    """The soft-tissue envelope: a blurred union around the bones.

    Drawn at low resolution, because it is smooth and blurring the full
    image is the most expensive step otherwise.
    """
    h, w = shape
    f = max(1, max(h, w) // 256)
    small = np.zeros((h // f + 1, w // f + 1), np.float32)
    for bone in bones:
        p = pose(np.array([bone.p1, bone.p2])) / f
        if bone.is_round:
            r = bone.radius * 1.3 + 0.02
        else:
            r = bone.radius * max(bone.flare) * 1.8 + 0.02
        draw_capsule(small, p[0], p[1], pose.length(r) / f, 1.0)
    small = cv2.GaussianBlur(small, (0, 0), max(1.0, 0.02 * max(h, w) / f))
    small *= 1 + 0.12 * smooth_noise(small.shape, 12, rng)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)[:h, :w]


def render_anatomy(canvas: np.ndarray, bones: Sequence[Bone], pose: Pose,
                   rng: np.random.Generator) -> np.ndarray:
    """Add soft tissue and bones to ``canvas`` (in place).

    Args:
        canvas (np.ndarray): ``(H, W)`` float32 background attenuation.
        bones (list[Bone]): The anatomy.
        pose (Pose): Frame-to-pixel transform.
        rng (np.random.Generator): Source of tissue and bone texture.

    Returns:
        np.ndarray: The canvas with soft tissue only (a copy), the level a
        fracture gap falls to.
    """
    h, w = canvas.shape
    canvas += _soft_tissue((h, w), bones, pose, rng) * rng.uniform(0.12, 0.2)
    soft = canvas.copy()

    texture = smooth_noise((h, w), max(2, max(h, w) // 160), rng)
    groups: Dict[int, List[Bone]] = {}
    for k, bone in enumerate(bones):
        groups.setdefault(bone.group if bone.group >= 0 else -1 - k,
                          []).append(bone)
    for members in groups.values():
        outer = [pose(b.outline()) for b in members]
        pts = np.concatenate(outer)
        x1, y1 = np.floor(pts.min(0)).astype(int) - 2
        x2, y2 = np.ceil(pts.max(0)).astype(int) + 2
        x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
        if x2 <= x1 or y2 <= y1:
            continue
        origin = np.array([x1, y1])
        shell = np.zeros((y2 - y1, x2 - x1), np.float32)
        marrow = np.zeros_like(shell)
        # A union within a group: one bone, not two overlapping ones.
        for bone, poly in zip(members, outer):
            cv2.fillPoly(shell, [_fixed(poly - origin)], bone.density,
                         cv2.LINE_AA, _SHIFT)
        for bone in members:
            cv2.fillPoly(marrow, [_fixed(pose(bone.outline(True)) - origin)],
                         1.0, cv2.LINE_AA, _SHIFT)
        tex = texture[y1:y2, x1:x2]
        # Between groups attenuation adds up, as overlapping bones do.
        canvas[y1:y2, x1:x2] += shell * (1 - marrow * (0.42 - 0.1 * tex))
    return soft


def _bone_frame(bone: Bone, pose: Pose,
                t: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Pixel centre, unit tangent, unit normal and half-width at ``t``."""
    c = pose(bone.point(t))[0]
    a, b = pose(np.array([bone.point(max(0, t - 0.02)),
                          bone.point(min(1, t + 0.02))]))
    u = (b - a) / max(np.linalg.norm(b - a), 1e-9)
    return c, u, np.array([-u[1], u[0]]), pose.length(bone.half_width(t))


def draw_implant(canvas: np.ndarray, bone: Bone, pose: Pose, t: float,
                 length: float, metal: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Draw a metal plate with screws on ``bone``; return its outline.

    Args:
        canvas (np.ndarray): Float canvas, modified in place.
        bone (Bone): The bone carrying the plate.
        pose (Pose): Frame-to-pixel transform.
        t (float): Position of the plate centre along the bone, in [0, 1].
        length (float): Plate length in pixels (capped at 90% of the
            bone); width and screws shrink with short plates.
        metal (float): Attenuation of the metal (above any anatomy).
        rng (np.random.Generator): Geometry source; seed it per study so
            every view shows the same plate.

    Returns:
        np.ndarray: ``(K, 2)`` convex outline in pixels covering the plate
        and every screw.
    """
    c, u, n, r = _bone_frame(bone, pose, t)
    plate = min(length, 0.9 * pose.length(bone.length))
    half = plate / 2
    half_w = max(1.0, min(0.45 * r, 0.15 * plate))
    centre = c + n * r * rng.uniform(-0.5, 0.5)
    corners = np.array([
        centre - u * half - n * half_w, centre + u * half - n * half_w,
        centre + u * half + n * half_w, centre - u * half + n * half_w
    ])
    cv2.fillConvexPoly(canvas, _fixed(corners), metal, cv2.LINE_AA, _SHIFT)
    points = [corners]
    n_screws = max(2, int(round(plate / max(3 * half_w, 1))))
    screw_half = max(1.6 * half_w, min(1.3 * r, 0.45 * plate))
    screw_r = max(0.6, 0.4 * half_w)
    head_r = max(1.0, 0.78 * half_w)
    tilt = rng.normal(0, 0.08)
    for k in range(n_screws):
        s = centre + u * (-half + (k + 0.5) * plate / n_screws)
        d = n * np.cos(tilt) + u * np.sin(tilt)
        a, b = s - d * screw_half, s + d * screw_half
        draw_capsule(canvas, a, b, screw_r, metal)
        draw_capsule(canvas, s, s, head_r, metal * 1.05)
        # Boxes around the round caps, with a pixel of antialiasing.
        m = screw_r + 1
        points += [a - d * m + u * m, a - d * m - u * m,
                   b + d * m + u * m, b + d * m - u * m]
    outline = cv2.convexHull(np.vstack(points).astype(np.float32))
    return outline.reshape(-1, 2).astype(np.float64)


def draw_fracture(canvas: np.ndarray, soft: np.ndarray, bone: Bone,
                  pose: Pose, t: float, extent: float, displace: bool,
                  rng: np.random.Generator) -> np.ndarray:
    """Cut a thin, jagged dark line across ``bone``; return its outline.

    The line replaces the bone's attenuation with the soft tissue's, as a
    fracture gap does. A line shorter than the bone's width is an
    incomplete fracture starting at one cortex; a complete one may be
    displaced (the fragment beyond the line shifted sideways).

    Args:
        canvas (np.ndarray): Float canvas, modified in place.
        soft (np.ndarray): The canvas with soft tissue only.
        bone (Bone): The fractured bone.
        pose (Pose): Frame-to-pixel transform.
        t (float): Position along the bone, in [0, 1].
        extent (float): Line length in pixels (capped at the bone's width).
        displace (bool): Displace a complete fracture.
        rng (np.random.Generator): Geometry source (seed it per study).

    Returns:
        np.ndarray: ``(K, 2)`` convex outline in pixels.
    """
    c, u, n, r = _bone_frame(bone, pose, t)
    tilt = rng.uniform(-0.5, 0.5)
    across = n * np.cos(tilt) + u * np.sin(tilt)
    along = np.array([across[1], -across[0]])
    full = 2.3 * r / np.cos(tilt)
    span = min(extent, full)
    side = 1 if rng.random() < 0.5 else -1
    n_pts = 8
    offsets = side * (-full / 2 + np.linspace(0, span, n_pts))
    jag = rng.normal(0, 0.05 * span, n_pts)
    pts = c + np.outer(offsets, across) + np.outer(jag, along)
    thickness = max(1, int(round(0.065 * span)))
    shift = np.zeros(2)
    if displace and span >= 0.95 * full:
        shift = (across * rng.choice([-1, 1]) * rng.uniform(0.2, 0.5) * r +
                 along * rng.uniform(-0.15, 0.15) * r)
        _displace(canvas, c, along, across, r, shift)
    mask = np.zeros_like(canvas)
    cv2.polylines(mask, [_fixed(pts)], False, 1.0, thickness, cv2.LINE_AA,
                  _SHIFT)
    mask *= rng.uniform(0.75, 1.0)
    canvas[:] = canvas * (1 - mask) + soft * mask
    margin = thickness / 2 + 2
    outline = cv2.convexHull(
        np.concatenate([pts + along * margin, pts - along * margin,
                        pts + shift]).astype(np.float32))
    return outline.reshape(-1, 2).astype(np.float64)


def _displace(canvas: np.ndarray, c: np.ndarray, along: np.ndarray,
              across: np.ndarray, r: float, shift: np.ndarray) -> None:
    """Shift the image beyond the line through ``c`` by ``shift``, fading
    with distance so that the warp stays local."""
    h, w = canvas.shape
    reach = 8 * r
    x1, y1 = np.floor(c - reach).astype(int).clip(0, [w, h])
    x2, y2 = np.ceil(c + reach).astype(int).clip(0, [w, h])
    if x2 <= x1 or y2 <= y1:
        return
    yy, xx = np.mgrid[y1:y2, x1:x2].astype(np.float32)
    a = (xx - c[0]) * along[0] + (yy - c[1]) * along[1]
    b = (xx - c[0]) * across[0] + (yy - c[1]) * across[1]
    weight = (1 / (1 + np.exp(-np.clip(a, -30, 30))) *
              np.exp(-(np.maximum(a, 0) / (3 * r))**2) *
              np.exp(-(b / (2.5 * r))**2)).astype(np.float32)
    patch = np.ascontiguousarray(canvas[y1:y2, x1:x2])
    map_x = (xx - x1 - np.float32(shift[0]) * weight).astype(np.float32)
    map_y = (yy - y1 - np.float32(shift[1]) * weight).astype(np.float32)
    canvas[y1:y2, x1:x2] = cv2.remap(patch, map_x, map_y, cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)


_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX,
          cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
          cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL)


def draw_flag(canvas: np.ndarray, text: str, centre: Tuple[float, float],
              height: float, angle_deg: float, opacity: float, white: float,
              rng: np.random.Generator) -> np.ndarray:
    """Blend a lead marker (letters in a box) into ``canvas``.

    Args:
        canvas (np.ndarray): Float canvas, modified in place.
        text (str): The letters, e.g. ``'L'`` or ``'JD'``.
        centre (tuple): Marker centre ``(x, y)`` in pixels.
        height (float): Box height in pixels.
        angle_deg (float): Rotation in degrees.
        opacity (float): Blend weight in (0, 1].
        white (float): Canvas level that will display as white.
        rng (np.random.Generator): Source of font, polarity and border.

    Returns:
        np.ndarray: ``(4, 2)`` rotated box corners in pixels.
    """
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    if rng.random() < 0.25:
        font |= cv2.FONT_ITALIC
    thick = max(1, int(round(height / rng.uniform(8, 14))))
    font_scale = cv2.getFontScaleFromHeight(font, max(4, int(height * 0.6)),
                                            thick)
    (tw, th), _ = cv2.getTextSize(text, font, font_scale, thick)
    bw, bh = int(tw + rng.uniform(0.3, 0.7) * height), int(height)
    patch = np.zeros((bh, bw), np.float32)
    # Bright letters in a dark box, or dark letters in a bright one.
    bright_text = rng.random() < 0.7
    patch[:] = rng.uniform(0.05, 0.25) if bright_text else rng.uniform(
        0.85, 1.0)
    cv2.putText(patch, text, ((bw - tw) // 2, (bh + th) // 2), font,
                font_scale, 1.0 if bright_text else 0.05, thick, cv2.LINE_AA)
    if rng.random() < 0.6:
        cv2.rectangle(patch, (0, 0), (bw - 1, bh - 1), 0.9,
                      max(1, thick // 2))
    patch *= white
    diag = int(np.ceil(np.hypot(bw, bh))) + 2
    m = cv2.getRotationMatrix2D((bw / 2, bh / 2), angle_deg, 1.0)
    m[:, 2] += (diag / 2 - bw / 2, diag / 2 - bh / 2)
    alpha = cv2.warpAffine(np.ones((bh, bw), np.float32), m, (diag, diag),
                           flags=cv2.INTER_LINEAR)
    patch = cv2.warpAffine(patch, m, (diag, diag), flags=cv2.INTER_LINEAR)
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


def mask_outline(mask: np.ndarray) -> Optional[np.ndarray]:
    """Convex outline of the pixels set in ``mask``.

    Pixel ``(x, y)`` covers the square ``[x, x + 1) x [y, y + 1)``, so the
    hull is taken over the set pixels' corners: one pixel gives a unit
    square, and the outline's bounding box is the pixels' bounding box.

    Args:
        mask (np.ndarray): ``(H, W)`` boolean mask.

    Returns:
        np.ndarray | None: ``(K, 2)`` convex outline in pixels, None when
        no pixel is set.
    """
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    corners = np.concatenate([
        np.stack([xs + dx, ys + dy], axis=1) for dx in (0, 1)
        for dy in (0, 1)
    ]).astype(np.float32)
    return cv2.convexHull(corners).reshape(-1, 2).astype(np.float64)


def clip_outline(outline: np.ndarray, width: int,
                 height: int) -> Optional[Dict[str, list]]:
    """Clip a convex outline to the image; return bbox, polygon and area.

    Args:
        outline (np.ndarray): ``(K, 2)`` convex outline in pixels.
        width (int): Image width.
        height (int): Image height.

    Returns:
        dict | None: ``bbox`` ``[x1, y1, x2, y2]``, ``polygon`` (a list
        with one flat ``[x, y, x, y, ...]`` ring, COCO style) and ``area``;
        None when less than half a pixel of it is inside the image.
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
