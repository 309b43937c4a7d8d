import csv
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

import radplugins.datasets.fracatlas as fracatlas_module
import radplugins.datasets.unreadable_files as unreadable_module
from radplugins.datasets import FracAtlasDataset, fracatlas_split
from radplugins.datasets.fracatlas import FRACATLAS_ERRATA

from tests.helpers import fracatlas_row, write_fracatlas_fixture


def build(root, **kwargs):
    kwargs.setdefault('split', 'all')
    return DATASETS.build(
        dict(type='FracAtlasDataset', data_root=root, **kwargs))


@pytest.fixture
def root(tmp_path):
    path = str(tmp_path / 'FracAtlas')
    write_fracatlas_fixture(path)
    return path


def rewrite_csv(root, edit):
    """Apply ``edit(rows)`` to dataset.csv's rows (header first)."""
    path = osp.join(root, 'dataset.csv')
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    edit(rows)
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows(rows)


def test_reads_every_image_with_label_part_view_and_boxes(root):
    ds = build(root)
    assert len(ds) == 10
    infos = {d['img_id']: d for d in (ds.get_data_info(i)
                                      for i in range(len(ds)))}
    first = infos['IMG0000001.jpg']
    assert first['img_path'] == osp.join(root, 'images', 'Fractured',
                                         'IMG0000001.jpg')
    assert first['gt_label'] == 1
    assert first['study_id'] == 'IMG0000001.jpg'
    assert first['body_part'] == 'hand'
    assert first['ann_shape'] == (64, 48)
    # COCO [x, y, w, h] = [4, 6, 10, 8] -> x1, y1, x2, y2.
    np.testing.assert_allclose(first['gt_abnormal_boxes'], [[4, 6, 14, 14]])
    assert first['gt_abnormal_kinds'] == ['fracture']
    assert first['gt_flag_boxes'].shape == (0, 4)
    leg = infos['IMG0000003.jpg']
    np.testing.assert_allclose(leg['gt_abnormal_boxes'],
                               [[1, 2, 4, 6], [20, 30, 25, 36]])
    assert leg['hardware'] == 1 and leg['view'] == 'frontal+lateral'
    negative = infos['IMG0000002.jpg']
    assert negative['gt_label'] == 0
    assert negative['img_path'].endswith(
        osp.join('images', 'Non_fractured', 'IMG0000002.jpg'))
    assert negative['gt_abnormal_boxes'].shape == (0, 4)
    assert 'ann_shape' not in negative
    assert infos['IMG0000007.jpg']['body_part'] == 'mixed'
    assert infos['IMG0000007.jpg']['view'] == 'oblique'
    assert infos['IMG0000008.jpg']['body_part'] == 'mixed'
    assert ds.metainfo['classes'] == ('not fractured', 'fractured')
    assert sorted(ds.get_gt_labels().tolist()) == [0] * 6 + [1] * 4


def test_body_part_filter(root):
    ds = build(root, body_parts=['hand', 'mixed'])
    assert {ds.get_data_info(i)['body_part']
            for i in range(len(ds))} == {'hand', 'mixed'}
    assert len(ds) == 5
    with pytest.raises(ValueError, match="unknown FracAtlas body part 'knee'"):
        build(root, body_parts=['knee'])
    with pytest.raises(ValueError, match="unknown FracAtlas split 'val'"):
        build(root, split='val')


def _records(n_pos, n_neg, part='hand'):
    return ([(f'P{i:04d}.jpg', 1, part) for i in range(n_pos)] +
            [(f'N{i:04d}.jpg', 0, part) for i in range(n_neg)])


def test_split_is_stratified_deterministic_and_order_free():
    records = (_records(20, 60, 'hand') + _records(7, 13, 'leg') +
               [('X.jpg', 1, 'hip')])
    # Make ids unique across parts.
    records = [(f'{part}_{name}', label, part)
               for name, label, part in records]
    split = fracatlas_split(records, seed=0)
    assert set(split) == {r[0] for r in records}
    assert split == fracatlas_split(list(reversed(records)), seed=0)
    assert split != fracatlas_split(records, seed=1)
    for label, part, n in ((1, 'hand', 20), (0, 'hand', 60), (1, 'leg', 7),
                           (0, 'leg', 13)):
        ids = [r[0] for r in records if r[1] == label and r[2] == part]
        counts = [sum(split[i] == s for i in ids)
                  for s in ('train', 'valid', 'test')]
        # round(n * 0.7), round(n * 0.85) - round(n * 0.7), the rest.
        expected_train = round(n * 0.7)
        expected_valid = round(n * 0.85) - expected_train
        assert counts == [expected_train, expected_valid,
                          n - expected_train - expected_valid], (label, part)
    assert split['hip_X.jpg'] == 'train'  # round(0.7) = 1
    with pytest.raises(ValueError, match='summing to 1'):
        fracatlas_split(records, ratios=(0.5, 0.2, 0.2))


