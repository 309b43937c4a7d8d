"""CheckDatasetHook: every bad train/val file before the first epoch."""
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
from mmpretrain.registry import DATASETS, HOOKS

from tests.helpers import write_mura_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')
# Ends like a PNG, so the dataset accepts it and only decoding fails.
UNDECODABLE_PNG = b'\x89PNG\r\n\x1a\n' + b'not an image' + b'IEND\xaeB`\x82'


def fake_runner(root, with_val=True):
    def dataset(split):
        return DATASETS.build(
            dict(type='MuraDataset', data_root=root, split=split,
                 pipeline=[dict(type='LoadRadiograph')]))

    def loader(split):
        return SimpleNamespace(dataset=dataset(split))

    return SimpleNamespace(
        train_dataloader=loader('train'),
        val_loop=SimpleNamespace(dataloader=loader('valid'))
        if with_val else None)


def test_lists_the_bad_files_of_both_sets(tmp_path):
    images = write_mura_fixture(str(tmp_path))
    bad = [osp.join(str(tmp_path), images['train'][1]),
           osp.join(str(tmp_path), images['train'][6]),
           osp.join(str(tmp_path), images['valid'][0])]
    for path in bad:
        open(path, 'wb').write(UNDECODABLE_PNG)
    hook = HOOKS.build(dict(type='CheckDatasetHook'))
    with pytest.raises(OSError) as err:
        hook.before_train(fake_runner(str(tmp_path)))
    msg = str(err.value)
    base = osp.join(str(tmp_path), 'MURA-v1.1')
    assert 'train: 2 file(s) cannot be loaded' in msg
    assert 'val: 1 file(s) cannot be loaded' in msg
    for csv_name, row, path in (('train', 2, bad[0]), ('train', 7, bad[1]),
                                ('valid', 1, bad[2])):
        assert (f'{base}/{csv_name}_image_paths.csv:{row}: {path}: '
                'OSError: cannot decode image') in msg
    # check_val=False leaves the validation set alone.
    with pytest.raises(OSError) as err:
        HOOKS.build(dict(type='CheckDatasetHook', check_val=False)
                    ).before_train(fake_runner(str(tmp_path)))
    assert 'val:' not in str(err.value)


def test_clean_sets_and_no_val_loop_pass(tmp_path):
    write_mura_fixture(str(tmp_path))
    hook = HOOKS.build(dict(type='CheckDatasetHook'))
    hook.before_train(fake_runner(str(tmp_path)))
    hook.before_train(fake_runner(str(tmp_path), with_val=False))


def test_train_check_data_stops_before_the_first_epoch(tmp_path):
    images = write_mura_fixture(str(tmp_path / 'data'))
    bad = osp.join(str(tmp_path / 'data'), images['valid'][1])
    open(bad, 'wb').write(UNDECODABLE_PNG)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    proc = subprocess.run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(tmp_path / 'work'), '--data-root',
        str(tmp_path / 'data'), '--check-data'
    ], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert f'valid_image_paths.csv:2: {bad}: OSError: cannot decode' in \
        proc.stderr
    assert not any(name.endswith('.pth')
                   for name in os.listdir(tmp_path / 'work'))
