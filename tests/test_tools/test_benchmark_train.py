import os.path as osp

import pytest

from tests.helpers import benchmark_records, write_synthetic_mura

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')


def test_prints_one_json_line_per_figure(tmp_path):
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    records = benchmark_records('benchmark_train.py', CONFIG, '--data-root',
                                data_root, '--iters', '2', '--warmup', '1',
                                '--cfg-options',
                                f'work_dir={tmp_path / "work"}')
    assert [r['figure'] for r in records] == [
        'dataloader', 'train_step', 'memory', 'loader_over_train'
    ]
    loader, step, memory, ratio = records
    assert loader['images_per_s'] > 0 and loader['batch_size'] == 4
    assert step['images_per_s'] > 0
    assert step['seconds_per_iter'] * step['images_per_s'] == \
        pytest.approx(4, rel=0.01)
    assert memory['peak_mb'] >= memory['peak_rss_before_training_mb'] > 0
    assert ratio['ratio'] == pytest.approx(
        loader['images_per_s'] / step['images_per_s'], rel=0.01)
