"""Load every file of a config's datasets once and list all that fail.

Builds the train, val and test datasets of CONFIG and runs each sample's
loading step (the pipeline's ``LoadRadiograph``, ``LoadImageFromFile`` or
``LoadDiscVolume``: the file is decoded, not only found), then prints every
file that fails with its CSV row and the reason, and exits 1 if there is
any. Run it before a long training: a corrupt image otherwise stops
training when its batch comes, or, in the validation set, after a whole
epoch. Files a dataset refuses when it is built (MURA's and FracAtlas's
empty or truncated files) are listed from its error, and the rest of that
set is still checked (built again with ``skip_corrupt=True``).

Examples::

    python tools/misc/check_dataset.py \\
        configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py \\
        --data-root data/mura
    python tools/misc/check_dataset.py CONFIG --splits val
"""
import argparse
import copy
import inspect
import logging
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import DATASETS, init_default_scope
from mmengine.utils import import_modules_from_strings

import radplugins  # noqa: F401  registers the plugin
from radplugins.datasets.dataset_check import check_dataset, leaf_datasets
from radplugins.utils import set_data_root

LOADERS = dict(train='train_dataloader', val='val_dataloader',
               test='test_dataloader')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Decode every file of a config\'s datasets and list '
        'all that cannot be loaded, with their CSV rows')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--data-root',
        help='point every dataset of the config at this folder (for MURA: '
        'the folder containing MURA-v1.1/)')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=sorted(LOADERS),
        default=['train', 'val', 'test'],
        help='which datasets to check (default: all three)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries')
    return parser.parse_args(argv)


def _accepts_skip_corrupt(dataset_cfg: dict) -> bool:
    """Whether the dataset type has a ``skip_corrupt`` option, not on."""
    kind = dataset_cfg.get('type')
    if isinstance(kind, str):
        # The registry of the default scope, where build() looks too.
        with DATASETS.switch_scope_and_registry(None) as registry:
            kind = registry.get(kind)
    cls = kind if inspect.isclass(kind) else None
    return cls is not None and 'skip_corrupt' in inspect.signature(
        cls.__init__).parameters and not dataset_cfg.get('skip_corrupt')


def check_split(name: str, dataset_cfg: dict) -> int:
    """Build and check one dataset; print its bad files.

    Returns:
        int: How many files are bad (a set that cannot be built counts 1
        unless its error lists its files).
    """
    refused = 0
    try:
        dataset = DATASETS.build(copy.deepcopy(dataset_cfg))
    except Exception as exc:
        print(f'{name}: {type(exc).__name__}: {exc}')
        if not (isinstance(exc, OSError) and
                _accepts_skip_corrupt(dataset_cfg)):
            return 1
        retry = dict(copy.deepcopy(dataset_cfg), skip_corrupt=True)
        # Its log would list the files printed above a second time.
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            dataset = DATASETS.build(retry)
        except Exception as again:
            print(f'{name}: {type(again).__name__}: {again}')
            return 1
        finally:
            logger.setLevel(level)
        refused = sum(
            len(getattr(d, 'skipped_corrupt', []) or [])
            for d in leaf_datasets(dataset))
    else:
        skipped = sum(
            len(getattr(d, 'skipped_corrupt', []) or [])
            for d in leaf_datasets(dataset))
        if skipped:
            print(f'{name}: {skipped} empty or truncated file(s) left out '
                  'by the config\'s skip_corrupt=True (listed in the log '
                  'above), not counted')

    def progress(done: int, total: int) -> None:
        if done % 1000 == 0 or done == total:
            print(f'{name}: {done}/{total}', file=sys.stderr, flush=True)

    bad = check_dataset(dataset, progress)
    for item in bad:
        print(f'{name}: {item}')
    print(f'{name}: {len(dataset)} sample(s) checked, '
          f'{len(bad) + refused} file(s) cannot be loaded')
    return len(bad) + refused


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    checked = {}
    total_bad = 0
    for name in args.splits:
        loader = cfg.get(LOADERS[name])
        if not loader or not loader.get('dataset'):
            print(f'{name}: the config has no {LOADERS[name]}')
            continue
        dataset_cfg = loader['dataset'].to_dict() if hasattr(
            loader['dataset'], 'to_dict') else dict(loader['dataset'])
        same = [other for other, seen in checked.items()
                if seen == dataset_cfg]
        if same:
            print(f'{name}: the same dataset as {same[0]}, checked above')
            continue
        checked[name] = dataset_cfg
        total_bad += check_split(name, dataset_cfg)
    if total_bad:
        print(f'{total_bad} file(s) cannot be loaded; fix or remove them')
        return 1
    print('every file loads')
    return 0


if __name__ == '__main__':
    sys.exit(main())
