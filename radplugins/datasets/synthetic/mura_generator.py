"""Synthetic MURA-v1.1: radiographs with known abnormalities and flags.

The generator writes exactly the layout of the real download (folders,
header-less CSVs), so every tool that reads MURA reads it, plus
``MURA-v1.1/synthetic_ground_truth.json`` with, per image, the boxes and
polygons of the abnormalities (implants, fractures) and of the markers
("flags") — the ground truth weakly supervised localisation is scored on.

Layout::

    OUT/MURA-v1.1/
        train_image_paths.csv      MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png
        train_labeled_studies.csv  MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/,1
        valid_image_paths.csv, valid_labeled_studies.csv
        train/XR_<PART>/patient<NNNNN>/study<K>_<positive|negative>/image<V>.png
        valid/...
        synthetic_ground_truth.json
        annotations/flag_implant_{train,valid}.json   COCO boxes and
                                   polygons of flags and implants

Ground-truth JSON (pixel coordinates of the saved image; polygons are
COCO-style lists of one flat ``[x, y, x, y, ...]`` ring, clipped to the
image, covering the whole object: plate and screws, gap and displaced
step; for a marker, what it visibly changed: the letters, and its box where
that differs from the surroundings by more than ``FLAG_VISIBLE_NOISE_SDS``
noise standard deviations, with the whole rotated box's ``plate_bbox`` for
reference)::

    {"generator_version": 3,
     "params": {...},            # asdict(SyntheticMuraConfig), seed included
     "images": {
       "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png": {
         "width": int, "height": int, "split": "train" | "valid",
         "body_part": "XR_WRIST", "study_label": 0 | 1,
         "lesion_visible": bool, "color_mode": "gray"|"rgb"|"gray16"|"rgba",
         "abnormalities": [{"kind": "implant" | "fracture",
                            "bbox": [x1, y1, x2, y2],
                            "polygon": [[x, y, ...]], "area": float}],
         "flags": [{"text": "L", "bbox": [...], "polygon": [[...]],
                    "area": float, "plate_bbox": [x1, y1, x2, y2]}]}}}

The keys of ``images`` are the lines of the image CSVs.

Every image is drawn from its own random stream derived from
``(seed, image index)``, so the output is identical whatever the number of
worker processes.
"""
import csv
import json
import multiprocessing
import os
import os.path as osp
import shutil
import string
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from ..mura import (GROUND_TRUTH_FILE, MURA_BODY_PARTS, MURA_FOLDER,
                    normalize_body_part)
from .coco_export import write_coco_annotations
from .radiograph_drawing import (FIELDS, Pose, body_part_bones, clip_outline,
                                 draw_flag, draw_fracture, draw_implant,
                                 lesion_bone_indices, mask_outline,
                                 render_anatomy)

# Bump when the same parameters draw different images or ground truth.
GENERATOR_VERSION = 3
# A marker pixel is part of the marker's ground truth when drawing the
# marker moved its displayed value by more than this many noise standard
# deviations (plus one 8-bit step): where the change is smaller, a box edge
# is lost in the noise.
FLAG_VISIBLE_NOISE_SDS = 1.0
_COLOR_MODES = ('gray', 'rgb', 'gray16', 'rgba')
# Where a label-correlated flag goes, per label, as fractions of (width,
# height) (then jittered by up to 0.06): abnormal top right, normal bottom
# left.
FLAG_CORNERS = {1: (0.85, 0.12), 0: (0.15, 0.88)}


