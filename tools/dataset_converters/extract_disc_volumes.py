"""Cut SpineDiscDataset volumes out of full sagittal stacks.

Input: a CSV with one row per disc::

    patient,level,split,stack,cx,cy,angle,width,mid_slice[,pfirrmann,...]

``stack`` is a ``.npy`` ``(S, H, W)`` sagittal stack (slices first) or a
NIfTI file (``.nii``/``.nii.gz``, read with nibabel if installed, sagittal
axis first); ``cx, cy`` the disc centre in pixels of a slice, ``angle`` the
disc's tilt in degrees (counter-clockwise from horizontal, image axes),
``width`` the disc's width in pixels, ``mid_slice`` its mid-sagittal slice.
Label columns are copied as they are (blank = missing).

Each disc is rotated so that it is horizontal and centred, cropped 1:2 to
a region ``crop_scale * width`` wide (so that about 40 % of each vertebra
shows above and below), resized to 112 x 224, and the 9 slices around the
mid-sagittal one are kept (slices outside the stack are zero, as the
dataset pads narrow discs). Writes ``OUT/volumes/*.npy`` and
``OUT/discs.csv``. ``OUT`` may not contain the annotation CSV or a stack
(``radplugins.utils.check_output``): ``ann/discs.csv --out ann`` would
overwrite its own input, so it is refused before anything is written.

Example::

    python tools/dataset_converters/extract_disc_volumes.py \\
        annotations.csv --out data/spine
"""
import argparse
import csv
import os
import os.path as osp

import cv2
import numpy as np

from radplugins.datasets.spine import read_array
from radplugins.datasets.spine_tasks import (DISC_HEIGHT, DISC_WIDTH,
                                             SPINE_TASKS)
from radplugins.utils import check_output_or_exit

REQUIRED = ('patient', 'level', 'split', 'stack', 'cx', 'cy', 'angle',
            'width', 'mid_slice')


def load_stack(path: str) -> np.ndarray:
    """``(S, H, W)`` float32 stack from ``.npy`` or NIfTI.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be read (truncated, pickled objects, not
            numbers; pickles are never loaded) or is not ``(S, H, W)``;
            the message names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: stack not found')
    if path.endswith('.npy'):
        stack = read_array(path, 'stack')
    elif path.endswith(('.nii', '.nii.gz')):
        try:
            import nibabel
        except ImportError as e:
            raise ImportError(f'{path}: reading NIfTI needs nibabel') from e
        try:
            stack = np.asarray(nibabel.load(path).dataobj)
        except Exception as exc:  # nibabel, gzip and numpy errors alike
            raise ValueError(f'{path}: cannot read the stack '
                             f'({type(exc).__name__}: {exc})') from exc
    else:
        raise ValueError(f'{path}: unknown stack format; expected .npy, '
                         '.nii or .nii.gz')
    if stack.ndim != 3:
        raise ValueError(f'{path}: stack of shape {stack.shape}; expected '
                         '(S, H, W)')
    return stack.astype(np.float32)


def extract_disc(stack: np.ndarray, cx: float, cy: float, angle: float,
                 width: float, mid_slice: int, crop_scale: float = 1.2,
                 num_slices: int = 9) -> np.ndarray:
    """One ``(num_slices, 112, 224)`` disc volume from a stack.

    The output pixel ``(u, v)`` samples the slice at ``R(angle) ((u, v) -
    centre_out) * s + (cx, cy)`` with ``s = crop_scale * width / 224``.
    """
    scale = crop_scale * width / DISC_WIDTH
    theta = np.deg2rad(angle)
    cos, sin = np.cos(theta) * scale, np.sin(theta) * scale
    # Output -> input affine; OpenCV's WARP_INVERSE_MAP takes it directly.
    ox, oy = (DISC_WIDTH - 1) / 2, (DISC_HEIGHT - 1) / 2
    m = np.array([[cos, sin, cx - cos * ox - sin * oy],
                  [-sin, cos, cy + sin * ox - cos * oy]], np.float64)
    out = np.zeros((num_slices, DISC_HEIGHT, DISC_WIDTH), np.float32)
    first = mid_slice - num_slices // 2
    for k in range(num_slices):
        s = first + k
        if 0 <= s < stack.shape[0]:
            out[k] = cv2.warpAffine(
                stack[s], m, (DISC_WIDTH, DISC_HEIGHT),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('annotations')
    parser.add_argument(
        '--out',
        required=True,
        help='folder for volumes/ and discs.csv; may not contain the '
        'annotation CSV or a stack')
    parser.add_argument('--crop-scale', type=float, default=1.2)
    args = parser.parse_args(argv)
    base = osp.dirname(osp.abspath(args.annotations))
    with open(args.annotations, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f'{args.annotations}: missing columns {missing}')
        rows = list(reader)
    paths = [
        row['stack'] if osp.isabs(row['stack']) else osp.join(
            base, row['stack']) for row in rows
    ]
    check_output_or_exit(args.out, [args.annotations] + sorted(set(paths)),
                         is_dir=True, label='--out')
    # Two rows for one disc would overwrite its volume and list it twice in
    # discs.csv: refused before anything is written.
    disc_rows = {}  # output volume -> the row that writes it
    for i, row in enumerate(rows, start=2):
        where = f'{args.annotations}:{i}'
        name = f"{row['patient']}_{row['level']}.npy"
        other = disc_rows.setdefault(name, where)
        if other != where:
            raise ValueError(
                f"{where}: patient/level {row['patient']!r}/"
                f"{row['level']!r} repeats {other} (both write "
                f'volumes/{name}); one row per disc')
    os.makedirs(osp.join(args.out, 'volumes'), exist_ok=True)
    rows_out = []
    stacks = {}
    for i, (row, path) in enumerate(zip(rows, paths), start=2):
        where = f'{args.annotations}:{i}'
        if path not in stacks:
            try:
                stacks = {path: load_stack(path)}  # one stack in memory
            except (OSError, ValueError) as exc:
                raise type(exc)(f'{exc} ({where})') from exc
        try:
            geometry = [float(row[k]) for k in ('cx', 'cy', 'angle',
                                                'width')]
            mid = int(row['mid_slice'])
        except ValueError as e:
            raise ValueError(f'{where}: bad geometry ({e})') from e
        if geometry[3] <= 0 or not 0 <= mid < stacks[path].shape[0]:
            raise ValueError(f'{where}: width {geometry[3]} or '
                             f'mid_slice {mid} out of range')
        volume = extract_disc(stacks[path], *geometry, mid,
                              args.crop_scale)
        name = f"{row['patient']}_{row['level']}.npy"
        np.save(osp.join(args.out, 'volumes', name), volume)
        out = {k: row[k] for k in ('patient', 'level', 'split')}
        out['volume'] = f'volumes/{name}'
        out.update({t: row.get(t, '') for t in SPINE_TASKS})
        rows_out.append(out)
    with open(osp.join(args.out, 'discs.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(
            f, fieldnames=['patient', 'level', 'split', 'volume'] +
            list(SPINE_TASKS))
        writer.writeheader()
        writer.writerows(rows_out)
    print(f'wrote {len(rows_out)} discs to {args.out}')


if __name__ == '__main__':
    main()
