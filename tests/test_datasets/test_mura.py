import json
import os
import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

import radplugins.datasets.mura as mura_module
import radplugins.datasets.unreadable_files as unreadable_module
from radplugins.datasets import MuraDataset, normalize_body_part

from tests.helpers import write_mura_fixture


def build(root, **kwargs):
    return DATASETS.build(dict(type='MuraDataset', data_root=root, **kwargs))


def test_loads_every_image_with_study_fields(mura_root):
    ds = build(mura_root, split='train')
    assert len(ds) == 8
    first = ds.get_data_info(0)
    assert first['img_path'] == osp.join(
        mura_root, 'MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/'
        'image1.png')
    assert first['gt_label'] == 1
    assert first['body_part'] == 'XR_WRIST'
    assert first['patient_id'] == 'patient00001'
    assert first['study_id'] == 'train/XR_WRIST/patient00001/study1_positive'
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [d['view_idx'] for d in infos] == [0, 1, 0, 0, 1, 2, 0, 1]
    assert [d['gt_label'] for d in infos] == [1, 1, 0, 1, 1, 1, 0, 0]
    assert len({d['study_id'] for d in infos}) == 4
    assert ds.metainfo['classes'] == ('negative', 'positive')
    assert list(ds.get_gt_labels()) == [1, 1, 0, 1, 1, 1, 0, 0]


def test_data_root_may_be_the_mura_folder_itself(mura_root):
    outer = build(mura_root, split='valid')
    inner = build(osp.join(mura_root, 'MURA-v1.1'), split='valid')
    assert len(outer) == len(inner) == 3
    for i in range(3):
        assert osp.samefile(
            outer.get_data_info(i)['img_path'],
            inner.get_data_info(i)['img_path'])


def test_body_part_selection_accepts_short_names(mura_root):
    ds = build(mura_root, split='train', body_parts=['wrist', 'XR_HAND'])
    parts = {ds.get_data_info(i)['body_part'] for i in range(len(ds))}
    assert parts == {'XR_WRIST', 'XR_HAND'}
    assert len(ds) == 6
    with pytest.raises(ValueError, match="unknown body part 'XR_KNEE'"):
        build(mura_root, body_parts=['XR_KNEE'])
    assert normalize_body_part(' Shoulder ') == 'XR_SHOULDER'


def test_unknown_split_and_root(tmp_path, mura_root):
    with pytest.raises(ValueError, match="unknown MURA split 'test'"):
        build(mura_root, split='test')
    with pytest.raises(FileNotFoundError, match='contains neither'):
        build(str(tmp_path / 'nowhere'))


def test_missing_image_names_csv_row_and_path(mura_root):
    missing = osp.join(mura_root, 'MURA-v1.1/train/XR_HAND/patient00003/'
                       'study1_positive/image2.png')
    os.remove(missing)
    csv_path = osp.join(mura_root, 'MURA-v1.1', 'train_image_paths.csv')
    with pytest.raises(FileNotFoundError) as err:
        build(mura_root)
    assert f'{csv_path}:5:' in str(err.value)
    assert missing in str(err.value)