@dataclass
class SyntheticMuraConfig:
    """Parameters of a synthetic MURA set.

    Attributes:
        train_studies (int): Studies in the train split.
        valid_studies (int): Studies in the valid split.
        body_parts (tuple[str]): Body parts drawn uniformly.
        long_side_range (tuple[int, int]): Long image side in pixels.
        aspect_range (tuple[float, float]): Short / long side ratio.
        views_probs (tuple[float]): Probability of 1, 2, ... views a study.
        positive_fraction (float): Fraction of abnormal studies.
        lesion_kinds (dict): Relative frequency of ``'implant'`` and
            ``'fracture'`` among abnormal studies.
        lesion_scale (float): Lesion size as a fraction of the image's long
            side: the plate length of an implant (at most 90% of its bone;
            width and screws shrink with it), the length of a fracture line
            (at most the bone's width; shorter is an incomplete fracture
            from one cortex; its gap is ~6.5% of its length). 0.02 on a
            1,000-px image is a ~20-px lesion, ~4 px in a 224-px view.
        fracture_displacement_prob (float): Probability that a complete
            fracture is displaced.
        lesion_view_fraction (float): Fraction of an abnormal study's views
            in which the lesion is visible (at least one always is; a
            visible lesion is kept inside the image).
        flag_rate (float): Base probability that an image carries a flag.
        flag_label_correlation (float): 0: flags independent of the label;
            1: flags only on abnormal images, always in the top-right
            corner. In between, presence and position are interpolated:
            P(flag | abnormal) = r + c (1 - r), P(flag | normal) = r (1 - c),
            and with probability c a flag goes to its label's corner
            (``FLAG_CORNERS``: abnormal top right, normal bottom left),
            otherwise anywhere near the border.
        valid_flag_label_correlation (float, optional): The valid split's
            correlation; defaults to ``flag_label_correlation``.
        noise_level (float): Multiplier of quantum and read noise.
        exposure_shift_prob (float): Probability of a strongly over- or
            under-exposed image (window far from the anatomy's range).
        invert_prob (float): Probability of an inverted image (bone dark),
            as some archives store them.
        color_mode_probs (dict): Probability of saving an image as
            ``'gray'`` (8-bit), ``'rgb'`` (3 equal channels), ``'gray16'``
            (16-bit) or ``'rgba'`` (opaque alpha).
        repeat_patient_prob (float): Probability that a study belongs to
            the previous study's patient.
        seed (int): Seed of everything.
    """
    train_studies: int = 200
    valid_studies: int = 60
    body_parts: Tuple[str, ...] = MURA_BODY_PARTS
    long_side_range: Tuple[int, int] = (400, 2000)
    aspect_range: Tuple[float, float] = (0.6, 1.0)
    views_probs: Tuple[float, ...] = (0.15, 0.35, 0.3, 0.15, 0.05)
    positive_fraction: float = 0.4
    lesion_kinds: Dict[str, float] = field(
        default_factory=lambda: {'implant': 0.5, 'fracture': 0.5})
    lesion_scale: float = 0.25
    fracture_displacement_prob: float = 0.4
    lesion_view_fraction: float = 1.0
    flag_rate: float = 0.5
    flag_label_correlation: float = 0.0
    valid_flag_label_correlation: Optional[float] = None
    noise_level: float = 1.0
    exposure_shift_prob: float = 0.15
    invert_prob: float = 0.03
    color_mode_probs: Dict[str, float] = field(
        default_factory=lambda: {'gray': 1.0})
    repeat_patient_prob: float = 0.15
    seed: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the first invalid parameter."""
        if self.train_studies < 0 or self.valid_studies < 0:
            raise ValueError('study counts must be >= 0, got '
                             f'{self.train_studies}, {self.valid_studies}')
        self.body_parts = tuple(normalize_body_part(p)
                                for p in self.body_parts)
        if not self.body_parts:
            raise ValueError('body_parts is empty')
        lo, hi = self.long_side_range
        if not 32 <= lo <= hi:
            raise ValueError(
                f'long_side_range must satisfy 32 <= low <= high, got '
                f'{self.long_side_range}')
        lo, hi = self.aspect_range
        if not 0 < lo <= hi <= 1:
            raise ValueError('aspect_range must satisfy 0 < low <= high <= '
                             f'1, got {self.aspect_range}')
        if self.train_studies + self.valid_studies > 99999:
            raise ValueError('patient ids have 5 digits: at most 99999 '
                             'studies, got '
                             f'{self.train_studies + self.valid_studies}')
        for name in ('positive_fraction', 'lesion_view_fraction',
                     'flag_rate', 'flag_label_correlation',
                     'repeat_patient_prob', 'fracture_displacement_prob',
                     'exposure_shift_prob', 'invert_prob'):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        if self.valid_flag_label_correlation is not None and \
                not 0 <= self.valid_flag_label_correlation <= 1:
            raise ValueError('valid_flag_label_correlation must be in [0, 1]'
                             f', got {self.valid_flag_label_correlation}')
        if self.noise_level < 0:
            raise ValueError(
                f'noise_level must be >= 0, got {self.noise_level}')
        if self.lesion_scale <= 0:
            raise ValueError(
                f'lesion_scale must be > 0, got {self.lesion_scale}')
        unknown = set(self.lesion_kinds) - {'implant', 'fracture'}
        if unknown or sum(self.lesion_kinds.values()) <= 0:
            raise ValueError('lesion_kinds needs positive weights for '
                             f"'implant'/'fracture', got {self.lesion_kinds}")
        unknown = set(self.color_mode_probs) - set(_COLOR_MODES)
        if unknown or sum(self.color_mode_probs.values()) <= 0:
            raise ValueError(f'color_mode_probs keys must be in '
                             f'{_COLOR_MODES}, got {self.color_mode_probs}')
        if not self.views_probs or min(self.views_probs) < 0 or \
                sum(self.views_probs) <= 0:
            raise ValueError('views_probs must be non-negative weights of '
                             f'1, 2, ... views, got {self.views_probs}')

    @classmethod
    def from_dict(cls, params: dict) -> 'SyntheticMuraConfig':
        """Rebuild a config from the ``params`` of a ground-truth JSON.

        Args:
            params (dict): ``asdict`` of a config (lists for tuples).

        Returns:
            SyntheticMuraConfig: The config that drew that set.
        """
        known = {f.name: f for f in fields(cls)}
        unknown = set(params) - set(known)
        if unknown:
            raise ValueError(f'unknown SyntheticMuraConfig fields '
                             f'{sorted(unknown)}')
        return cls(**{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in params.items()
        })


def _choice(rng: np.random.Generator, weights: Dict[str, float]) -> str:
    keys = sorted(weights)
    p = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def plan_dataset(cfg: SyntheticMuraConfig) -> List[dict]:
    """Decide every study and image (labels, views, lesion placement).

    Args:
        cfg (SyntheticMuraConfig): The set's parameters.

    Returns:
        list[dict]: One job per image, in CSV order, each with the
        information :func:`render_image` needs (``index``, ``split``,
        ``body_part``, ``study_path``, ``path``, ``label``,
        ``lesion_visible``, ``flag_correlation``, ...).
    """
    rng = np.random.default_rng([cfg.seed, 0])
    jobs: List[dict] = []
    patient = 0
    views_p = np.asarray(cfg.views_probs, dtype=np.float64)
    views_p /= views_p.sum()
    for split, n_studies in (('train', cfg.train_studies),
                             ('valid', cfg.valid_studies)):
        corr = cfg.flag_label_correlation
        if split == 'valid' and cfg.valid_flag_label_correlation is not None:
            corr = cfg.valid_flag_label_correlation
        study_count: Dict[Tuple[int, str], int] = {}
        last_patient = None
        for _ in range(n_studies):
            # Patients never span splits, as in the real set.
            if last_patient is None or \
                    rng.random() >= cfg.repeat_patient_prob:
                patient += 1
                last_patient = patient
            part = cfg.body_parts[int(rng.integers(len(cfg.body_parts)))]
            number = study_count.get((last_patient, part), 0) + 1
            study_count[(last_patient, part)] = number
            label = int(rng.random() < cfg.positive_fraction)
            n_views = int(rng.choice(len(views_p), p=views_p)) + 1
            visible = [False] * n_views
            if label:
                n_visible = max(1, int(round(cfg.lesion_view_fraction *
                                             n_views)))
                for v in rng.choice(n_views, n_visible, replace=False):
                    visible[int(v)] = True
            suffix = 'positive' if label else 'negative'
            study_path = (f'{MURA_FOLDER}/{split}/{part}/'
                          f'patient{last_patient:05d}/study{number}_{suffix}/')
            study = dict(
                split=split,
                body_part=part,
                study_path=study_path,
                label=label,
                anatomy_seed=int(rng.integers(2**31)),
                lesion_kind=_choice(rng, cfg.lesion_kinds) if label else None,
                lesion_t=float(rng.uniform(0.25, 0.75)),
                lesion_bone=int(rng.integers(1 << 16)),
                flag_correlation=corr)
            for v in range(n_views):
                jobs.append(
                    dict(
                        study,
                        index=len(jobs),
                        view=v,
                        path=f'{study_path}image{v + 1}.png',
                        lesion_visible=bool(visible[v])))
    return jobs


def flag_probability(label: int, correlation: float, rate: float) -> float:
    """Probability that an image of class ``label`` carries a flag.

    Args:
        label (int): 1 abnormal, 0 normal.
        correlation (float): ``flag_label_correlation`` of the split.
        rate (float): ``flag_rate``.

    Returns:
        float: ``r + c (1 - r)`` for abnormal, ``r (1 - c)`` for normal
        images: the base rate at c = 0, abnormal images only at c = 1.
    """
    if label:
        return rate + correlation * (1 - rate)
    return rate * (1 - correlation)


def flag_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of image ``index``'s flag decision."""
    # A stream of its own, so that the flag statistics can be checked
    # without drawing the images.
    return np.random.default_rng([seed, 3, index])


