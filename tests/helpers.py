"""Helpers shared by the tests (importable as ``tests.helpers``)."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np


def write_mura_fixture(root: str,
                       studies: Optional[List[Tuple[str, str, str, int,
                                                    int]]] = None,
                       size: Tuple[int, int] = (48, 64),
                       seed: int = 0) -> Dict[str, List[str]]:
    """Write a tiny MURA-v1.1 layout with header-less CSVs.

    Args:
        root: Folder that will contain ``MURA-v1.1/``.
        studies: ``(split, part, patient, study_number, label, n_views)``.
        size: Image ``(height, width)``.
        seed: Pixel RNG seed.

    Returns:
        dict: ``split -> list of image paths`` as written in the CSVs.
    """
    if studies is None:
        studies = [
            ('train', 'XR_WRIST', 'patient00001', 1, 1, 2),
            ('train', 'XR_WRIST', 'patient00002', 1, 0, 1),
            ('train', 'XR_HAND', 'patient00003', 1, 1, 3),
            ('train', 'XR_ELBOW', 'patient00003', 1, 0, 2),
            ('valid', 'XR_WRIST', 'patient00010', 1, 1, 2),
            ('valid', 'XR_HAND', 'patient00011', 1, 0, 1),
        ]
    rng = np.random.default_rng(seed)
    images: Dict[str, List[str]] = {'train': [], 'valid': []}
    study_rows: Dict[str, List[str]] = {'train': [], 'valid': []}
    for split, part, patient, number, label, n_views in studies:
        suffix = 'positive' if label else 'negative'
        study = f'MURA-v1.1/{split}/{part}/{patient}/study{number}_{suffix}/'
        os.makedirs(osp.join(root, study), exist_ok=True)
        study_rows[split].append(f'{study},{label}')
        for view in range(1, n_views + 1):
            rel = f'{study}image{view}.png'
            img = rng.integers(0, 256, size, dtype=np.uint8)
            cv2.imwrite(osp.join(root, rel), img)
            images[split].append(rel)
    for split in ('train', 'valid'):
        base = osp.join(root, 'MURA-v1.1')
        with open(osp.join(base, f'{split}_image_paths.csv'), 'w') as f:
            f.write(''.join(p + '\n' for p in images[split]))
        with open(osp.join(base, f'{split}_labeled_studies.csv'), 'w') as f:
            f.write(''.join(r + '\n' for r in study_rows[split]))
    return images


def write_synthetic_mura(root: str) -> str:
    """Write a tiny synthetic MURA set (noise images) and return its root."""
    write_mura_fixture(
        root,
        studies=[('train', part, f'patient{i:05d}', 1, i % 2, 1 + i % 3)
                 for i, part in enumerate(['XR_WRIST', 'XR_HAND'] * 4, 1)] +
        [('valid', part, f'patient{i:05d}', 1, i % 2, 1 + i % 3)
         for i, part in enumerate(['XR_WRIST', 'XR_HAND'] * 3, 20)])
    return root
