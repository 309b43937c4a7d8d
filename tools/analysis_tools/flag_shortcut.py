"""How much a classifier's predictions follow the flags of a synthetic set.

Groups the per-image predictions of ``tools/test.py --out preds.pkl`` by the
image's true label and by whether the generator drew a flag (an L/R marker)
on it (``MURA-v1.1/synthetic_ground_truth.json``), and prints one JSON line
per group: the number of images, the fraction predicted abnormal and the
mean abnormal probability. A last line gives, per true label, the gap in
the abnormal-prediction rate between flagged and unflagged images, and the
AUROC among the flagged and among the unflagged images alone. On a test
split where flags do not predict the label, a classifier that ignores
them has gaps near zero and about the same AUROC in both groups; one that
learnt the training set's flag shortcut calls flagged images abnormal more
often, whatever their label, and ranks the flagged ones worse.

Example::

    python tools/test.py CONFIG CHECKPOINT --data-root data/synthetic_flags \\
        --out work_dirs/flags/raw/preds.pkl
    python tools/analysis_tools/flag_shortcut.py data/synthetic_flags \\
        work_dirs/flags/raw/preds.pkl
"""
import argparse
import os.path as osp
import pickle
import sys
from typing import Dict, List, Optional

import numpy as np
from sklearn.metrics import roc_auc_score

from radplugins.datasets.mura import (GROUND_TRUTH_FILE, MURA_FOLDER,
                                      load_synthetic_ground_truth)
from radplugins.utils import emit

LABEL_NAMES = ('normal', 'abnormal')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='folder holding MURA-v1.1/ with '
                        'synthetic_ground_truth.json')
    parser.add_argument('predictions', help='.pkl of tools/test.py --out')
    parser.add_argument('--threshold', type=float, default=0.5,
                        help='abnormal probability that counts as a '
                        'positive prediction')
    return parser.parse_args(argv)


def _abnormal_probability(pred: dict, where: str) -> float:
    score = np.asarray(pred['pred_score'], dtype=np.float64).reshape(-1)
    if score.shape != (2, ):
        raise SystemExit(f'{where}: pred_score of shape {score.shape}, '
                         'expected two class probabilities')
    return float(score[1])


def shortcut_groups(truth: Dict[str, dict], predictions: List[dict],
                    data_root: str, threshold: float) -> List[dict]:
    """Per (true label, flagged) group figures and the per-label gaps.

    Args:
        truth: ``images`` of the generator's ground truth, keyed by the
            image path relative to ``data_root``.
        predictions: per-image records with ``img_path`` and ``pred_score``.
        data_root: the folder the truth's paths are relative to.
        threshold: abnormal probability counted as a positive prediction.

    Returns:
        One dict per non-empty group, then one dict of the gaps and the
        per-flag-group AUROCs (None where a group lacks a class).
    """
    groups: Dict[tuple, List[float]] = {}
    for index, pred in enumerate(predictions):
        path = pred.get('img_path')
        if path is None:
            raise SystemExit(f'prediction {index}: no img_path (was it '
                             'written by tools/test.py --out?)')
        # The truth's keys start at MURA-v1.1/; the prediction's path may
        # carry any data root before that, relative or absolute.
        normalised = str(path).replace(osp.sep, '/')
        start = normalised.rfind(MURA_FOLDER + '/')
        if start < 0:
            raise SystemExit(f'prediction {index}: {path} is not under a '
                             f'{MURA_FOLDER}/ folder')
        key = normalised[start:]
        if key not in truth:
            raise SystemExit(f'prediction {index}: {path} is not in the '
                             f'ground truth of {data_root}')
        info = truth[key]
        label = int(info['study_label'])
        gt = pred.get('gt_label')
        if gt is not None:
            predicted_with = int(np.asarray(gt).reshape(-1)[0])
            if predicted_with != label:
                raise SystemExit(
                    f'{path}: predictions say label {predicted_with}, '
                    f'the ground truth says {label}')
        flagged = bool(info.get('flags'))
        groups.setdefault((label, flagged), []).append(
            _abnormal_probability(pred, path))
    rows = []
    rates: Dict[tuple, float] = {}
    for (label, flagged), probs in sorted(groups.items()):
        probs_arr = np.asarray(probs)
        rate = float((probs_arr >= threshold).mean())
        rates[(label, flagged)] = rate
        rows.append(dict(label=LABEL_NAMES[label], flagged=flagged,
                         images=len(probs),
                         predicted_abnormal=round(rate, 4),
                         mean_abnormal_probability=round(
                             float(probs_arr.mean()), 4)))
    gaps = {}
    for label, name in enumerate(LABEL_NAMES):
        if (label, True) in rates and (label, False) in rates:
            gaps[name] = round(rates[(label, True)] - rates[(label, False)],
                               4)
        else:
            gaps[name] = None
    # Threshold-free: how well the scores rank abnormal above normal among
    # the flagged and among the unflagged images alone.
    auroc = {}
    for flagged, name in ((False, 'unflagged'), (True, 'flagged')):
        normal = groups.get((0, flagged), [])
        abnormal = groups.get((1, flagged), [])
        auroc[name] = round(
            float(roc_auc_score([0] * len(normal) + [1] * len(abnormal),
                                normal + abnormal)),
            4) if normal and abnormal else None
    rows.append(dict(flag_gap=gaps, auroc=auroc, threshold=threshold))
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        truth = load_synthetic_ground_truth(
            osp.join(args.data_root, MURA_FOLDER, GROUND_TRUTH_FILE))
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f'{error} (a synthetic set only)')
    with open(args.predictions, 'rb') as f:
        predictions = pickle.load(f)
    if not predictions:
        raise SystemExit(f'{args.predictions}: no predictions')
    for row in shortcut_groups(truth, predictions,
                               osp.normpath(args.data_root), args.threshold):
        emit(**row)
    return 0


if __name__ == '__main__':
    sys.exit(main())
