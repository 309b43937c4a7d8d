"""Early and late fusion through tools/train.py and tools/test.py."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest

from tests.helpers import write_synthetic_mura

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(args):
    proc = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True,
        env=dict(__import__('os').environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return write_synthetic_mura(str(tmp_path_factory.mktemp('mura')))


@pytest.mark.parametrize('kind', ['late', 'early'])
def test_train_then_test_a_fusion_model(tmp_path, data_root, kind):
    config = osp.join(ROOT, 'tests', 'data',
                      f'tiny_{kind}fusion_resnet18_synthetic-mura.py')
    work = tmp_path / 'work'
    log = run([
        sys.executable, 'tools/train.py', config, '--work-dir',
        str(work), '--data-root', data_root
    ])
    assert 'Iter(train) [4/4]' in log or 'Epoch(train) [1][4/4]' in log
    assert 'mura/study/kappa' in log
    if kind == 'early':
        return  # tools/test.py is model-agnostic: once (late) is enough
    out = tmp_path / 'preds.pkl'
    run([
        sys.executable, 'tools/test.py', config,
        str(work / 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--data-root', data_root, '--out', str(out)
    ])
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    # One prediction a study: the tiny synthetic set has 6 valid studies.
    assert len(preds) == 6
    assert len({p['study_id'] for p in preds}) == 6
    assert all(p['pred_score'].shape == (2, ) for p in preds)
