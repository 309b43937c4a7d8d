"""The zoom-in classifier through tools/train.py and tools/test.py."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

from tests.helpers import write_synthetic_mura

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data',
                  'tiny_zoom_resnet18_synthetic-mura.py')


def run(args):
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize('num_steps', [1, 2])
def test_train_then_test_with_boxes(tmp_path, num_steps):
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    work = tmp_path / 'work'
    opts = ['--cfg-options', f'model.num_steps={num_steps}',
            f'model.loss_weights={[1.0] * (num_steps + 1)}'.replace(' ', '')]
    log = run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work), '--data-root', data_root, *opts
    ])
    assert 's0.loss' in log and f's{num_steps}.loss' in log
    assert 'mura/study/kappa' in log
    assert 'loc/roi_hit' in log and 'loc/pointing' in log
    out = tmp_path / 'preds.pkl'
    run([
        sys.executable, 'tools/test.py', CONFIG,
        str(work / 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--data-root', data_root, '--out',
        str(out), *opts
    ])
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 13
    for p in preds:
        boxes = torch.as_tensor(p['zoom_boxes'])
        h, w = p['ori_shape']
        assert boxes.shape == (num_steps, 4)
        assert torch.all(boxes[:, :2] >= 0)
        assert torch.all(boxes[:, 2] <= w + 1e-3)
        assert torch.all(boxes[:, 3] <= h + 1e-3)
        assert p['scale_scores'].shape == (num_steps + 1, 2)
