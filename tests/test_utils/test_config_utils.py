import pytest
from mmengine.config import Config

from radplugins.utils import data_roots, set_data_root


def test_sets_every_dataset_including_wrapped_ones():
    cfg = Config(
        dict(
            data_root='old',
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(type='MuraDataset', data_root='old'),
                        dict(
                            type='RepeatDataset',
                            dataset=dict(type='MuraDataset',
                                         data_root='old'))
                    ])),
            val_dataloader=dict(dataset=dict(data_root='old')),
            test_dataloader=None))
    assert set_data_root(cfg, '/new') == 3
    train = cfg.train_dataloader.dataset.datasets
    assert train[0].data_root == '/new'
    assert train[1].dataset.data_root == '/new'
    assert cfg.val_dataloader.dataset.data_root == '/new'
    assert cfg.data_root == '/new'


def test_config_without_datasets_is_an_error():
    with pytest.raises(ValueError, match="cannot set '/x'"):
        set_data_root(Config(dict(model=dict())), '/x')


def test_moves_coco_evaluator_ann_files_under_the_old_root():
    ann = 'MURA-v1.1/annotations/flag_implant_valid.json'
    cfg = Config(
        dict(
            data_root='data/old/',
            val_dataloader=dict(dataset=dict(data_root='data/old/')),
            val_evaluator=dict(type='CocoMetric',
                               ann_file='data/old/' + ann),
            test_evaluator=[
                dict(type='CocoMetric', ann_file='/elsewhere/a.json'),
                dict(type='DumpResults')
            ]))
    set_data_root(cfg, '/new')
    assert cfg.val_evaluator.ann_file == '/new/' + ann
    # Not under the old root: the user's own file stays.
    assert cfg.test_evaluator[0].ann_file == '/elsewhere/a.json'


def test_data_roots_lists_every_loader_once_in_order():
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(data_root='a'),
                        dict(type='RepeatDataset',
                             dataset=dict(data_root='b'))
                    ])),
            val_dataloader=dict(dataset=dict(data_root='a')),
            test_dataloader=dict(dataset=dict(data_root='')),
            other=dict(dataset=dict(data_root='not a loader'))))
    assert data_roots(cfg) == ['a', 'b']
    set_data_root(cfg, '/new')
    assert data_roots(cfg) == ['/new']