def test_skip_missing_logs_the_count(mura_root, monkeypatch):
    os.remove(osp.join(mura_root, 'MURA-v1.1/train/XR_HAND/patient00003/'
                       'study1_positive/image2.png'))
    messages = []
    monkeypatch.setattr(mura_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    ds = build(mura_root, skip_missing=True)
    assert len(ds) == 7
    assert ds.num_skipped == 1
    assert len(messages) == 1 and 'skipped 1 missing image' in messages[0]
    # The remaining views of the study keep consecutive view indices.
    views = [
        ds.get_data_info(i)['view_idx'] for i in range(len(ds))
        if 'XR_HAND' in ds.get_data_info(i)['study_id']
    ]
    assert views == [0, 1]


def test_image_of_unlisted_study(mura_root):
    study_csv = osp.join(mura_root, 'MURA-v1.1', 'train_labeled_studies.csv')
    lines = open(study_csv).read().splitlines()
    open(study_csv, 'w').write('\n'.join(lines[1:]) + '\n')
    with pytest.raises(ValueError) as err:
        build(mura_root)
    msg = str(err.value)
    assert 'train_image_paths.csv:1:' in msg
    assert 'patient00001/study1_positive' in msg
    assert 'absent from' in msg


def test_label_disagreeing_with_folder(mura_root):
    study_csv = osp.join(mura_root, 'MURA-v1.1', 'train_labeled_studies.csv')
    text = open(study_csv).read().replace('study1_positive/,1',
                                          'study1_positive/,0', 1)
    open(study_csv, 'w').write(text)
    with pytest.raises(ValueError) as err:
        build(mura_root)
    msg = str(err.value)
    assert f'{study_csv}:1:' in msg
    assert 'CSV label 0' in msg and 'study1_positive' in msg


def test_unknown_body_part_in_csv(tmp_path):
    write_mura_fixture(
        str(tmp_path),
        studies=[('train', 'XR_KNEE', 'patient00001', 1, 1, 1),
                 ('valid', 'XR_HAND', 'patient00002', 1, 0, 1)])
    with pytest.raises(ValueError, match="unknown body part 'XR_KNEE'"):
        build(str(tmp_path))


def test_bad_label_value_names_row(mura_root):
    study_csv = osp.join(mura_root, 'MURA-v1.1', 'train_labeled_studies.csv')
    lines = open(study_csv).read().splitlines()
    lines[2] = lines[2][:-1] + 'yes'
    open(study_csv, 'w').write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r":3: label must be 0 or 1, got "
                       r"'yes'"):
        build(mura_root)


