"""extract_disc_volumes.py: rotate, crop 1:2, pick 9 slices, write."""
import csv
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
from extract_disc_volumes import extract_disc  # noqa: E402


def band_stack():
    stack = np.zeros((12, 300, 400), np.float32)
    stack[:, 140:160, 100:300] = 1  # a 20 px disc, 200 px wide
    stack[np.arange(12), 0, 0] = np.arange(12)  # slice tags
    return stack


def test_horizontal_disc_is_centred_and_scaled():
    volume = extract_disc(band_stack(), 199.5, 149.5, 0, 200, 6, 1.2)
    assert volume.shape == (9, 112, 224)
    rows = np.nonzero(volume[4].sum(1) > 0.5 * 224 / 1.2 * 0.5)[0]
    cols = np.nonzero(volume[4].sum(0) > 0.5)[0]
    # 240 px of the slice -> 224 px: the 20 x 200 band becomes ~19 x 187.
    assert abs((rows[0] + rows[-1]) / 2 - 55.5) <= 1
    assert abs(len(cols) - 200 * 224 / 240) <= 2


def test_tilted_disc_is_rotated_back_and_slices_padded():
    stack = band_stack()
    m = cv2.getRotationMatrix2D((199.5, 149.5), 30, 1.0)
    tilted = np.stack([cv2.warpAffine(s, m, (400, 300)) for s in stack])
    flat = extract_disc(stack, 199.5, 149.5, 0, 200, 6)
    back = extract_disc(tilted, 199.5, 149.5, 30, 200, 6)
    assert np.abs(back[4] - flat[4])[20:92, 30:194].mean() < 0.01
    edge = extract_disc(stack, 199.5, 149.5, 0, 200, 1)
    assert not edge[:3].any() and edge[3:].any()  # slices -3..-1 are zero


def test_tool_writes_the_dataset_format(tmp_path):
    np.save(tmp_path / 'stack.npy', band_stack())
    with open(tmp_path / 'ann.csv', 'w') as f:
        f.write('patient,level,split,stack,cx,cy,angle,width,mid_slice,'
                'pfirrmann\np1,L4-L5,train,stack.npy,199.5,149.5,0,200,6,3\n')
    subprocess.run([
        sys.executable, 'tools/dataset_converters/extract_disc_volumes.py',
        str(tmp_path / 'ann.csv'), '--out',
        str(tmp_path / 'out')
    ], cwd=ROOT, check=True, capture_output=True)
    with open(tmp_path / 'out' / 'discs.csv') as f:
        rows = list(csv.DictReader(f))
    assert rows[0]['volume'] == 'volumes/p1_L4-L5.npy'
    assert rows[0]['pfirrmann'] == '3' and rows[0]['narrowing'] == ''
    assert np.load(tmp_path / 'out' / rows[0]['volume']).shape == (9, 112,
                                                                     224)


def run_tool(tmp_path, rows):
    with open(tmp_path / 'ann.csv', 'w') as f:
        f.write('patient,level,split,stack,cx,cy,angle,width,mid_slice,'
                'pfirrmann\n' + ''.join(r + '\n' for r in rows))
    return subprocess.run([
        sys.executable, 'tools/dataset_converters/extract_disc_volumes.py',
        str(tmp_path / 'ann.csv'), '--out',
        str(tmp_path / 'out')
    ], cwd=ROOT, capture_output=True, text=True)


def test_repeated_disc_names_both_rows_and_overwrites_nothing(tmp_path):
    stack = band_stack()
    np.save(tmp_path / 'a.npy', stack)
    np.save(tmp_path / 'b.npy', stack[::-1] * 2)  # another stack
    proc = run_tool(tmp_path, [
        'p1,L4-L5,train,a.npy,199.5,149.5,0,200,6,3',
        'p1,L3-L4,train,a.npy,199.5,149.5,0,200,6,2',
        'p1,L4-L5,train,b.npy,199.5,149.5,0,200,6,4',
    ])
    assert proc.returncode != 0
    ann = tmp_path / 'ann.csv'
    assert (f"ValueError: {ann}:4: patient/level 'p1'/'L4-L5' repeats "
            f'{ann}:2 (both write volumes/p1_L4-L5.npy); one row per '
            'disc') in proc.stderr
    # The repeat is found before anything is written: no volume is
    # overwritten and no discs.csv lists the disc twice.
    assert not (tmp_path / 'out').exists()