def test_dataset_splits_partition_the_set(root):
    ids = {}
    for split in ('train', 'valid', 'test'):
        try:
            ds = build(root, split=split)
        except ValueError as err:  # a tiny fixture can leave a split empty
            assert 'no FracAtlas image left' in str(err)
            ids[split] = set()
            continue
        ids[split] = {ds.get_data_info(i)['img_id'] for i in range(len(ds))}
    assert set().union(*ids.values()) == {
        f'IMG{i:07d}.jpg' for i in range(1, 11)}
    assert sum(len(v) for v in ids.values()) == 10


def test_split_file_replaces_the_built_in_split(root):
    path = osp.join(root, 'my_split.csv')
    with open(path, 'w') as f:
        f.write('image_id,split\n')
        for i in range(1, 11):
            f.write(f'IMG{i:07d}.jpg,{"test" if i <= 2 else "train"}\n')
    ds = build(root, split='test', split_file='my_split.csv')
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == \
        ['IMG0000001.jpg', 'IMG0000002.jpg']
    with open(path, 'a') as f:
        f.write('IMG0000001.jpg,valid\n')
    with pytest.raises(ValueError,
                       match=r"my_split.csv:12: image 'IMG0000001.jpg' is "
                       'listed twice'):
        build(root, split_file=path)
    with open(path, 'w') as f:
        f.write('image_id,split\nIMG0000001.jpg,holdout\n')
    with pytest.raises(ValueError, match=r":2: unknown split 'holdout'"):
        build(root, split_file=path)
    with open(path, 'w') as f:
        f.write('image_id,split\nIMG0000001.jpg,test\n')
    with pytest.raises(ValueError, match=r'9 image\(s\) of dataset.csv have '
                       'no split'):
        build(root, split_file=path)


def test_label_disagreeing_with_folder_names_row_file_and_value(root):
    os.rename(osp.join(root, 'images', 'Non_fractured', 'IMG0000002.jpg'),
              osp.join(root, 'images', 'Fractured', 'IMG0000002.jpg'))
    with pytest.raises(ValueError,
                       match=r"dataset.csv:3: fractured=0 for IMG0000002.jpg,"
                       r" but the file is in images/Fractured/"):
        build(root)


def test_fracture_count_must_match_label_and_boxes(root):
    def no_count(rows):
        rows[1][9] = '0'  # IMG0000001: fractured=1, one box
    rewrite_csv(root, no_count)
    with pytest.raises(ValueError, match=r'dataset.csv:2: fractured=1 but '
                       r'fracture_count=0 for IMG0000001.jpg'):
        build(root)

    def two_boxes(rows):
        rows[1][9] = '2'
    rewrite_csv(root, two_boxes)
    with pytest.raises(ValueError, match=r'dataset.csv:2: fracture_count=2 '
                       r'for IMG0000001.jpg, but .*COCO_fracture_masks.json '
                       r'has 1 box\(es\)'):
        build(root)
    # Labels alone do not need the boxes to agree.
    assert len(build(root, with_boxes=False)) == 10


def test_annotation_of_an_unlisted_image_is_an_error(root):
    path = osp.join(root, 'Annotations', 'COCO JSON',
                    'COCO_fracture_masks.json')
    with open(path) as f:
        coco = json.load(f)
    coco['images'].append(
        dict(id=99, width=48, height=64, file_name='IMG0009999.jpg'))
    with open(path, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match=r"image id 99 \('IMG0009999.jpg'\) "
                       'is not listed in dataset.csv'):
        build(root)
    coco['images'].pop()
    coco['annotations'][0]['bbox'] = [40, 60, 10, 8]  # past the 48x64 edge
    with open(path, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match=r'annotation 0 of IMG0000001.jpg has'
                       r' box \[40, 60, 10, 8\], empty or outside the 48x64'):
        build(root)


