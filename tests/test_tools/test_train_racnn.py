"""RA-CNN through tools/train.py and tools/test.py."""
import importlib.util
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import torch

from tests.helpers import write_synthetic_mura

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data',
                  'tiny_racnn_resnet18_synthetic-mura.py')


def run(args):
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def test_alternating_training_then_test_with_boxes(tmp_path):
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    work = tmp_path / 'work'
    # 19 images, batch 4: 5 iterations = classifier (warm-up), apn_init,
    # classifier, apn, classifier.
    log = run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work), '--data-root', data_root
    ])
    for key in ('apn_init.loss', 's0.loss', 's2.loss', 'fused.loss',
                'rank.loss', 'mura/study/kappa', 'mura_s2/study/kappa',
                'loc_s1/roi_hit', 'loc_s2/roi_hit'):
        assert key in log, key
    out = tmp_path / 'preds.pkl'
    run([
        sys.executable, 'tools/test.py', CONFIG,
        str(work / 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--data-root', data_root, '--out',
        str(out)
    ])
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 13
    for p in preds:
        boxes = torch.as_tensor(p['zoom_boxes'])
        h, w = p['ori_shape']
        assert boxes.shape == (2, 4)
        assert torch.all(boxes[:, :2] >= 0)
        assert torch.all(boxes[:, 2] <= w + 1e-3)
        assert torch.all(boxes[:, 3] <= h + 1e-3)
        assert torch.all(boxes[:, 2:] > boxes[:, :2])
        assert p['scale_scores'].shape == (3, 2)
    # The zoom visualisation tool draws one tile per scale for RA-CNN (in
    # this process: one interpreter start less).
    spec = importlib.util.spec_from_file_location(
        'vis_zoom', osp.join(ROOT, 'tools', 'visualization', 'vis_zoom.py'))
    vis_zoom = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vis_zoom)
    vis = tmp_path / 'vis'
    assert vis_zoom.main([
        CONFIG, str(work / 'epoch_1.pth'), '--data-root', data_root, '--num',
        '2', '--out-dir', str(vis), '--tile-size', '64', '--ground-truth',
        'auto'
    ]) == 0
    pngs = sorted(vis.iterdir())
    assert len(pngs) == 2
    panel = cv2.imread(str(pngs[0]))
    assert panel.shape == (2 * 16 + 64 + 16, 3 * 64, 3)
