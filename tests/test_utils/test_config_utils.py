import pytest
from mmengine.config import Config

from radplugins.utils import set_data_root


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
