"""Write a synthetic MURA-v1.1 set (images, CSVs, ground-truth JSON).

Every field of ``SyntheticMuraConfig`` is an option (``--flag-rate`` for
``flag_rate``); the output does not depend on ``--workers``.

Examples::

    # the set `make demo` trains on (small lesions, 1,000 training studies)
    python tools/dataset_converters/make_synthetic_mura.py \\
        --preset small-lesion-1000 --out data/synthetic_mura_1000
    # the 200-study set the other synthetic MURA configs read
    python tools/dataset_converters/make_synthetic_mura.py \\
        --preset small-lesion --out data/synthetic_mura
    # flags that give the label away in train but not in valid
    python tools/dataset_converters/make_synthetic_mura.py --out data/flags \\
        --flag-label-correlation 0.9 --valid-flag-label-correlation 0
    # lesions a 224-px view barely shows, 16-bit and RGB PNGs
    python tools/dataset_converters/make_synthetic_mura.py --out data/small \\
        --lesion-scale 0.02 --color-mode-probs '{"gray16": 1, "rgb": 1}'
"""
import argparse
import json
import re
from dataclasses import fields
from typing import Dict

from radplugins.datasets.synthetic import (SyntheticMuraConfig,
                                           generate_synthetic_mura)
from radplugins.utils import check_output_or_exit

# High-resolution radiographs with small lesions (about 8 % of the long
# side, a few pixels once shrunk to 224): what zooming is for.
_SMALL_LESION = dict(train_studies=200, valid_studies=80,
                     long_side_range=(1000, 1600), lesion_scale=0.08)

PRESETS = {
    # Small enough for a CPU demo: ~500 train and ~200 valid images of
    # 400-1000 px.
    'demo': dict(train_studies=200, valid_studies=80,
                 long_side_range=(400, 1000)),
    'small-lesion': _SMALL_LESION,
    # The same lesions and validation size with five times the training
    # studies (~2,600 images): on ~500 images a ResNet from scratch barely
    # learns the lesions (image AUROC ~0.6-0.7 after 8 or 24 epochs), and
    # a classifier that has not learnt a lesion cannot point at it
    # (docs/models/zoom.md, "More training studies").
    'small-lesion-1000': dict(_SMALL_LESION, train_studies=1000),
    'default': dict(),
}


def field_docs() -> Dict[str, str]:
    """``field -> description`` from the config's Attributes docstring."""
    docs: Dict[str, str] = {}
    name = None
    for line in (SyntheticMuraConfig.__doc__ or '').splitlines():
        match = re.match(r'^\s{8}(\w+) \([^)]*\): (.*)$', line)
        if match:
            name = match.group(1)
            docs[name] = match.group(2)
        elif name and line.startswith(' ' * 12) and line.strip():
            docs[name] += ' ' + line.strip()
        else:
            name = None
    return docs


def parse_args(argv=None) -> argparse.Namespace:
    defaults = SyntheticMuraConfig()
    docs = field_docs()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True,
                        help='folder that will contain MURA-v1.1/')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        default='default',
                        help='start from these parameters; options override')
    parser.add_argument('--workers', type=int, default=2,
                        help='drawing processes (the output does not '
                        'depend on it)')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into an existing, non-empty MURA-v1.1/')
    parser.add_argument('--json', action='store_true',
                        help='print the summary (counts per split, body '
                        'part and label; seconds) as one JSON line')
    for f in fields(SyntheticMuraConfig):
        value = getattr(defaults, f.name)
        flag = '--' + f.name.replace('_', '-')
        # '%' would be read as a format by argparse.
        help_text = docs.get(f.name, '').replace('%', '%%')
        if isinstance(value, dict):
            parser.add_argument(
                flag, type=json.loads, default=None, metavar='JSON',
                help=f'{help_text} (JSON object, default '
                f'{json.dumps(value)})')
        elif isinstance(value, tuple):
            nargs = 2 if f.name.endswith('_range') else '+'
            parser.add_argument(
                flag, type=type(value[0]), nargs=nargs, default=None,
                help=f'{help_text} (default {" ".join(map(str, value))})')
        elif f.name == 'valid_flag_label_correlation':
            parser.add_argument(
                flag, type=float, default=None,
                help=f'{help_text} (default: --flag-label-correlation)')
        else:
            parser.add_argument(flag, type=type(value), default=None,
                                help=f'{help_text} (default {value})')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    # It reads nothing; the guard still refuses an --out that is a file.
    check_output_or_exit(args.out, [], is_dir=True, label='--out')
    params = dict(PRESETS[args.preset])
    for f in fields(SyntheticMuraConfig):
        value = getattr(args, f.name)
        if value is not None:
            params[f.name] = tuple(value) if isinstance(value, list) \
                else value
    cfg = SyntheticMuraConfig(**params)
    summary = generate_synthetic_mura(
        args.out, cfg, workers=args.workers, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(summary))
        return
    n_images = summary['train']['images'] + summary['valid']['images']
    n_studies = summary['train']['studies'] + summary['valid']['studies']
    print(f'wrote {n_images} images in {n_studies} studies to {args.out} '
          f'in {summary["seconds"]} s')


if __name__ == '__main__':
    main()