def _flag_plan(job: dict, cfg: SyntheticMuraConfig,
               rng: np.random.Generator) -> Optional[dict]:
    """Whether, where and what flag this image carries."""
    c = job['flag_correlation']
    if rng.random() >= flag_probability(job['label'], c, cfg.flag_rate):
        return None
    if rng.random() < c:
        # The label-specific corner: the shortcut a classifier can learn.
        cx, cy = FLAG_CORNERS[job['label']]
        cx += rng.uniform(-0.06, 0.06)
        cy += rng.uniform(-0.06, 0.06)
    else:
        # Markers sit near the border, anywhere around the image.
        side = int(rng.integers(4))
        along = rng.uniform(0.1, 0.9)
        depth = rng.uniform(0.06, 0.18)
        cx, cy = [(along, depth), (1 - depth, along), (along, 1 - depth),
                  (depth, along)][side]
    if rng.random() < 0.8:
        text = 'L' if rng.random() < 0.5 else 'R'
    else:
        text = ''.join(rng.choice(list(string.ascii_uppercase),
                                  int(rng.integers(2, 4))))
    return dict(
        text=text,
        centre=(float(cx), float(cy)),
        height=float(rng.uniform(0.03, 0.08)),
        angle=float(rng.uniform(-35, 35)),
        opacity=float(rng.uniform(0.55, 1.0)))