def test_malformed_rows_name_file_row_and_value(root):
    def bad_flag(rows):
        rows[4][6] = 'yes'
    rewrite_csv(root, bad_flag)
    with pytest.raises(ValueError, match=r"dataset.csv:5: column 'hardware' "
                       r"must be 0 or 1, got 'yes'"):
        build(root)
    write_fracatlas_fixture(root)

    def duplicate(rows):
        rows.append(list(rows[3]))
    rewrite_csv(root, duplicate)
    with pytest.raises(ValueError, match=r"dataset.csv:12: image "
                       r"'IMG0000003.jpg' is listed twice \(first at row 4\)"):
        build(root)
    write_fracatlas_fixture(root)

    def two_parts(rows):
        rows[2][2] = '1'  # IMG0000002: hand and leg, not mixed
    rewrite_csv(root, two_parts)
    with pytest.raises(ValueError, match=r"dataset.csv:3: expected exactly "
                       r"one of hand, leg, hip, shoulder .*\['hand', 'leg'\]"):
        build(root)


def test_missing_image_raises_or_is_skipped_with_a_count(root):
    os.remove(osp.join(root, 'images', 'Non_fractured', 'IMG0000004.jpg'))
    with pytest.raises(FileNotFoundError, match=r'dataset.csv:5: image not '
                       r'found: .*Non_fractured/IMG0000004.jpg'):
        build(root)
    ds = build(root, skip_missing=True)
    assert len(ds) == 9 and ds.num_skipped == 1


