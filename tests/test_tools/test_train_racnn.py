"""RA-CNN through tools/train.py and tools/test.py."""
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import torch

from tests.helpers import free_port, load_tool, write_synthetic_mura

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
    vis_zoom = load_tool('visualization/vis_zoom.py')
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


def test_distributed_training_alternates_the_phases(tmp_path):
    """Two gloo processes through tools/dist_train.sh: each iteration
    steps only its phase's parameters, as in a single process."""
    import os

    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    work = tmp_path / 'dist'
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=free_port())
    # 19 images on 2 ranks with batch 2: 5 iterations, a checkpoint after
    # each: classifier (warm-up), apn_init, classifier, apn, classifier.
    proc = subprocess.run([
        'bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
        str(work), '--data-root', data_root, '--cfg-options',
        'train_dataloader.batch_size=2', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1'
    ], cwd=ROOT, env=env, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert 'Distributed training: True' in log
    assert 'rank.loss' in log and 'apn_init.loss' in log

    def weights(it):
        state = torch.load(work / f'iter_{it}.pth', map_location='cpu',
                           weights_only=False)['state_dict']
        apn = {k: v for k, v in state.items() if k.startswith('apns.')}
        rest = {k: v for k, v in state.items()
                if not k.startswith('apns.') and v.is_floating_point()}
        return apn, rest

    def changed(a, b):
        return sorted(k for k in a if not torch.equal(a[k], b[k]))

    snapshots = [weights(it) for it in range(1, 6)]
    # iteration i (0-based) moves from snapshot i-1 to snapshot i
    for i, phase in ((1, 'apn_init'), (2, 'classifier'), (3, 'apn'),
                     (4, 'classifier')):
        (apn0, rest0), (apn1, rest1) = snapshots[i - 1], snapshots[i]
        if phase == 'classifier':
            assert changed(apn0, apn1) == [], (i, phase)
            assert changed(rest0, rest1), (i, phase)
        else:
            assert changed(rest0, rest1) == [], (i, phase)
            assert changed(apn0, apn1), (i, phase)