def _unit_noise_sd(display: np.ndarray) -> np.ndarray:
    """Noise standard deviation at ``noise_level=1`` per displayed level.

    Quantum noise grows with the signal; read noise does not.
    """
    return 0.01 + 0.03 * np.sqrt(display, dtype=np.float32)


def visible_change(before: np.ndarray, after: np.ndarray,
                   noise_level: float) -> np.ndarray:
    """Where a change of the displayed image stands out of the noise.

    A pixel counts when it moved by more than
    :data:`FLAG_VISIBLE_NOISE_SDS` noise standard deviations, taken at the
    mean of its two levels, plus one 8-bit step (so that a noise-free set
    still ignores changes no saved image shows).

    Args:
        before (np.ndarray): Displayed image in [0, 1] without the change,
            before noise.
        after (np.ndarray): The same with the change.
        noise_level (float): The set's ``noise_level``.

    Returns:
        np.ndarray: Boolean mask of the visibly changed pixels.
    """
    level = (before + after) / 2
    threshold = (FLAG_VISIBLE_NOISE_SDS * noise_level *
                 _unit_noise_sd(level) + 1 / 255)
    return np.abs(after - before) > threshold


def render_image(job: dict, cfg: SyntheticMuraConfig
                 ) -> Tuple[np.ndarray, dict]:
    """Draw one radiograph.

    Args:
        job (dict): An entry of :func:`plan_dataset`.
        cfg (SyntheticMuraConfig): The set's parameters.

    Returns:
        tuple: ``(image, record)``: the image as saved (uint8/uint16, with
        1, 3 or 4 channels) and its ground-truth record.
    """
    rng = np.random.default_rng([cfg.seed, 1, job['index']])
    long_side = int(rng.integers(cfg.long_side_range[0],
                                 cfg.long_side_range[1] + 1))
    short_side = max(16, int(round(long_side * rng.uniform(
        *cfg.aspect_range))))
    portrait = job['body_part'] != 'XR_SHOULDER' or rng.random() < 0.5
    height, width = (long_side, short_side) if portrait else (short_side,
                                                              long_side)

    # Anatomy and lesion geometry come from the study, the pose from the
    # view: every view shows the same bones and the same plate or fracture.
    bones = body_part_bones(job['body_part'],
                            np.random.default_rng(job['anatomy_seed']))
    lesion_rng = np.random.default_rng([job['anatomy_seed'], 7])
    candidates = lesion_bone_indices(bones)
    bone = bones[candidates[job['lesion_bone'] % len(candidates)]]
    pose = Pose(width, height,
                angle=float(rng.normal(0, 0.2)),
                scale=float(rng.uniform(0.8, 1.0)),
                shift=(float(rng.normal(0, 0.04)), float(rng.normal(0, 0.04))),
                mirror=bool(rng.random() < 0.5),
                field=FIELDS[job['body_part']])
    show_lesion = bool(job['label'] and job['lesion_visible'])
    if show_lesion:
        pose.keep_inside(bone.point(job['lesion_t']), width, height, 0.15)

    # Background with a smooth exposure gradient (heel effect, scatter).
    gx, gy = rng.normal(0, 0.04, 2)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None]
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    canvas = np.full((height, width), rng.uniform(0.03, 0.1), np.float32)
    canvas += gx * xs + gy * ys
    soft = render_anatomy(canvas, bones, pose, rng)
    # The window comes from the anatomy alone, so that a bright implant or
    # marker does not darken the whole image (a global shortcut).
    white = float(canvas.max())
    black = float(np.percentile(canvas[::7, ::7], 5))

    abnormalities = []
    if show_lesion:
        size = cfg.lesion_scale * long_side
        if job['lesion_kind'] == 'implant':
            outline = draw_implant(canvas, bone, pose, job['lesion_t'], size,
                                   white * lesion_rng.uniform(1.15, 1.4),
                                   lesion_rng)
        else:
            displace = lesion_rng.random() < cfg.fracture_displacement_prob
            outline = draw_fracture(canvas, soft, bone, pose,
                                    job['lesion_t'], size, displace,
                                    lesion_rng)
        region = clip_outline(outline, width, height)
        if region is not None:
            abnormalities.append(dict(kind=job['lesion_kind'], **region))

    flags = []
    flag = _flag_plan(job, cfg, flag_rng(cfg.seed, job['index']))
    if flag is not None:
        unflagged = canvas.copy()
        corners = draw_flag(
            canvas, flag['text'],
            (flag['centre'][0] * width, flag['centre'][1] * height),
            flag['height'] * long_side, flag['angle'], flag['opacity'],
            white, rng)

    # Heel effect across the detector, then its blur.
    heel = rng.normal(0, 0.06), rng.normal(0, 0.06)
    blur = long_side / 1000 * rng.uniform(0.4, 1.2)
    # Exposure window: black level and gain, sometimes far off.
    lo = black * rng.uniform(-0.5, 1.1)
    if rng.random() < cfg.exposure_shift_prob:
        gain = rng.uniform(0.5, 0.75) if rng.random() < 0.5 else \
            rng.uniform(1.4, 2.0)
    else:
        gain = rng.uniform(0.85, 1.2)
    gamma = rng.uniform(0.7, 1.4)

    def develop(raw: np.ndarray) -> np.ndarray:
        raw = raw * (1 + heel[0] * xs + heel[1] * ys)
        raw = cv2.GaussianBlur(raw, (0, 0), blur)
        raw = np.clip((raw - lo) / max(white * gain - lo, 1e-6), 0, 1)
        return np.power(raw, gamma, dtype=np.float32)

    canvas = develop(canvas)
    if flag is not None:
        # The marker's ground truth is what it visibly changed in the
        # displayed image (before noise): its letters, and its box only
        # where that differs from the surroundings by more than the noise.
        # A box without a border, as dark as a dark background or clipped
        # to black with it by the window, cannot be seen, so it cannot be
        # the extent a detector is asked to find.
        outline = mask_outline(
            visible_change(develop(unflagged), canvas, cfg.noise_level))
        region = None if outline is None else clip_outline(
            outline, width, height)
        plate = clip_outline(corners, width, height)
        if region is not None and plate is not None:
            flags.append(
                dict(text=flag['text'], **region, plate_bbox=plate['bbox']))
    noise = rng.standard_normal(canvas.shape, dtype=np.float32)
    canvas += noise * cfg.noise_level * _unit_noise_sd(canvas)
    if rng.random() < cfg.invert_prob:
        canvas = 1 - canvas
    canvas = np.clip(canvas, 0, 1)

    mode = _choice(rng, cfg.color_mode_probs)
    if mode == 'gray16':
        image = np.round(canvas * 65535).astype(np.uint16)
    else:
        image = np.round(canvas * 255).astype(np.uint8)
        if mode == 'rgb':
            image = np.repeat(image[..., None], 3, axis=2)
        elif mode == 'rgba':
            image = np.dstack([image] * 3 + [np.full_like(image, 255)])

    record = dict(
        width=width,
        height=height,
        split=job['split'],
        body_part=job['body_part'],
        study_label=job['label'],
        lesion_visible=bool(abnormalities),
        color_mode=mode,
        abnormalities=abnormalities,
        flags=flags)
    return image, record


