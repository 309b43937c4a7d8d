"""Synthetic lumbar disc volumes in the SpineDiscDataset format.

Each sample is one disc between two vertebral bodies, seen in ``S`` sagittal
slices of 112 x 224 pixels (``S`` varies: narrow discs have fewer slices,
which the dataset zero-pads to 9 as the paper does). The six radiological
scores are drawn independently with a class imbalance shaped like the
paper's Table 1 (most discs normal) and change the picture as follows:

- Pfirrmann grade 1-5: disc signal from bright and homogeneous (1) to dark
  and textured (5).
- Disc narrowing 0-3: disc height from 24 px (0) down to 8 px (3).
- Upper/lower endplate defect: a notch of disc signal protruding into the
  vertebral body above/below the disc, in a few slices.
- Upper/lower marrow change: a bright blob inside the vertebral body just
  above/below the endplate, in a few slices.

Every volume also gets a smooth multiplicative bias field and Gaussian
noise. A fraction of labels is blanked (missing), as in the real data.

Layout written under ``OUT``::

    OUT/discs.csv                  one row per disc (see SpineDiscDataset)
    OUT/volumes/<patient>_<level>.npy   float32 (S, 112, 224)
    OUT/masks/<patient>_<level>.npz     bool (S, 112, 224) per binary task:
                                        upper_endplate, lower_endplate,
                                        upper_marrow, lower_marrow

The CSV columns are ``patient, level, split, volume, pfirrmann, narrowing,
upper_endplate, lower_endplate, upper_marrow, lower_marrow, upper_body,
lower_body, mask``; the ``*_body`` columns are the vertebral-body boxes
``x1 y1 x2 y2`` used by the intensity normalisation. Each disc is drawn
from its own random stream derived from ``(seed, disc index)``.
"""
import csv
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

# The task definitions are the real dataset's; re-exported here for the
# generator's users.
from ..spine_tasks import (DISC_HEIGHT, DISC_LEVELS, DISC_WIDTH,  # noqa: F401
                           LESION_TASKS, SPINE_FIRST_GRADES,
                           SPINE_NUM_CLASSES, SPINE_TASKS)

CSV_COLUMNS = ('patient', 'level', 'split', 'volume') + SPINE_TASKS + (
    'upper_body', 'lower_body', 'mask')


@dataclass
class SyntheticSpineConfig:
    """Parameters of the synthetic spine set.

    Args:
        num_patients: Patients; each has up to six discs.
        split_fractions: Train/val/test share of patients (per patient, so
            no patient is in two splits).
        slice_counts: Possible slice counts of a disc volume.
        slice_count_probs: Their probabilities.
        pfirrmann_probs: Probabilities of grades 1-5.
        narrowing_probs: Probabilities of narrowing 0-3.
        lesion_probs: Probability of each binary finding (upper endplate,
            lower endplate, upper marrow, lower marrow).
        missing_label_rate: Chance that a label is left blank.
        noise_sigma: Standard deviation of the additive noise.
        bias_strength: Peak relative amplitude of the bias field.
        lesion_size: ``(min, max)`` radius in pixels of notches and blobs.
        seed: Random seed.
    """
    num_patients: int = 60
    split_fractions: Tuple[float, float, float] = (0.8, 0.1, 0.1)
    slice_counts: Tuple[int, ...] = (7, 8, 9)
    slice_count_probs: Tuple[float, ...] = (0.1, 0.15, 0.75)
    pfirrmann_probs: Tuple[float, ...] = (0.08, 0.3, 0.3, 0.22, 0.1)
    narrowing_probs: Tuple[float, ...] = (0.6, 0.2, 0.13, 0.07)
    lesion_probs: Tuple[float, ...] = (0.2, 0.2, 0.15, 0.15)
    missing_label_rate: float = 0.03
    noise_sigma: float = 0.03
    bias_strength: float = 0.25
    lesion_size: Tuple[int, int] = (6, 11)
    seed: int = 0


_PFIRRMANN_SIGNAL = (0.95, 0.8, 0.6, 0.42, 0.25)
_PFIRRMANN_TEXTURE = (0.02, 0.05, 0.09, 0.13, 0.17)
_NARROWING_HEIGHT = (24, 18, 13, 8)


