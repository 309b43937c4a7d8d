"""Scores of a binary classifier's predictions per subgroup of the images.

Reads the per-image predictions of ``tools/test.py --out preds.pkl`` and
prints one JSON line per value of each ``--by`` key (any metainfo the
pipeline packed, e.g. FracAtlas's ``hardware``, ``view`` or ``body_part``)
and one for all images: the number of images and positives, AUROC, and the
sensitivity and specificity at ``--threshold`` (positive when the positive
probability is strictly greater, as ``MuraKappa`` counts). ``--exclude``
drops images first, e.g. ``--exclude hardware=1`` asks how well the model
does on the images without an implant, which in FracAtlas are nearly all
fractured (a shortcut a network can take instead of finding the fracture).

Example::

    python tools/test.py configs/fracatlas/baseline_..._fracatlas.py CKPT \\
        --cfg-options test_dataloader.dataset.split=valid --out valid.pkl
    python tools/analysis_tools/subgroup_scores.py valid.pkl \\
        --by hardware view --exclude hardware=1
"""
import argparse
import pickle
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from radplugins.utils import emit


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('predictions', help='.pkl of tools/test.py --out')
    parser.add_argument('--by', nargs='*', default=[],
                        help='metainfo keys to group by')
    parser.add_argument('--exclude', nargs='*', default=[],
                        metavar='KEY=VALUE',
                        help='leave out images whose KEY has VALUE')
    parser.add_argument('--threshold', type=float, default=0.5,
                        help='positive probability above which an image '
                        'counts as predicted positive')
    return parser.parse_args(argv)


def _records(predictions: Sequence[dict], keys: Sequence[str],
             where: str) -> List[dict]:
    """Positive probability, label and the asked keys of every image."""
    records = []
    for index, pred in enumerate(predictions):
        name = f'{where}: prediction {index} ({pred.get("img_path", "?")})'
        score = np.asarray(pred.get('pred_score'), np.float64).reshape(-1)
        if score.shape != (2, ):
            raise SystemExit(f'{name}: pred_score of shape {score.shape}; '
                             'expected two class probabilities')
        if pred.get('gt_label') is None:
            raise SystemExit(f'{name}: no gt_label')
        record = dict(prob=float(score[1]),
                      label=int(np.asarray(pred['gt_label']).reshape(-1)[0]))
        for key in keys:
            if key not in pred:
                raise SystemExit(f'{name}: no {key!r}; pack it with '
                                 'PackInputs(meta_keys=...)')
            record[key] = str(pred[key])
        records.append(record)
    return records


def scores(records: Sequence[dict], threshold: float = 0.5) -> Dict:
    """Counts, AUROC, sensitivity and specificity of one group.

    Args:
        records: dicts with ``prob`` (positive probability) and ``label``.
        threshold: predicted positive when ``prob > threshold``.

    Returns:
        dict: ``images``, ``positives``, ``auroc``, ``sensitivity``,
        ``specificity``; a score is None where the group lacks a class.
    """
    probs = np.array([r['prob'] for r in records])
    labels = np.array([r['label'] for r in records])
    predicted = probs > threshold
    pos, neg = labels == 1, labels == 0
    return dict(
        images=int(len(records)),
        positives=int(pos.sum()),
        auroc=round(float(roc_auc_score(labels, probs)), 4)
        if pos.any() and neg.any() else None,
        sensitivity=round(float(predicted[pos].mean()), 4)
        if pos.any() else None,
        specificity=round(float((~predicted[neg]).mean()), 4)
        if neg.any() else None)


def subgroup_rows(predictions: Sequence[dict], by: Sequence[str],
                  exclude: Sequence[str], threshold: float,
                  where: str) -> List[dict]:
    """The JSON rows the tool prints: all images, then each group."""
    rules = []
    for rule in exclude:
        key, sep, value = rule.partition('=')
        if not sep or not key:
            raise SystemExit(f'--exclude {rule!r}: expected KEY=VALUE')
        rules.append((key, value))
    keys = list(dict.fromkeys(list(by) + [k for k, _ in rules]))
    records = [
        r for r in _records(predictions, keys, where)
        if not any(r[k] == v for k, v in rules)
    ]
    if not records:
        raise SystemExit(f'{where}: no image left after --exclude')
    excluded = [f'{k}={v}' for k, v in rules]
    rows = [dict(group='all', excluded=excluded,
                 **scores(records, threshold))]
    for key in by:
        for value in sorted({r[key] for r in records}):
            rows.append(dict(group=f'{key}={value}', excluded=excluded,
                             **scores([r for r in records
                                       if r[key] == value], threshold)))
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    with open(args.predictions, 'rb') as f:
        predictions = pickle.load(f)
    if not predictions:
        raise SystemExit(f'{args.predictions}: no predictions')
    for row in subgroup_rows(predictions, args.by, args.exclude,
                             args.threshold, args.predictions):
        emit(**row)
    return 0


if __name__ == '__main__':
    sys.exit(main())