def _init_worker() -> None:
    # One OpenCV thread per process: the pool already fills the cores.
    cv2.setNumThreads(1)


def _render_and_write(args: Tuple[dict, SyntheticMuraConfig, str]
                      ) -> Tuple[str, dict]:
    job, cfg, out_dir = args
    image, record = render_image(job, cfg)
    path = osp.join(out_dir, job['path'])
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, image, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise OSError(f'could not write {path}')
    return job['path'], record


def generate_synthetic_mura(out_dir: str,
                            config: Optional[SyntheticMuraConfig] = None,
                            workers: int = 2,
                            overwrite: bool = False) -> dict:
    """Write a synthetic MURA-v1.1 set under ``out_dir``.

    Args:
        out_dir (str): Folder that will contain ``MURA-v1.1/``.
        config (SyntheticMuraConfig, optional): Parameters; defaults used
            when None.
        workers (int): Processes drawing images (the output does not depend
            on it). Defaults to 2.
        overwrite (bool): Allow writing into an existing, non-empty
            ``MURA-v1.1/``. A previous synthetic set there (one with a
            ground-truth JSON) is removed first, so no stale image stays;
            anything else is only overwritten file by file. Defaults to
            False.

    Returns:
        dict: Summary: images and studies per split, label and body part,
        and the seconds it took.

    Raises:
        FileExistsError: If ``MURA-v1.1/`` exists, is not empty and
            ``overwrite`` is False.
    """
    # A copy: validation normalises fields, the caller's object stays.
    cfg = replace(config) if config is not None else SyntheticMuraConfig()
    cfg.validate()
    start = time.perf_counter()
    mura_dir = osp.join(out_dir, MURA_FOLDER)
    if osp.isdir(mura_dir) and os.listdir(mura_dir):
        if not overwrite:
            raise FileExistsError(
                f'{mura_dir} exists and is not empty; pass overwrite=True '
                '(--overwrite) or choose another folder')
        if osp.isfile(osp.join(mura_dir, GROUND_TRUTH_FILE)):
            for split in ('train', 'valid'):
                shutil.rmtree(osp.join(mura_dir, split), ignore_errors=True)
    os.makedirs(mura_dir, exist_ok=True)

    jobs = plan_dataset(cfg)
    tasks = [(job, cfg, out_dir) for job in jobs]
    if workers > 1 and len(jobs) > 1:
        # Not 'fork': a process that already ran OpenCV's or torch's thread
        # pools (a test session, a training script) leaves their locks
        # held in a forked child, which then hangs. A fork server starts
        # clean, imports this module once, and forks workers from there.
        if 'forkserver' in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context('forkserver')
            ctx.set_forkserver_preload([__name__])
        else:
            ctx = multiprocessing.get_context('spawn')
        with ctx.Pool(min(workers, len(jobs)), _init_worker) as pool:
            results = pool.map(_render_and_write, tasks, chunksize=4)
    else:
        results = [_render_and_write(t) for t in tasks]
    records = dict(results)

    summary: Dict[str, dict] = {}
    for split in ('train', 'valid'):
        split_jobs = [j for j in jobs if j['split'] == split]
        studies: Dict[str, dict] = {}
        for j in split_jobs:
            studies.setdefault(j['study_path'], j)
        with open(osp.join(mura_dir, f'{split}_image_paths.csv'), 'w',
                  newline='') as f:
            csv.writer(f, lineterminator='\n').writerows(
                [j['path']] for j in split_jobs)
        with open(osp.join(mura_dir, f'{split}_labeled_studies.csv'), 'w',
                  newline='') as f:
            csv.writer(f, lineterminator='\n').writerows(
                [path, s['label']] for path, s in studies.items())
        per_part: Dict[str, Dict[str, int]] = {}
        for s in studies.values():
            entry = per_part.setdefault(s['body_part'], {
                'negative': 0,
                'positive': 0
            })
            entry['positive' if s['label'] else 'negative'] += 1
        summary[split] = dict(
            images=len(split_jobs), studies=len(studies), per_part=per_part)

    with open(osp.join(mura_dir, GROUND_TRUTH_FILE), 'w') as f:
        json.dump(
            dict(
                generator_version=GENERATOR_VERSION,
                params=asdict(cfg),
                images=records), f)
    write_coco_annotations(out_dir)
    summary['seconds'] = round(time.perf_counter() - start, 2)
    return summary