def _smooth_noise(rng: np.random.Generator, shape: Tuple[int, int],
                  cell: int) -> np.ndarray:
    """Zero-mean noise smoothed to blobs about ``cell`` pixels wide."""
    h, w = shape
    coarse = rng.standard_normal((h // cell + 2, w // cell + 2))
    ys = np.linspace(0, coarse.shape[0] - 1.001, h)
    xs = np.linspace(0, coarse.shape[1] - 1.001, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    c = coarse
    return ((1 - fy) * (1 - fx) * c[y0][:, x0] + (1 - fy) * fx *
            c[y0][:, x0 + 1] + fy * (1 - fx) * c[y0 + 1][:, x0] +
            fy * fx * c[y0 + 1][:, x0 + 1])


def render_disc(labels: Dict[str, int], num_slices: int,
                cfg: SyntheticSpineConfig, rng: np.random.Generator
                ) -> Tuple[np.ndarray, Dict[str, np.ndarray], List[Tuple]]:
    """Draw one disc volume from its (complete) labels.

    Args:
        labels: Task name -> class (Pfirrmann 0-4 here, i.e. grade - 1).
        num_slices: Number of sagittal slices.
        cfg: Generator parameters.
        rng: Random stream of this disc.

    Returns:
        tuple: ``(volume (S, 112, 224) float32, masks {task: (S, 112, 224)
        bool}, [upper_body_box, lower_body_box])``.
    """
    H, W = DISC_HEIGHT, DISC_WIDTH
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    centre_y = H / 2 + rng.uniform(-3, 3)
    half = _NARROWING_HEIGHT[labels['narrowing']] / 2 + rng.uniform(-1, 1)
    top, bottom = centre_y - half, centre_y + half
    x_left, x_right = 28 + rng.uniform(-6, 6), W - 28 + rng.uniform(-6, 6)
    mid = (num_slices - 1) / 2 + rng.uniform(-0.5, 0.5)
    grade = labels['pfirrmann']
    volume = np.zeros((num_slices, H, W), np.float32)
    masks = {t: np.zeros((num_slices, H, W), bool) for t in LESION_TASKS}

    # Lesions: a shared position per disc, present in a few slices.
    lesions = {}
    for task in LESION_TASKS:
        if not labels[task]:
            continue
        radius = rng.uniform(*cfg.lesion_size)
        cx = rng.uniform(x_left + 2 * radius, x_right - 2 * radius)
        centre_slice = mid + rng.uniform(-1.5, 1.5)
        spread = rng.uniform(1.0, 2.5)
        lesions[task] = (cx, radius, centre_slice, spread)

    body_texture = 0.04 * _smooth_noise(rng, (H, W), 6)
    disc_texture = _smooth_noise(rng, (H, W), 5)
    for s in range(num_slices):
        # Bodies narrow towards the lateral slices.
        lateral = min(abs(s - mid) / (num_slices / 2 + 1), 0.95)
        extent = np.sqrt(1 - lateral**2)
        cx0 = (x_left + x_right) / 2
        half_w = (x_right - x_left) / 2 * extent
        inside_x = np.abs(xx - cx0) < half_w
        img = np.full((H, W), 0.08, np.float32)
        upper = inside_x & (yy < top)
        lower = inside_x & (yy > bottom)
        img[upper | lower] = 0.5
        img += np.where(upper | lower, body_texture, 0)
        # Disc: an ellipse-ended band whose signal follows Pfirrmann.
        disc_half_w = half_w * 0.97
        disc = (np.abs(xx - cx0) < disc_half_w) & (yy >= top) & (yy <= bottom)
        signal = _PFIRRMANN_SIGNAL[grade] * (0.75 + 0.25 * extent)
        img[disc] = signal + _PFIRRMANN_TEXTURE[grade] * disc_texture[disc]
        for task, (cx, radius, cs, spread) in lesions.items():
            strength = np.exp(-0.5 * ((s - cs) / spread)**2)
            if strength < 0.3:
                continue
            r = radius * np.sqrt(strength)
            upper_side = task.startswith('upper')
            if task.endswith('endplate'):
                # A notch: disc signal protruding into the vertebral body.
                edge = top if upper_side else bottom
                region = ((xx - cx)**2 + (yy - edge)**2 < r**2) & (
                    (yy < top) if upper_side else (yy > bottom)) & inside_x
                img[region] = signal
            else:
                # A blob of changed marrow signal near the endplate.
                cy = top - 1.6 * r if upper_side else bottom + 1.6 * r
                region = (((xx - cx) / 1.4)**2 + (yy - cy)**2 < r**2) & (
                    upper if upper_side else lower)
                img[region] += 0.35
            masks[task][s] |= region
        volume[s] = img

    # Bias field: one smooth multiplicative field for the whole volume.
    bias = 1 + cfg.bias_strength * np.tanh(_smooth_noise(rng, (H, W), 40))
    volume *= bias[None]
    volume += rng.normal(0, cfg.noise_sigma, volume.shape).astype(np.float32)
    volume = np.clip(volume, 0, None)
    boxes = [(int(x_left), 0, int(x_right), int(top) - 1),
             (int(x_left), int(bottom) + 1, int(x_right), H - 1)]
    return volume.astype(np.float32), masks, boxes


def _draw_labels(cfg: SyntheticSpineConfig,
                 rng: np.random.Generator) -> Dict[str, int]:
    labels = {
        'pfirrmann': int(rng.choice(5, p=cfg.pfirrmann_probs)),
        'narrowing': int(rng.choice(4, p=cfg.narrowing_probs)),
    }
    for task, p in zip(LESION_TASKS, cfg.lesion_probs):
        labels[task] = int(rng.random() < p)
    return labels


def _split_of(index: int, num: int, fractions: Sequence[float]) -> str:
    cut_train = round(num * fractions[0])
    cut_val = cut_train + round(num * fractions[1])
    if index < cut_train:
        return 'train'
    return 'val' if index < cut_val else 'test'


def generate_synthetic_spine(out_dir: str,
                             cfg: SyntheticSpineConfig,
                             overwrite: bool = False) -> str:
    """Write a synthetic spine set (volumes, masks, ``discs.csv``).

    Args:
        out_dir: Output folder.
        cfg: Generator parameters.
        overwrite: Allow writing into an existing, non-empty folder: files
            of the same names are replaced, any others are left as they
            are (``discs.csv`` lists only the new set). Defaults to False.

    Returns:
        str: Path of ``discs.csv``.

    Raises:
        FileExistsError: If ``out_dir`` holds anything and ``overwrite`` is
            False: it may be a real set (``data/spine``) or another one.
    """
    if abs(sum(cfg.split_fractions) - 1) > 1e-6:
        raise ValueError(f'split_fractions {cfg.split_fractions} must sum '
                         'to 1')
    if osp.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise FileExistsError(
            f'{out_dir} exists and is not empty; pass overwrite=True '
            '(--overwrite) or choose another folder')
    os.makedirs(osp.join(out_dir, 'volumes'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'masks'), exist_ok=True)
    rows = []
    disc_index = 0
    for p in range(cfg.num_patients):
        patient = f'patient{p:05d}'
        split = _split_of(p, cfg.num_patients, cfg.split_fractions)
        patient_rng = np.random.default_rng([cfg.seed, p])
        # Most scans show all six discs; some miss the top one.
        levels = DISC_LEVELS if patient_rng.random() > 0.1 else \
            DISC_LEVELS[1:]
        for level in levels:
            rng = np.random.default_rng([cfg.seed, 1_000_000 + disc_index])
            disc_index += 1
            labels = _draw_labels(cfg, rng)
            num_slices = int(
                rng.choice(cfg.slice_counts, p=cfg.slice_count_probs))
            volume, masks, boxes = render_disc(labels, num_slices, cfg, rng)
            name = f'{patient}_{level}'
            np.save(osp.join(out_dir, 'volumes', name + '.npy'), volume)
            np.savez_compressed(
                osp.join(out_dir, 'masks', name + '.npz'), **masks)
            row = dict(
                patient=patient,
                level=level,
                split=split,
                volume=f'volumes/{name}.npy',
                mask=f'masks/{name}.npz',
                upper_body=' '.join(map(str, boxes[0])),
                lower_body=' '.join(map(str, boxes[1])))
            for task, first in zip(SPINE_TASKS, SPINE_FIRST_GRADES):
                value = labels[task] + first
                missing = rng.random() < cfg.missing_label_rate
                row[task] = '' if missing else str(value)
            rows.append(row)
    csv_path = osp.join(out_dir, 'discs.csv')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return csv_path
