import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS, TRANSFORMS

from tests.helpers import write_mura_fixture

# (split, part, patient, study, label, views): 1, 3 and 5 views with V = 3.
STUDIES = [
    ('train', 'XR_WRIST', 'patient00001', 1, 1, 1),
    ('train', 'XR_HAND', 'patient00002', 1, 0, 3),
    ('train', 'XR_ELBOW', 'patient00003', 1, 1, 5),
    ('valid', 'XR_WRIST', 'patient00010', 1, 1, 5),
    ('valid', 'XR_HAND', 'patient00011', 1, 0, 2),
]
VIEW_PIPELINE = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='LetterboxResize', scale=32),
]


def build(root, **kwargs):
    return DATASETS.build(
        dict(type='MuraStudyDataset', data_root=root, num_views=3, **kwargs))


@pytest.fixture
def study_root(tmp_path):
    write_mura_fixture(str(tmp_path), STUDIES)
    return str(tmp_path)


def test_one_sample_per_study_with_its_views(study_root):
    ds = build(study_root, split='train', test_mode=True)
    assert len(ds) == 3
    assert ds.num_cut_studies == 1
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [i['gt_label'] for i in infos] == [1, 0, 1]
    assert [i['num_study_views'] for i in infos] == [1, 3, 5]
    assert [i['body_part'] for i in infos] == [
        'XR_WRIST', 'XR_HAND', 'XR_ELBOW'
    ]
    assert infos[1]['study_id'] == 'train/XR_HAND/patient00002/study1_negative'
    assert [osp.basename(p) for p in infos[1]['img_paths']] == [
        'image1.png', 'image2.png', 'image3.png'
    ]
    # Test mode: the first num_views views, every time.
    for _ in range(3):
        cut = ds.get_data_info(2)
        assert [osp.basename(p) for p in cut['img_paths']] == [
            'image1.png', 'image2.png', 'image3.png'
        ]
        assert cut['view_indices'] == [0, 1, 2]
    assert 'cut): 1' in repr(ds)


def test_training_draws_a_random_subset_of_a_long_study(study_root):
    ds = build(study_root, split='train')
    drawn = set()
    for _ in range(40):
        info = ds.get_data_info(2)
        names = [osp.basename(p) for p in info['img_paths']]
        assert len(names) == len(set(names)) == 3
        assert [int(n[5]) - 1 for n in names] == info['view_indices']
        drawn.add(tuple(info['view_indices']))
    assert len(drawn) > 1
    assert set().union(*drawn) == {0, 1, 2, 3, 4}
    # Short studies are never cut.
    assert len(ds.get_data_info(0)['img_paths']) == 1


def test_cut_studies_are_logged(study_root, monkeypatch):
    import radplugins.datasets.mura_study as module
    messages = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    build(study_root, split='valid', test_mode=True)
    assert any('1 of 2 studies have more than 3 views; each is given the '
               'first 3' in m for m in messages), messages


def test_pipeline_fills_and_masks_short_studies(study_root):
    ds = build(
        study_root,
        split='train',
        test_mode=True,
        pipeline=[
            dict(
                type='LoadStudyViews',
                num_views=3,
                view_pipeline=VIEW_PIPELINE,
                fill_pipeline=[
                    dict(type='RandomFlip', prob=1.0,
                         direction='horizontal')
                ]),
            dict(
                type='PackInputs',
                algorithm_keys=('view_mask', ),
                meta_keys=('study_id', 'body_part', 'view_sources')),
        ])
    one = ds[0]
    assert one['inputs'].shape == (3, 3, 32, 32)
    sample = one['data_samples']
    assert sample.view_mask.tolist() == [True, False, False]
    assert sample.view_sources == [0, 0, 0]
    # The repeats went through the fill pipeline: mirrored copies.
    assert torch.equal(one['inputs'][1], one['inputs'][0].flip(-1))
    assert not torch.equal(one['inputs'][1], one['inputs'][0])
    full = ds[1]
    assert full['data_samples'].view_mask.tolist() == [True] * 3
    assert full['data_samples'].view_sources == [0, 1, 2]
    assert sample.study_id == 'train/XR_WRIST/patient00001/study1_positive'


def test_study_errors_are_mura_errors(study_root):
    csv_path = osp.join(study_root, 'MURA-v1.1', 'train_labeled_studies.csv')
    with open(csv_path, 'a') as f:
        f.write('MURA-v1.1/train/XR_KNEE/patient00099/study1_negative/,0\n')
    with pytest.raises(ValueError, match=r"train_labeled_studies.csv:4: "
                       r"unknown body part 'XR_KNEE'"):
        build(study_root, split='train')
    with pytest.raises(ValueError, match='num_views must be a positive int'):
        DATASETS.build(
            dict(type='MuraStudyDataset', data_root=study_root, num_views=0))


def test_load_study_views_rejects_too_many_and_ragged_views(study_root):
    ds = build(study_root, split='train', test_mode=True)
    load = TRANSFORMS.build(
        dict(type='LoadStudyViews', num_views=2,
             view_pipeline=VIEW_PIPELINE))
    with pytest.raises(ValueError, match='3 views, more than num_views=2'):
        load(ds.get_data_info(1))
    ragged = TRANSFORMS.build(
        dict(type='LoadStudyViews', num_views=3,
             view_pipeline=[dict(type='LoadRadiograph', channels=3)]))
    info = ds.get_data_info(1)
    cv2.imwrite(info['img_paths'][2], np.zeros((20, 30), np.uint8))
    with pytest.raises(ValueError, match='views of different shapes'):
        ragged(info)


def test_ground_truth_boxes_are_per_view_lists(tmp_path):
    from tests.helpers import write_synthetic_mura
    root = write_synthetic_mura(str(tmp_path))
    views = DATASETS.build(
        dict(type='MuraDataset', data_root=root, split='valid',
             ground_truth='auto'))
    studies = DATASETS.build(
        dict(type='MuraStudyDataset', data_root=root, split='valid',
             num_views=6, ground_truth='auto', test_mode=True))
    assert sum(len(s['img_paths']) for s in studies) == len(views) == 13
    by_path = {v['img_path']: v for v in views}
    for study in studies:
        assert len(study['gt_abnormal_boxes']) == len(study['img_paths'])
        for path, boxes, flags in zip(study['img_paths'],
                                      study['gt_abnormal_boxes'],
                                      study['gt_flag_boxes']):
            np.testing.assert_array_equal(boxes,
                                          by_path[path]['gt_abnormal_boxes'])
            np.testing.assert_array_equal(flags,
                                          by_path[path]['gt_flag_boxes'])