def test_unreadable_stack_names_file_and_row(tmp_path):
    np.save(tmp_path / 'good.npy', band_stack())
    data = (tmp_path / 'good.npy').read_bytes()
    (tmp_path / 'cut.npy').write_bytes(data[:len(data) // 2])
    np.save(tmp_path / 'obj.npy', np.array([band_stack(), None],
                                           dtype=object), allow_pickle=True)
    ann = tmp_path / 'ann.csv'
    for name, reason in [
        ('cut.npy', 'cannot read the stack (ValueError: Failed to read all '
         'data for array'),
        ('obj.npy', 'cannot read the stack (ValueError: Object arrays '
         'cannot be loaded when allow_pickle=False)'),
    ]:
        proc = run_tool(tmp_path, [
            'p1,L4-L5,train,good.npy,199.5,149.5,0,200,6,3',
            f'p2,L4-L5,train,{name},199.5,149.5,0,200,6,3',
        ])
        assert proc.returncode != 0
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith(f'ValueError: {tmp_path / name}: {reason}')
        assert last.endswith(f' ({ann}:3)'), last


def test_tool_refuses_an_out_that_holds_its_annotations(tmp_path):
    """``out/discs.csv --out out`` once overwrote its own annotations; a
    stack inside --out is refused too. Nothing is written."""
    (tmp_path / 'stacks').mkdir()
    np.save(tmp_path / 'stacks' / 'stack.npy', band_stack())
    ann = tmp_path / 'out' / 'discs.csv'
    ann.parent.mkdir()
    ann.write_text('patient,level,split,stack,cx,cy,angle,width,mid_slice\n'
                   f'p1,L4-L5,train,{tmp_path / "stacks" / "stack.npy"},'
                   '199.5,149.5,0,200,6\n')
    before = ann.read_text()
    proc = subprocess.run([
        sys.executable, 'tools/dataset_converters/extract_disc_volumes.py',
        str(ann), '--out',
        str(tmp_path / 'out')
    ], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert (f'error: refusing to write around the input: --out '
            f'{tmp_path / "out"} contains the input file {ann}'
            in proc.stderr), proc.stderr
    assert ann.read_text() == before
    assert not (tmp_path / 'out' / 'volumes').exists()
    # The stack's folder as --out, in this process.
    from extract_disc_volumes import main
    with pytest.raises(SystemExit,
                       match='contains the input file .*stack.npy'):
        main([str(ann), '--out', str(tmp_path / 'stacks')])
    assert not (tmp_path / 'stacks' / 'volumes').exists()


def test_annotation_csv_with_a_byte_order_mark(tmp_path):
    np.save(tmp_path / 'stack.npy', band_stack())
    with open(tmp_path / 'ann.csv', 'w', encoding='utf-8-sig') as f:
        f.write('patient,level,split,stack,cx,cy,angle,width,mid_slice,'
                'pfirrmann\np1,L4-L5,train,stack.npy,199.5,149.5,0,200,6,3\n')
    subprocess.run([
        sys.executable, 'tools/dataset_converters/extract_disc_volumes.py',
        str(tmp_path / 'ann.csv'), '--out',
        str(tmp_path / 'out')
    ], cwd=ROOT, check=True, capture_output=True)
    with open(tmp_path / 'out' / 'discs.csv') as f:
        rows = list(csv.DictReader(f))
    assert rows[0]['patient'] == 'p1'
