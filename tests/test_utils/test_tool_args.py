import argparse
import os.path as osp

import pytest
from mmengine.config import Config

from radplugins.utils import add_runner_args, apply_runner_args


def parse(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_runner_args(parser)
    return parser.parse_args(['configs/x/my_cfg.py', *argv])


def make_cfg():
    return Config(
        dict(
            train_dataloader=dict(dataset=dict(data_root='old')),
            val_dataloader=dict(dataset=dict(data_root='old')),
            train_cfg=dict(max_epochs=3)))


def test_defaults():
    cfg = apply_runner_args(make_cfg(), parse())
    assert cfg.work_dir == osp.join('./work_dirs', 'my_cfg')
    assert cfg.launcher == 'none'
    assert cfg.train_dataloader.dataset.data_root == 'old'


def test_data_root_then_cfg_options_win():
    cfg = apply_runner_args(
        make_cfg(),
        parse('--work-dir', 'w', '--data-root', '/d', '--launcher',
              'pytorch', '--cfg-options', 'train_cfg.max_epochs=1',
              'val_dataloader.dataset.data_root=/v'))
    assert cfg.work_dir == 'w'
    assert cfg.launcher == 'pytorch'
    assert cfg.train_dataloader.dataset.data_root == '/d'
    assert cfg.val_dataloader.dataset.data_root == '/v'
    assert cfg.train_cfg.max_epochs == 1


def parse_precision(*argv):
    from radplugins.utils import add_precision_args
    parser = argparse.ArgumentParser()
    add_precision_args(parser)
    return parser.parse_args(list(argv))


def test_precision_args(monkeypatch):
    from radplugins.utils import apply_precision_args, tool_args
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=1)),
                      custom_hooks=[dict(type='ChannelsLastHook')]))
    unchanged = apply_precision_args(cfg.copy(), parse_precision(), True)
    assert 'type' not in unchanged.optim_wrapper
    assert unchanged.custom_hooks == [dict(type='ChannelsLastHook')]

    monkeypatch.setattr(tool_args, 'get_device', lambda: 'cpu')
    args = parse_precision('--amp', '--channels-last')
    train = apply_precision_args(cfg.copy(), args, training=True)
    assert train.optim_wrapper.type == 'CPUAmpOptimWrapper'
    # Each hook once, the config's own kept.
    assert [h['type'] for h in train.custom_hooks] == [
        'ChannelsLastHook', 'AutocastInferenceHook'
    ]
    test = apply_precision_args(cfg.copy(), args, training=False)
    assert 'type' not in test.optim_wrapper
    assert [h['type'] for h in test.custom_hooks] == [
        'ChannelsLastHook', 'AutocastInferenceHook'
    ]
    monkeypatch.setattr(tool_args, 'get_device', lambda: 'cuda')
    gpu = apply_precision_args(cfg.copy(), args, training=True)
    assert gpu.optim_wrapper.type == 'AmpOptimWrapper'
    assert gpu.optim_wrapper.loss_scale == 'dynamic'


def test_work_dir_in_or_around_a_data_root_is_refused(tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    cases = {
        data: 'is the input folder',
        data / 'runs': 'lies inside the input folder',
        tmp_path: 'contains the input folder',
    }
    for work_dir, reason in cases.items():
        with pytest.raises(SystemExit) as info:
            apply_runner_args(
                make_cfg(),
                parse('--work-dir', str(work_dir), '--data-root', str(data)))
        where = 'around' if work_dir == tmp_path else 'into'
        assert str(info.value.code) == (
            f'error: refusing to write {where} the input: --work-dir '
            f'{work_dir} {reason} {data}')
    cfg = apply_runner_args(
        make_cfg(),
        parse('--work-dir', str(tmp_path / 'work'), '--data-root', str(data)))
    assert cfg.work_dir == str(tmp_path / 'work')