def test_truncated_image_is_named_or_skipped_with_a_log(root, monkeypatch):
    path = osp.join(root, 'images', 'Non_fractured', 'IMG0000005.jpg')
    with open(path, 'rb') as f:
        content = f.read()
    with open(path, 'wb') as f:
        f.write(content[:len(content) // 2])
    with pytest.raises(OSError, match=r'(?s)1 unreadable image\(s\).*'
                       r'dataset.csv:6: .*IMG0000005.jpg: truncated JPEG'):
        build(root)
    messages = []
    monkeypatch.setattr(unreadable_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    ds = build(root, skip_corrupt=True)
    assert len(ds) == 9
    assert ds.skipped_corrupt == [path]
    assert len(messages) == 1 and 'skipped 1 unreadable' in messages[0]
    assert path in messages[0]
    # The split is drawn before the check: no other image moves.
    for split in ('train', 'valid', 'test'):
        try:
            kept = {d['img_id'] for d in build(
                root, split=split, skip_corrupt=True).load_data_list()}
        except ValueError:
            continue
        write_fracatlas_fixture(root)
        try:
            whole = {d['img_id'] for d in build(root, split=split)
                     .load_data_list()}
        finally:
            with open(path, 'wb') as f:
                f.write(content[:len(content) // 2])
        assert kept == whole - {'IMG0000005.jpg'}


def test_release_erratum_is_read_as_documented_and_only_then(tmp_path):
    name = next(iter(FRACATLAS_ERRATA))
    erratum = FRACATLAS_ERRATA[name]
    row = fracatlas_row(name, ('hand', 'leg', 'mixed'), [[1, 1, 4, 4]])
    row['fields'][8] = str(erratum['csv_fractured'])  # fractured column
    root = str(tmp_path / 'FracAtlas')
    write_fracatlas_fixture(
        root, [row, fracatlas_row('IMG0000001.jpg', ('hand', ), [])])
    ds = build(root)
    info = [ds.get_data_info(i) for i in range(len(ds))
            if ds.get_data_info(i)['img_id'] == name][0]
    assert info['gt_label'] == erratum['label'] == 1
    assert len(info['gt_abnormal_boxes']) == 1

    # The same disagreement on any other image is an error.
    other = fracatlas_row('IMG0000002.jpg', ('hand', ), [[1, 1, 4, 4]])
    other['fields'][8] = '0'
    write_fracatlas_fixture(root, [other])
    with pytest.raises(ValueError, match='fractured=0 for IMG0000002.jpg, '
                       'but the file is in images/Fractured/'):
        build(root)


def test_unlisted_files_are_reported(root, monkeypatch):
    messages = []
    monkeypatch.setattr(fracatlas_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    cv2.imwrite(osp.join(root, 'images', 'Fractured', 'IMG0000077.jpg'),
                np.zeros((8, 8), np.uint8))
    assert len(build(root)) == 10
    assert len(messages) == 1
    assert '1 file(s) in the image folders are not listed' in messages[0]
    assert 'IMG0000077.jpg' in messages[0]


def test_missing_table_or_annotations(tmp_path, root):
    with pytest.raises(FileNotFoundError, match='FracAtlas table not found'):
        build(str(tmp_path / 'nowhere'))
    os.remove(osp.join(root, 'Annotations', 'COCO JSON',
                       'COCO_fracture_masks.json'))
    with pytest.raises(FileNotFoundError, match='with_boxes=False'):
        build(root)
    ds = build(root, with_boxes=False)
    assert 'gt_abnormal_boxes' not in ds.get_data_info(0)
    assert isinstance(ds, FracAtlasDataset)


def test_detected_flags_from_a_remove_flags_report(root, tmp_path):
    """A remove_flags report's flag regions become gt_flag_boxes (its
    implants do not); an image it does not list is an error."""
    ds = build(root)
    images = {
        osp.relpath(ds.get_data_info(i)['img_path'], root): dict(flags=[])
        for i in range(len(ds))
    }
    key = osp.join('images', 'Fractured', 'IMG0000001.jpg')
    images[key]['flags'] = [
        dict(label='flag', score=0.9, bbox=[1, 2, 11, 12]),
        dict(label='implant', score=0.8, bbox=[0, 0, 5, 5]),
        dict(label='flag', score=0.7, bbox=[20, 30, 40, 50]),
    ]
    report = tmp_path / 'removed_flags.json'
    report.write_text(json.dumps(dict(images=images)))
    ds = build(root, flag_regions_file=str(report))
    infos = {d['img_id']: d for d in (ds.get_data_info(i)
                                      for i in range(len(ds)))}
    np.testing.assert_allclose(infos['IMG0000001.jpg']['gt_flag_boxes'],
                               [[1, 2, 11, 12], [20, 30, 40, 50]])
    assert infos['IMG0000002.jpg']['gt_flag_boxes'].shape == (0, 4)
    # LoadRadiograph takes them into a shrunk image with the fractures.
    from mmpretrain.registry import TRANSFORMS
    load = TRANSFORMS.build(dict(type='LoadRadiograph', max_long_side=32))
    loaded = load(dict(infos['IMG0000001.jpg']))
    np.testing.assert_allclose(loaded['gt_flag_boxes'],
                               [[0.5, 1, 5.5, 6], [10, 15, 20, 25]])
    # The same detections, as regions, for FillFlagRegions to fill.
    assert infos['IMG0000001.jpg']['flag_regions'] == [
        images[key]['flags'][0], images[key]['flags'][2]]
    assert infos['IMG0000002.jpg']['flag_regions'] == []
    fill = TRANSFORMS.build(dict(type='FillFlagRegions', margin=1))
    filled = fill(dict(loaded))['img']
    changed = (filled != loaded['img']).any(-1)
    # Only the two shrunk boxes (plus the margin, whole pixels) change, and
    # each is filled with one value per channel.
    allowed = np.zeros(changed.shape, bool)
    allowed[0:8, 0:8] = allowed[14:27, 9:22] = True
    assert changed.any() and not (changed & ~allowed).any()
    for rows, cols in ((slice(1, 6), slice(1, 5)),
                       (slice(15, 25), slice(10, 20))):
        inside = filled[rows, cols].reshape(-1, filled.shape[-1])
        assert (inside == inside[0]).all()
    plain = load(dict(infos['IMG0000002.jpg']))
    np.testing.assert_array_equal(fill(dict(plain))['img'], plain['img'])

    del images[osp.join('images', 'Non_fractured', 'IMG0000002.jpg')]
    report.write_text(json.dumps(dict(images=images)))
    with pytest.raises(KeyError, match='IMG0000002.jpg'):
        build(root, flag_regions_file=str(report))
    # An image the dataset skips as unreadable needs no entry, as
    # remove_flags skips it too.
    bad = osp.join(root, 'images', 'Non_fractured', 'IMG0000002.jpg')
    with open(bad, 'rb') as f:
        head = f.read(200)
    with open(bad, 'wb') as f:
        f.write(head)
    ds = build(root, flag_regions_file=str(report), skip_corrupt=True)
    assert len(ds) == 9
