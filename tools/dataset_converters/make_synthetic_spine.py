"""Write a synthetic lumbar disc set in SpineDiscDataset's format.

Volumes, lesion masks and ``discs.csv`` (see
``radplugins/datasets/synthetic/spine_generator.py``). Every field of
``SyntheticSpineConfig`` with a scalar value is an option.

Example::

    python tools/dataset_converters/make_synthetic_spine.py \\
        --out data/synthetic_spine --num-patients 200

A held-out evaluation set of new patients (another seed, all in the test
split), for tighter estimates than the demo's 20 test patients::

    python tools/dataset_converters/make_synthetic_spine.py \\
        --out data/synthetic_spine_eval --num-patients 120 --seed 1 \\
        --split-fractions 0 0 1
"""
import argparse
import time
from dataclasses import fields

from radplugins.datasets.synthetic import (SyntheticSpineConfig,
                                           generate_synthetic_spine)
from radplugins.utils import check_output_or_exit


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='write into an existing, non-empty --out (same-named files '
        'are replaced)')
    for f in fields(SyntheticSpineConfig):
        if f.type in (int, float, 'int', 'float'):
            kind = int if f.type in (int, 'int') else float
            parser.add_argument(
                '--' + f.name.replace('_', '-'),
                type=kind,
                default=f.default,
                help=f'default {f.default}')
    default = SyntheticSpineConfig.split_fractions
    parser.add_argument(
        '--split-fractions',
        type=float,
        nargs=3,
        metavar=('TRAIN', 'VAL', 'TEST'),
        default=default,
        help='share of patients per split, summing to 1 (default '
        f'{" ".join(map(str, default))})')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    # It reads nothing; the guard still refuses an --out that is a file.
    check_output_or_exit(args.out, [], is_dir=True, label='--out')
    cfg = SyntheticSpineConfig(**{
        f.name: getattr(args, f.name)
        for f in fields(SyntheticSpineConfig) if hasattr(args, f.name)
    })
    start = time.perf_counter()
    try:
        path = generate_synthetic_spine(args.out, cfg,
                                        overwrite=args.overwrite)
    except FileExistsError as exc:
        raise SystemExit(f'error: {exc}') from None
    print(f'wrote {path} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
