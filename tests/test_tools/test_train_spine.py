"""SpineNet end to end through tools/train.py and tools/test.py."""
import glob
import json
import os.path as osp
import sys

import pytest

from tests.test_tools.test_train_test import run

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_spinenet_synthetic-spine.py')
HOTSPOTS = osp.join(ROOT, 'tests', 'data',
                    'tiny_spinenet-hotspots_synthetic-spine.py')


@pytest.fixture(scope='module')
def spine_root(tmp_path_factory):
    from tests.helpers import write_synthetic_spine
    return write_synthetic_spine(str(tmp_path_factory.mktemp('spine')))


def last_record(work_dir, key):
    logs = sorted(glob.glob(osp.join(str(work_dir), '*', 'vis_data',
                                     'scalars.json')) +
                  glob.glob(osp.join(str(work_dir), '*', '*.json')))
    records = []
    for path in logs:
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return [r for r in records if key in r][-1]


def test_train_then_test_with_hotspots(spine_root, tmp_path):
    work_dir = tmp_path / 'train'
    proc = run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), '--data-root', spine_root
    ])
    assert osp.isfile(work_dir / 'epoch_2.pth')
    assert 'class-balance weights pfirrmann' in proc.stdout + proc.stderr
    assert 'loss_lower_marrow' in proc.stdout + proc.stderr
    val = last_record(work_dir, 'spine/mean_avg_class_acc')
    assert 0 <= val['spine/mean_avg_class_acc'] <= 1
    test_dir = tmp_path / 'test'
    run([
        sys.executable, 'tools/test.py', HOTSPOTS,
        str(work_dir / 'epoch_2.pth'), '--work-dir',
        str(test_dir), '--data-root', spine_root
    ])
    record = last_record(test_dir, 'spine/pfirrmann/avg_class_acc')
    assert any(k.startswith('spine_hotspot/') and k.endswith('/pointing')
               for k in record), record
    # tools/infer.py on volume input: JSON and one strip per binary task.
    volume = sorted(glob.glob(osp.join(spine_root, 'volumes', '*.npy')))[0]
    out_dir = tmp_path / 'infer'
    run([
        sys.executable, 'tools/infer.py', CONFIG,
        str(work_dir / 'epoch_2.pth'), volume, '--out-dir',
        str(out_dir), '--cfg-options', 'model.hotspot_cfg.num_aug=2'
    ])
    name = osp.basename(volume)[:-4]
    with open(out_dir / f'{name}.json') as f:
        record = json.load(f)
    assert set(record['predictions']) >= {'pfirrmann', 'lower_marrow'}
    assert len(record['probabilities']['pfirrmann']) == 5
    assert len(record['hotspots']) == 4
    assert all(osp.isfile(out_dir / p) for p in record['hotspots'])
