import os.path as osp

from tests.helpers import benchmark_records

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_spinenet_synthetic-spine.py')


def test_prints_one_json_line_per_figure():
    records = benchmark_records('benchmark_spine.py', CONFIG, '--repeats',
                                '1', '--device', 'cpu')
    assert [r['figure'] for r in records] == [
        'hotspots_k32', 'hotspots_k32_all4', 'tta54'
    ]
    for r in records:
        assert r['seconds'] > 0 and r['reference_seconds'] > 0
        assert r['ratio'] > 0
        assert r['device'] == 'cpu' and r['branch_point'] == 'conv5'
    assert [r['target'] for r in records] == [1.3, None, 1.2]
    # The two hotspot figures share one reference measurement.
    assert records[0]['reference_seconds'] == records[1][
        'reference_seconds']
