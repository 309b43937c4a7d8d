"""Write a synthetic MURA-v1.1 set (images, CSVs, ground-truth JSON).

Examples::

    # the set `make demo` trains on
    python tools/dataset_converters/make_synthetic_mura.py --preset demo \\
        --out data/synthetic_mura
    # flags that give the label away in train but not in valid
    python tools/dataset_converters/make_synthetic_mura.py --out data/flags \\
        --flag-label-correlation 0.9 --valid-flag-label-correlation 0
"""
import argparse
import json
from dataclasses import fields

from radplugins.datasets.synthetic import (SyntheticMuraConfig,
                                           generate_synthetic_mura)

PRESETS = {
    # Small enough for a CPU demo: ~500 train and ~200 valid images of
    # 400-1000 px.
    'demo': dict(train_studies=200, valid_studies=80,
                 long_side_range=(400, 1000)),
    'default': dict(),
}


def parse_args() -> argparse.Namespace:
    defaults = SyntheticMuraConfig()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True,
                        help='folder that will contain MURA-v1.1/')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        default='default',
                        help='start from these parameters; flags override')
    parser.add_argument('--workers', type=int, default=2,
                        help='drawing processes (output does not depend on '
                        'it)')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into an existing MURA-v1.1/')
    for f in fields(SyntheticMuraConfig):
        value = getattr(defaults, f.name)
        flag = '--' + f.name.replace('_', '-')
        if isinstance(value, dict):
            parser.add_argument(
                flag, type=json.loads, default=None,
                help=f'JSON object, default {json.dumps(value)}')
        elif isinstance(value, tuple):
            kind = type(value[0])
            parser.add_argument(flag, type=kind, nargs='+', default=None,
                                help=f'default {" ".join(map(str, value))}')
        elif f.name == 'valid_flag_label_correlation':
            parser.add_argument(
                flag, type=float, default=None,
                help='default: same as --flag-label-correlation')
        else:
            parser.add_argument(flag, type=type(value), default=None,
                                help=f'default {value}')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    params = dict(PRESETS[args.preset])
    for f in fields(SyntheticMuraConfig):
        value = getattr(args, f.name)
        if value is not None:
            params[f.name] = tuple(value) if isinstance(value, list) \
                else value
    cfg = SyntheticMuraConfig(**params)
    summary = generate_synthetic_mura(
        args.out, cfg, workers=args.workers, overwrite=args.overwrite)
    n_images = summary['train']['images'] + summary['valid']['images']
    n_studies = summary['train']['studies'] + summary['valid']['studies']
    print(f'wrote {n_images} images in {n_studies} studies to {args.out} '
          f'in {summary["seconds"]} s')
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
