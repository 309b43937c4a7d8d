import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_spinenet_synthetic-spine.py')


def test_prints_one_json_line_per_figure():
    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/benchmark_spine.py', CONFIG,
        '--repeats', '1', '--device', 'cpu'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [
        json.loads(line) for line in proc.stdout.splitlines()
        if line.startswith('{')
    ]
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
