"""Replace a classifier's head by bagged SVMs per body part (paper §IV-C).

Extracts the pooled backbone features of every train and valid image with
the model in test mode (batched, streamed, with a progress bar), caches
them in ``OUT/feature_cache/`` (npz, keyed by the config's model and data
parts, the checkpoint's bytes and the data's files) and reuses them on the
next run; then trains per body part a bag of 10 SVMs (polynomial kernel of
degree 5, each on a tenth of the samples, one-vs-rest, in parallel) and
prints and writes Table II: accuracy, kappa, training time, train and test
sample counts, and study-level kappa (mean of view probabilities per
study), to ``OUT/svm_table.txt`` and ``OUT/svm_table.json``.

A body part whose training images are all of one class is an error naming
it; a body part without training or test images is skipped with a message
(and listed under ``skipped`` in the JSON).

Examples::

    python tools/feature_svm.py \\
        configs/mura/features_resnet152_1xb32_2e-ft_mura.py \\
        work_dirs/features_resnet152_1xb32_2e-ft_mura/epoch_2.pth \\
        --data-root /data/mura --body-parts wrist hand --n-jobs 4
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

import radplugins  # noqa: F401  registers the plugin
from radplugins.apis import (build_split_loader, cache_path,
                             empty_features, feature_cache_key,
                             fit_body_parts,
                             format_svm_table, init_model_or_exit,
                             load_or_extract_features)
from radplugins.datasets.mura import normalize_body_part
from radplugins.utils import (check_output_or_exit, data_roots,
                              set_data_root)

SPLITS = ('train', 'valid')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Bagged SVMs per body part on a network\'s features '
        '(paper Table II)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint of the feature net')
    parser.add_argument(
        '--data-root', help='folder containing MURA-v1.1/ (overrides the '
        'config)')
    parser.add_argument(
        '--body-parts',
        nargs='+',
        metavar='PART',
        help='only these body parts (XR_WRIST or wrist); default: all')
    parser.add_argument(
        '--out',
        help='output folder (default: work_dirs/feature_svm/<config '
        'name>); not inside the data root, nor around it')
    parser.add_argument(
        '--batch-size', type=int, help='extraction batch size')
    parser.add_argument(
        '--num-workers', type=int, help='extraction dataloader workers')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device of the feature network')
    parser.add_argument(
        '--n-estimators', type=int, default=10, help='SVMs per bag')
    parser.add_argument(
        '--sample-fraction',
        type=float,
        default=0.1,
        help='share of a body part\'s samples each SVM sees')
    parser.add_argument(
        '--min-bag-size',
        type=int,
        default=20,
        help='smallest number of samples an SVM sees')
    parser.add_argument('--kernel', default='poly', help='SVC kernel')
    parser.add_argument(
        '--degree', type=int, default=5, help='polynomial degree')
    parser.add_argument('--C', type=float, default=1.0, help='SVC C')
    parser.add_argument(
        '--n-jobs',
        type=int,
        default=-1,
        help='SVMs trained in parallel (-1: all cores)')
    parser.add_argument('--seed', type=int, default=0, help='bagging seed')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='overrides')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        body_parts = [normalize_body_part(p) for p in args.body_parts] \
            if args.body_parts else None
    except ValueError as err:
        raise SystemExit(f'error: --body-parts: {err}')
    out_dir = args.out or osp.join(
        'work_dirs', 'feature_svm',
        osp.splitext(osp.basename(args.config))[0])
    check_output_or_exit(out_dir, data_roots(cfg), is_dir=True, label='--out')
    os.makedirs(out_dir, exist_ok=True)

    model = init_model_or_exit(cfg, args.checkpoint, args.device)
    features = {}
    for split in SPLITS:
        try:
            loader = build_split_loader(
                cfg,
                split,
                body_parts=body_parts,
                batch_size=args.batch_size,
                num_workers=args.num_workers)
        except ValueError as err:
            # MuraDataset refuses to be empty; here an empty split only
            # means its body parts get skipped below.
            if 'no images left' not in str(err):
                raise
            print(f'{split}: {err}')
            features[split] = empty_features()
            continue
        key = feature_cache_key(cfg, split, args.checkpoint, loader.dataset)
        features[split] = load_or_extract_features(
            model,
            loader,
            cache_path(osp.join(out_dir, 'feature_cache'), split, key),
            key,
            progress=not args.no_progress)
    del model

    # The bag's settings, passed to the SVMs and recorded with the table.
    svm = dict(
        n_estimators=args.n_estimators,
        sample_fraction=args.sample_fraction,
        min_bag_size=args.min_bag_size,
        kernel=args.kernel,
        degree=args.degree,
        C=args.C,
        seed=args.seed)
    try:
        result = fit_body_parts(
            features['train'],
            features['valid'],
            body_parts=body_parts,
            n_jobs=args.n_jobs,
            **svm)
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    if not result['rows']:
        raise SystemExit('error: no body part has both training and test '
                         f'images (skipped: {result["skipped"]})')
    table = format_svm_table(result['rows'])
    print(table)
    with open(osp.join(out_dir, 'svm_table.txt'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(out_dir, 'svm_table.json'), 'w') as f:
        json.dump(
            dict(
                config=args.config,
                checkpoint=args.checkpoint,
                svm=svm,
                rows=result['rows'],
                skipped=result['skipped']),
            f,
            indent=2)
    print(f'written to {out_dir}/svm_table.txt and svm_table.json')


if __name__ == '__main__':
    main()
