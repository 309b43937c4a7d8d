"""Where a classifier's evidence lies against the lesion boxes of a split.

For every image of ``--split`` that has lesion boxes (FracAtlas's fracture
boxes, the synthetic set's lesion boxes: whatever the dataset packs as
``gt_abnormal_boxes``), this explains the positive class with several
attribution maps at the network input and asks of each:

- ``pointing``: the map's maximum lies inside a lesion box (widened by
  ``--tolerance`` input pixels), the pointing game of Zhang et al.;
- ``mass_in_box``: the fraction of the map's total inside the boxes;
- ``enrichment``: that fraction over the boxes' share of the letterboxed
  image, so 1 is a map spread evenly over the radiograph and 5 is
  evidence five times denser on the lesion than elsewhere.

The same two questions for a point drawn uniformly over the image
(``random``) give the chance level. A model can classify well and still
score low here: the maximum can sit on a cast or a marker while the
lesion holds a fair share of the mass.

Maps: ``guided`` (guided backprop, max over channels, the zoom's map),
``gradient`` (plain gradient magnitude), ``gradient_x_input`` (the
gradient times the input, summed over channels), ``grad_cam`` (Grad-CAM at
the backbone's last stage) and ``entropy`` (the zoom's local entropy of
the guided map, ``--entropy-window``).

Prints one JSON line per map, then one for ``random``; ``empty_maps``
counts the images whose map is zero everywhere (they have a pointing
result but no mass to share, and are left out of the two mass figures).

Example (FracAtlas, valid split, fractured images)::

    python tools/analysis_tools/saliency_pointing.py \\
        configs/fracatlas/baseline_resnetv1d18_1xb16_10e_fracatlas.py \\
        work_dirs/fracatlas/baseline/best_mura_image_auroc_epoch_10.pth \\
        --data-root data/FracAtlas --split valid
"""
import argparse
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate

from radplugins.apis.inference import (init_model_or_exit,
                                       positive_class_index)
from radplugins.saliency import grad_cam, saliency, saliency_entropy
from radplugins.utils import emit, set_data_root

METHODS = ('guided', 'gradient', 'gradient_x_input', 'grad_cam', 'entropy')
BOX_KEY = 'gt_abnormal_boxes'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='classifier config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--data-root', help='point the dataset here')
    parser.add_argument('--split', default='valid',
                        help='dataset split (default: valid)')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=METHODS, help='maps to score')
    parser.add_argument('--target', type=int, default=None,
                        help='class explained (default: the positive '
                        'class)')
    parser.add_argument('--num', type=int, default=None,
                        help='only the first NUM images with boxes')
    parser.add_argument('--tolerance', type=float, default=0.0,
                        help='pointing-game margin in input pixels')
    parser.add_argument('--entropy-window', type=int, default=15,
                        help="local-entropy window of the 'entropy' map")
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random points')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    return parser.parse_args(argv)


