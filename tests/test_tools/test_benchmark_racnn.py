import os.path as osp

import pytest

from tests.helpers import benchmark_records

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data',
                  'tiny_racnn_resnet18_synthetic-mura.py')


def test_prints_one_json_line_per_figure():
    records = benchmark_records('benchmark_racnn.py', CONFIG, '--batch', '2',
                                '--input-size', '32', '--iters', '1',
                                '--warmup', '0')
    assert [r['figure'] for r in records] == [
        'train_step_classifier', 'train_step_apn', 'train_step'
    ]
    cls, apn, mean = records
    for r in records:
        assert r['racnn_s'] > 0 and r['plain_s'] > 0
        assert r['ratio'] == pytest.approx(r['racnn_s'] / r['plain_s'],
                                           rel=0.01)
    # The tiny config alternates one classifier and one APN iteration.
    assert mean['racnn_s'] == pytest.approx(
        (cls['racnn_s'] + apn['racnn_s']) / 2, rel=0.01)
