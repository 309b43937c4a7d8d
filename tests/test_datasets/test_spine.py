"""SpineDiscDataset: CSV parsing, splits, padding and bad input."""
import csv
import os.path as osp
import re

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from tests.helpers import write_synthetic_spine


@pytest.fixture(scope='module')
def spine_root(tmp_path_factory):
    return write_synthetic_spine(str(tmp_path_factory.mktemp('spine')))


def build(root, split='train', **kwargs):
    return DATASETS.build(
        dict(type='SpineDiscDataset', data_root=root, split=split, **kwargs))


def read_rows(root):
    with open(osp.join(root, 'discs.csv'), newline='') as f:
        return list(csv.DictReader(f))


def write_rows(root, rows):
    with open(osp.join(root, 'discs.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def copy_set(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return str(dst)


def test_loads_labels_missing_and_padding(spine_root):
    rows = read_rows(spine_root)
    dataset = build(spine_root)
    train_rows = [r for r in rows if r['split'] == 'train']
    assert len(dataset) == len(train_rows)
    labels = dataset.task_label_array()
    first = train_rows[0]
    expected = [
        int(first[t]) - (1 if t == 'pfirrmann' else 0) if first[t] else -1
        for t in ('pfirrmann', 'narrowing', 'upper_endplate',
                  'lower_endplate', 'upper_marrow', 'lower_marrow')
    ]
    assert labels[0].tolist() == expected
    blanks = sum(r[t] == '' for r in train_rows
                 for t in ('pfirrmann', 'narrowing', 'upper_endplate',
                           'lower_endplate', 'upper_marrow', 'lower_marrow'))
    assert blanks > 0 and (labels == -1).sum() == blanks
    short = sum(
        np.load(osp.join(spine_root, r['volume']), mmap_mode='r').shape[0] < 9
        for r in train_rows)
    assert dataset.num_padded == short > 0
    # Patients never cross splits.
    val = build(spine_root, 'val')
    assert not {dataset.get_data_info(i)['patient']
                for i in range(len(dataset))} & {
                    val.get_data_info(i)['patient'] for i in range(len(val))}


def test_pipeline_pads_to_nine_slices(spine_root):
    dataset = build(
        spine_root,
        pipeline=[dict(type='LoadDiscVolume', with_masks=True)])
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if info['num_slices'] < 9:
            break
    out = dataset[i]
    raw = np.load(info['img_path'])
    assert out['img'].shape == (112, 224, 9)
    before = out['pad_slices']
    assert before == (9 - raw.shape[0]) // 2
    np.testing.assert_array_equal(
        out['img'][..., before:before + raw.shape[0]],
        raw.transpose(1, 2, 0))
    assert not out['img'][..., :before].any()
    assert out['gt_masks'].shape == (4, 9, 112, 224)


def test_grade_out_of_range_names_row(spine_root, tmp_path):
    root = copy_set(spine_root, tmp_path / 'bad')
    rows = read_rows(root)
    rows[3]['pfirrmann'] = '6'
    write_rows(root, rows)
    with pytest.raises(ValueError, match=r"discs.csv:5: pfirrmann grade "
                       r"'6' out of range 1..5"):
        build(root, split=rows[3]['split'])


def test_missing_file_and_wrong_shape(spine_root, tmp_path):
    root = copy_set(spine_root, tmp_path / 'bad')
    rows = read_rows(root)
    rows[0]['volume'] = 'volumes/nowhere.npy'
    write_rows(root, rows)
    with pytest.raises(FileNotFoundError, match='nowhere.npy'):
        build(root)
    rows = read_rows(spine_root)
    np.save(osp.join(root, rows[0]['volume']), np.zeros((9, 100, 224)))
    write_rows(root, rows)
    with pytest.raises(ValueError,
                       match=r'patient00000_T12-L1.npy: disc volume of '
                       r'shape \(9, 100, 224\)'):
        build(root)


def test_patient_in_two_splits(spine_root, tmp_path):
    root = copy_set(spine_root, tmp_path / 'bad')
    rows = read_rows(root)
    rows[1]['split'] = 'test'
    write_rows(root, rows)
    with pytest.raises(ValueError, match="patient 'patient00000' in split "
                       "'test' but in 'train' on line 2"):
        build(root)


def test_repeated_disc_or_volume_names_both_rows(spine_root, tmp_path):
    root = copy_set(spine_root, tmp_path / 'bad')
    rows = read_rows(root)
    assert rows[0]['patient'] == rows[1]['patient'] and \
        rows[0]['split'] == 'train'
    # The same patient and level from another stack's volume (line 3).
    rows[1]['level'] = rows[0]['level']
    write_rows(root, rows)
    with pytest.raises(ValueError, match=r"discs\.csv:3: patient/level "
                       r"'patient00000'/'T12-L1' repeats \S*discs\.csv:2;"):
        build(root)
    # Another split is no escape: the row is a duplicate wherever it is.
    with pytest.raises(ValueError, match=r'discs\.csv:3: patient/level'):
        build(root, split='test')
    # One volume file listed for two discs (line 4 repeats line 2).
    rows = read_rows(spine_root)
    rows[2]['volume'] = rows[0]['volume']
    write_rows(root, rows)
    with pytest.raises(ValueError, match=r"discs\.csv:4: volume "
                       r"'volumes/patient00000_T12-L1\.npy' repeats "
                       r'\S*discs\.csv:2;'):
        build(root)


@pytest.mark.parametrize('damage, message', [
    ('truncated', r'cannot read the disc volume \(ValueError: mmap length'),
    ('pickled', r'cannot read the disc volume \(ValueError: Array can.t be '
     r'memory-mapped: Python objects'),
    ('not_npy', r'cannot read the disc volume: not a \.npy array or \.npz '
     r'archive \(pickles are never loaded\)'),
    ('text', r'disc volume of dtype <U1; expected numbers'),
])
def test_unreadable_volume_names_file_and_row(spine_root, tmp_path, damage,
                                              message):
    root = copy_set(spine_root, tmp_path / 'bad')
    volume = osp.join(root, read_rows(root)[0]['volume'])
    data = open(volume, 'rb').read()
    if damage == 'truncated':
        open(volume, 'wb').write(data[:len(data) // 2])
    elif damage == 'pickled':
        np.save(volume, np.array([{'slice': 0}, None], dtype=object),
                allow_pickle=True)
    elif damage == 'not_npy':
        open(volume, 'wb').write(b'not an array at all')
    else:
        np.save(volume, np.array(['a', 'b']))
    with pytest.raises(ValueError) as info:
        build(root)
    assert str(info.value).startswith(f'{volume}: ')
    assert str(info.value).endswith(f'discs.csv:2)')
    assert re.search(message, str(info.value)), str(info.value)
    assert 'allow_pickle=`' not in str(info.value)  # no advice to unpickle


def test_non_finite_volume_is_an_error_when_loaded(spine_root, tmp_path):
    root = copy_set(spine_root, tmp_path / 'bad')
    dataset = build(root, pipeline=[dict(type='LoadDiscVolume')])
    info = dataset.get_data_info(1)
    line = [osp.join(root, r['volume']) for r in read_rows(root)].index(
        info['img_path']) + 2  # line 1 is the header
    csv_row = osp.join(root, 'discs.csv') + f':{line}'
    volume = np.load(info['img_path'])
    volume[1, 2, 3] = np.nan
    volume[2, 0, 0] = -np.inf
    np.save(info['img_path'], volume)
    # The header check passes (shape and dtype are fine); loading the
    # sample, as training, testing and inference do, is the error.
    with pytest.raises(ValueError, match=re.escape(
            f"{info['img_path']}: disc volume has 2 non-finite values (NaN "
            f'or inf), the first at index (1, 2, 3) ({csv_row})')):
        dataset[1]
    assert dataset[0]['img'].shape == (112, 224, 9)  # the others still load


@pytest.mark.parametrize('text', ['nan 0 5 5', '0 0 inf inf', '0 0 nan 5',
                                  '-inf 0 5 5'])
def test_non_finite_body_box_names_row_and_value(spine_root, tmp_path, text):
    root = copy_set(spine_root, tmp_path / 'bad')
    rows = read_rows(root)
    rows[1]['lower_body'] = text
    write_rows(root, rows)
    with pytest.raises(ValueError, match=re.escape(
            f"discs.csv:3: bad vertebral-body box {text!r}; expected "
            "'x1 y1 x2 y2' (finite numbers)")):
        build(root)


def test_row_with_too_few_or_too_many_cells_names_row(spine_root, tmp_path):
    root = copy_set(spine_root, tmp_path / 'bad')
    csv_path = osp.join(root, 'discs.csv')
    with open(csv_path) as f:
        lines = f.read().splitlines()
    columns = len(lines[0].split(','))
    good = lines[2]
    lines[2] = 'patient00000,L1-L2,train'
    with open(csv_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=re.escape(
            f'discs.csv:3: 3 cells but the header has {columns} columns')):
        build(root)
    lines[2] = good + ',extra'
    with open(csv_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=re.escape(
            f'discs.csv:3: {columns + 1} cells but the header has '
            f'{columns} columns')):
        build(root)
    # Trailing blank cells (a spreadsheet's export) shift nothing.
    lines[2] = good + ',,'
    with open(csv_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    assert len(build(root)) == len(build(spine_root))


def test_csv_with_a_byte_order_mark(spine_root, tmp_path):
    root = copy_set(spine_root, tmp_path / 'bom')
    path = osp.join(root, 'discs.csv')
    text = open(path, encoding='utf-8').read()
    open(path, 'w', encoding='utf-8-sig').write(text)
    dataset = build(root)
    assert len(dataset) == len(
        [r for r in read_rows(spine_root) if r['split'] == 'train'])
