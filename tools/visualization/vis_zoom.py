"""Draw where a zoom model looks and what it crops, for dataset images.

For each of the first N images of a split, one PNG panel: the radiograph
with every zoom step's ROI box (one colour per step), the saliency peaks
(crosses) and the prediction; the guided-backprop map; the local-entropy
map; and the crop of the ROI. Ground-truth abnormality boxes are drawn
dashed red: FracAtlas's always, a synthetic set's with
``--ground-truth auto``; ``--flags REPORT`` draws the markers a flag
detector found (``tools/remove_flags.py``'s report; cyan, dotted). ``--label 1 --grid FILE`` puts the first N
positives (dataset order, not picked) into one picture.

Examples::

    python tools/visualization/vis_zoom.py \\
        configs/mura/zoom_resnet18_1xb16_8e_synthetic-mura.py \\
        work_dirs/zoom_resnet18_1xb16_8e_synthetic-mura/epoch_8.pth \\
        --data-root data/synthetic_mura --num 8 --ground-truth auto
    python tools/visualization/vis_zoom.py CONFIG CKPT --split train \\
        --cfg-options model.num_steps=2 --out-dir vis/
    python tools/visualization/vis_zoom.py \\
        configs/fracatlas/zoom_resnetv1d18_1xb16_1e-ft_fracatlas.py CKPT \\
        --data-root data/FracAtlas --label 1 --num 12 --grid grid.png

Radiographs are drawn in the frame the model saw them in: a config whose
``LoadRadiograph`` shrinks large images draws them shrunk, boxes included.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import List, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, TRANSFORMS

import radplugins  # noqa: F401  registers the plugin
from radplugins.apis import init_model_or_exit, load_image_any
from radplugins.utils import (check_output_or_exit, data_roots,
                              set_data_root)
from radplugins.visualization import (render_attention_panel,
                                      render_zoom_panel, sample_to_panel_args,
                                      save_image)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write zoom panels (ROI, GBP, entropy, crop) for '
        'dataset images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--data-root', help='point the dataset at this folder')
    parser.add_argument(
        '--split', default='valid', help='dataset split (default: valid)')
    parser.add_argument(
        '--num', type=int, default=8, help='number of images (default: 8)')
    parser.add_argument(
        '--out-dir',
        default='work_dirs/vis_zoom',
        help='folder for the PNGs (default: work_dirs/vis_zoom); not '
        'inside the data root, nor around it')
    parser.add_argument(
        '--ground-truth',
        help="boxes JSON to draw (dashed); 'auto' for the synthetic set's "
        'MURA-v1.1/synthetic_ground_truth.json')
    parser.add_argument(
        '--flags',
        help='a tools/remove_flags.py report of a FracAtlas folder: draw '
        'its detected flags (cyan, dotted) on the panels')
    parser.add_argument(
        '--label',
        type=int,
        help='draw only images of this ground-truth class (e.g. 1 for the '
        'positives): the first --num of them in dataset order')
    parser.add_argument(
        '--grid',
        help='also write all panels into this one PNG, --grid-cols wide')
    parser.add_argument(
        '--grid-cols', type=int, default=4, help='panels per grid row')
    parser.add_argument(
        '--tile-size', type=int, default=320, help='tile side in pixels')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.num_steps=2')
    return parser.parse_args(argv)


def build_dataset(cfg: Config, args: argparse.Namespace):
    """The config's test dataset, on the asked split and data root."""
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    if 'split' in dataset_cfg or dataset_cfg.get('type') == 'MuraDataset':
        dataset_cfg['split'] = args.split
    if args.ground_truth is not None:
        dataset_cfg['ground_truth'] = args.ground_truth
    if args.flags is not None:
        if dataset_cfg.get('type') != 'FracAtlasDataset':
            raise SystemExit(f'--flags needs a FracAtlasDataset config, not '
                             f'{dataset_cfg.get("type")!r}')
        dataset_cfg['flag_regions_file'] = args.flags
    return DATASETS.build(dataset_cfg)