def test_corrupt_image_fails_with_its_name_when_loaded(mura_root):
    ds = build(mura_root, pipeline=[dict(type='LoadRadiograph')])
    path = ds.get_data_info(2)['img_path']
    content = open(path, 'rb').read()
    open(path, 'wb').write(content[:len(content) // 2])
    ds[0]  # an intact image still loads
    with pytest.raises(OSError, match='truncated PNG') as err:
        ds.prepare_data(2)
    assert path in str(err.value)


def test_is_registered():
    assert DATASETS.get('MuraDataset') is MuraDataset


def test_ground_truth_boxes_from_the_generator(tmp_path):
    from radplugins.datasets.synthetic import (SyntheticMuraConfig,
                                               generate_synthetic_mura)
    generate_synthetic_mura(
        str(tmp_path),
        SyntheticMuraConfig(
            train_studies=6, valid_studies=2, long_side_range=(96, 128),
            positive_fraction=0.5, flag_rate=0.5, seed=1),
        workers=1)
    ds = build(str(tmp_path), ground_truth='auto')
    gt = json.load(
        open(tmp_path / 'MURA-v1.1' / 'synthetic_ground_truth.json'))
    n_boxes = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rel = osp.relpath(info['img_path'], str(tmp_path))
        record = gt['images'][rel]
        assert info['gt_abnormal_boxes'].shape == (
            len(record['abnormalities']), 4)
        assert info['gt_flag_boxes'].shape == (len(record['flags']), 4)
        for box, obj in zip(info['gt_abnormal_boxes'],
                            record['abnormalities']):
            np.testing.assert_allclose(box, obj['bbox'], rtol=1e-6)
        assert info['gt_abnormal_kinds'] == [
            obj['kind'] for obj in record['abnormalities']
        ]
        n_boxes += len(record['abnormalities']) + len(record['flags'])
        if info['gt_label'] == 0:
            assert len(info['gt_abnormal_boxes']) == 0
    assert n_boxes > 0
    # An image the file does not know is an error naming both.
    del gt['images'][rel]
    bad = tmp_path / 'partial.json'
    bad.write_text(json.dumps(gt))
    with pytest.raises(ValueError, match=f"no entry for image '{rel}'"):
        build(str(tmp_path), ground_truth=str(bad))
    with pytest.raises(FileNotFoundError, match='nope.json'):
        build(str(tmp_path), ground_truth=str(tmp_path / 'nope.json'))


def _truncate(path, keep=0.5):
    content = open(path, 'rb').read()
    open(path, 'wb').write(content[:int(len(content) * keep)])


def test_corrupt_images_are_all_listed_with_their_rows(mura_root):
    base = osp.join(mura_root, 'MURA-v1.1')
    empty = osp.join(base, 'train/XR_WRIST/patient00001/study1_positive/'
                     'image2.png')
    cut = osp.join(base, 'train/XR_HAND/patient00003/study1_positive/'
                   'image3.png')
    open(empty, 'wb').close()
    _truncate(cut)
    csv_path = osp.join(base, 'train_image_paths.csv')
    with pytest.raises(OSError) as err:
        build(mura_root)
    msg = str(err.value)
    assert 'MuraDataset(train): 2 unreadable image(s)' in msg
    assert f'{csv_path}:2: {empty}: empty image file' in msg
    assert f'{csv_path}:6: {cut}: truncated PNG (no IEND chunk)' in msg
    assert 'skip_corrupt=True' in msg


def test_skip_corrupt_leaves_them_out_with_one_log(mura_root, monkeypatch):
    base = osp.join(mura_root, 'MURA-v1.1')
    cut = osp.join(base, 'train/XR_HAND/patient00003/study1_positive/'
                   'image2.png')
    _truncate(cut)
    messages = []
    monkeypatch.setattr(unreadable_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    ds = build(mura_root, skip_corrupt=True)
    assert len(ds) == 7
    assert ds.skipped_corrupt == [cut]
    assert cut not in [ds.get_data_info(i)['img_path']
                       for i in range(len(ds))]
    assert len(messages) == 1
    assert 'skipped 1 unreadable image(s)' in messages[0]
    assert f'train_image_paths.csv:5: {cut}: truncated PNG' in messages[0]
    views = [
        ds.get_data_info(i)['view_idx'] for i in range(len(ds))
        if 'XR_HAND' in ds.get_data_info(i)['study_id']
    ]
    assert views == [0, 1]
    assert 'Skipped unreadable images: 1' in repr(ds)


def test_csvs_with_a_byte_order_mark(mura_root):
    base = osp.join(mura_root, 'MURA-v1.1')
    for name in ('train_image_paths.csv', 'train_labeled_studies.csv'):
        path = osp.join(base, name)
        text = open(path, encoding='utf-8').read()
        open(path, 'w', encoding='utf-8-sig').write(text)
    ds = build(mura_root)
    first = ds.get_data_info(0)
    assert first['img_path'] == osp.join(
        mura_root, 'MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/'
        'image1.png')
    assert first['study_id'] == 'train/XR_WRIST/patient00001/study1_positive'


def test_dicom_listed_in_the_csv_is_loaded(mura_root):
    from tests.helpers import write_dicom
    base = osp.join(mura_root, 'MURA-v1.1')
    rel = 'MURA-v1.1/train/XR_WRIST/patient00002/study1_negative/image1'
    os.remove(osp.join(mura_root, rel + '.png'))
    write_dicom(osp.join(mura_root, rel + '.dcm'),
                np.full((48, 64), 1000, np.uint16))
    csv_path = osp.join(base, 'train_image_paths.csv')
    text = open(csv_path).read().replace(rel + '.png', rel + '.dcm')
    open(csv_path, 'w').write(text)
    ds = build(mura_root, pipeline=[dict(type='LoadRadiograph')])
    (index, ) = [i for i in range(len(ds))
                 if ds.get_data_info(i)['img_path'].endswith('.dcm')]
    img = ds[index]['img']
    assert img.shape == (48, 64, 3) and img.dtype == np.float32