def boxes_at_input(boxes: np.ndarray, scale_factor: Sequence[float],
                   offset: Sequence[float]) -> np.ndarray:
    """Map ``(K, 4)`` x1y1x2y2 boxes of the loaded image onto the
    letterboxed network input."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scale = np.array([scale_factor[0], scale_factor[1]] * 2)
    shift = np.array([offset[0], offset[1]] * 2)
    return boxes * scale + shift


def box_mask(boxes: np.ndarray, height: int, width: int,
             margin: float = 0.0) -> np.ndarray:
    """Boolean ``(height, width)`` mask of the pixels whose centres lie in
    any box widened by ``margin``."""
    ys = np.arange(height)[:, None] + 0.5
    xs = np.arange(width)[None, :] + 0.5
    mask = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64).reshape(-1, 4):
        mask |= ((xs >= x1 - margin) & (xs <= x2 + margin)
                 & (ys >= y1 - margin) & (ys <= y2 + margin))
    return mask


def score_map(saliency_map: np.ndarray, lesion_mask: np.ndarray,
              point_mask: np.ndarray, image_mask: np.ndarray) -> Dict:
    """Pointing hit, mass in the boxes and enrichment of one map.

    Args:
        saliency_map: ``(H, W)`` non-negative map.
        lesion_mask: pixels inside the lesion boxes.
        point_mask: pixels inside the boxes widened by the tolerance.
        image_mask: pixels of the radiograph (not the letterbox border).

    Returns:
        dict: ``pointing`` (bool), ``mass_in_box`` and ``enrichment``
        (floats; NaN for an all-zero map).
    """
    values = np.where(image_mask, saliency_map, 0.0)
    total = values.sum()
    peak = np.unravel_index(np.argmax(values), values.shape)
    inside = lesion_mask & image_mask
    area_share = inside.sum() / max(image_mask.sum(), 1)
    mass = values[inside].sum() / total if total > 0 else float('nan')
    return dict(pointing=bool(point_mask[peak]), mass_in_box=float(mass),
                enrichment=float(mass / area_share)
                if area_share > 0 else float('nan'))


def _maps(model: torch.nn.Module, inputs: torch.Tensor,
          targets: torch.Tensor, methods: Sequence[str],
          entropy_window: int) -> Dict[str, torch.Tensor]:
    """``(N, H, W)`` maps of each method."""

    def logits_of(x):
        return model.head(model.extract_feat(x))

    maps = {}
    if {'guided', 'entropy'} & set(methods):
        guided, _ = saliency(logits_of, model, inputs, targets, 'guided')
        maps['guided'] = guided.abs().amax(dim=1)
        if 'entropy' in methods:
            maps['entropy'] = saliency_entropy(
                guided, window=entropy_window)
    if {'gradient', 'gradient_x_input'} & set(methods):
        plain, _ = saliency(logits_of, model, inputs, targets, 'plain')
        maps['gradient'] = plain.abs().amax(dim=1)
        maps['gradient_x_input'] = (plain * inputs).sum(dim=1).abs()
    if 'grad_cam' in methods:

        def head_of(last_stage):
            feats = (last_stage, )
            if model.with_neck:
                feats = model.neck(feats)
            return model.head(feats)

        maps['grad_cam'], _ = grad_cam(
            lambda x: model.backbone(x)[-1], head_of, model, inputs,
            targets)
    return {m: maps[m] for m in methods}


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.split = args.split
    for step in dataset_cfg.pipeline:
        if step['type'] == 'PackInputs':
            keys = tuple(step.get('meta_keys', ()))
            step['meta_keys'] = keys + tuple(
                k for k in (BOX_KEY, 'letterbox_size') if k not in keys)
    model = init_model_or_exit(cfg, args.checkpoint, device=args.device)
    target = args.target
    if target is None:
        target = positive_class_index(
            getattr(model, 'dataset_meta', {}).get('classes'))
        target = 1 if target is None else target

    from mmpretrain.registry import DATASETS
    dataset = DATASETS.build(dataset_cfg)
    indices = [
        i for i in range(len(dataset))
        if len(np.asarray(dataset.get_data_info(i).get(BOX_KEY, ())))
    ]
    if args.num is not None:
        indices = indices[:args.num]
    if not indices:
        raise SystemExit(f'{args.split}: no image with {BOX_KEY}; this '
                         'tool needs a dataset with lesion boxes')

    rng = np.random.default_rng(args.seed)
    results = {m: [] for m in list(args.methods) + ['random']}
    for start in range(0, len(indices), args.batch_size):
        batch = pseudo_collate(
            [dataset[i] for i in indices[start:start + args.batch_size]])
        data = model.data_preprocessor(batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        targets = torch.full((len(inputs), ), target, dtype=torch.long,
                             device=inputs.device)
        maps = _maps(model, inputs, targets, args.methods,
                     args.entropy_window)
        height, width = inputs.shape[2:]
        for n, sample in enumerate(samples):
            boxes = boxes_at_input(
                sample.metainfo[BOX_KEY], sample.metainfo['scale_factor'],
                sample.metainfo['letterbox_offset'])
            lesion = box_mask(boxes, height, width)
            point = box_mask(boxes, height, width, args.tolerance)
            ox, oy = sample.metainfo['letterbox_offset']
            new_w, new_h = sample.metainfo['letterbox_size']
            image = box_mask(
                np.array([[ox, oy, ox + new_w, oy + new_h]]), height, width)
            for method, batch_maps in maps.items():
                results[method].append(
                    score_map(batch_maps[n].float().cpu().numpy(), lesion,
                              point, image))
            ys, xs = np.nonzero(image)
            pick = rng.integers(len(ys))
            results['random'].append(
                dict(pointing=bool(point[ys[pick], xs[pick]]),
                     mass_in_box=float(
                         (lesion & image).sum() / image.sum()),
                     enrichment=1.0))
    for method, rows in results.items():
        line = dict(map=method, split=args.split, images=len(rows),
                    target=target, tolerance=args.tolerance)
        for key in ('pointing', 'mass_in_box', 'enrichment'):
            values = np.array([r[key] for r in rows], np.float64)
            finite = values[np.isfinite(values)]
            line[key] = round(float(finite.mean()), 4) if len(finite) \
                else None
        # An all-zero map (e.g. Grad-CAM where no channel argues for the
        # class) has no mass to share out: counted here, left out above.
        line['empty_maps'] = int(sum(
            not np.isfinite(r['mass_in_box']) for r in rows))
        emit(**line)


if __name__ == '__main__':
    main()