def load_as_pipeline(cfg: Config, info: dict) -> Tuple[np.ndarray, dict]:
    """The radiograph in the frame the model saw it in, and ``info`` with
    its boxes in that frame.

    When the test pipeline starts with :class:`LoadRadiograph`, the same
    transform loads the image, so a radiograph it shrinks
    (``max_long_side``) and its ground-truth boxes are drawn in the frame
    of the zoom boxes; otherwise the file is read as it is.
    """
    first = cfg.test_dataloader.dataset.pipeline[0]
    if first.get('type') != 'LoadRadiograph':
        return load_image_any(info['img_path'], 3), info
    load = TRANSFORMS.build(dict(first, channels=3))
    loaded = load(copy.deepcopy(info))
    return loaded['img'], loaded


def grid_of(panels: List[np.ndarray], cols: int) -> np.ndarray:
    """Panels in rows of ``cols``, padded white to the largest panel."""
    height = max(p.shape[0] for p in panels)
    width = max(p.shape[1] for p in panels)
    rows = -(-len(panels) // cols)
    grid = np.full((rows * height, cols * width, 3), 255, np.uint8)
    for i, panel in enumerate(panels):
        r, c = divmod(i, cols)
        grid[r * height:r * height + panel.shape[0],
             c * width:c * width + panel.shape[1]] = panel
    return grid


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.num < 1:
        raise SystemExit(f'--num must be >= 1, got {args.num}')
    if args.grid_cols < 1:
        raise SystemExit(f'--grid-cols must be >= 1, got {args.grid_cols}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    roots = [args.data_root] if args.data_root is not None else \
        data_roots(cfg)
    gt_file = args.ground_truth if args.ground_truth != 'auto' else None
    check_output_or_exit(args.out_dir, roots + [gt_file, args.flags],
                         is_dir=True, label='--out-dir')
    model = init_model_or_exit(cfg, args.checkpoint, args.device)
    if hasattr(model, 'return_maps'):
        model.return_maps = True
    elif not hasattr(model, 'apns'):
        print(f'{type(model).__name__} does not zoom: the panels show the '
              'prediction only', file=sys.stderr)
    dataset = build_dataset(cfg, args)
    names = dataset.metainfo.get('classes') or \
        model.dataset_meta.get('classes')
    panels = []
    for idx in range(len(dataset)):
        if len(panels) == args.num:
            break
        info = dataset.get_data_info(idx)
        if args.label is not None and int(
                np.asarray(info['gt_label']).reshape(-1)[0]) != args.label:
            continue
        data = dataset[idx]
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([data]))[0]
        path = info['img_path']
        stem = osp.splitext(osp.basename(path))[0]
        image, info = load_as_pipeline(cfg, info)
        panel_args = sample_to_panel_args(sample)
        if info.get('gt_abnormal_boxes') is not None:
            panel_args['gt_boxes'] = info['gt_abnormal_boxes']
        if args.flags is not None:
            panel_args['flag_boxes'] = info['gt_flag_boxes']
        title = f'{stem} #{idx}'
        if 'gt_label' in info:
            gt = int(np.asarray(info['gt_label']).reshape(-1)[0])
            title += f'   truth: {names[gt] if names else gt}'
        if hasattr(model, 'apns'):  # RA-CNN: the region of each scale
            panel = render_attention_panel(
                image,
                panel_args['boxes'],
                scale_scores=panel_args['scale_scores'],
                pred_score=panel_args['pred_score'],
                class_names=names,
                gt_boxes=panel_args['gt_boxes'],
                title=title,
                tile_size=args.tile_size)
        else:
            panel = render_zoom_panel(
                image,
                class_names=names,
                title=title,
                tile_size=args.tile_size,
                **panel_args)
        out = save_image(osp.join(args.out_dir, f'{stem}_{idx}.png'), panel)
        panels.append(panel)
        print(out)
    if not panels:
        raise SystemExit(f'no image of class {args.label} in the '
                         f'{args.split!r} split')
    if args.grid:
        print(save_image(args.grid, grid_of(panels, args.grid_cols)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
