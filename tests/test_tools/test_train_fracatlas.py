"""FracAtlas through tools/train.py and tools/test.py with the shipped
configs: baseline, zoom fine-tune from it, and the test split scored."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import numpy as np
import torch

from radplugins.datasets import FracAtlasDataset
from tests.helpers import fracatlas_row, write_fracatlas_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs', 'fracatlas')
# Small loaders, no worker processes: the fixture is tiny.
FAST = [
    f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader',
                                     'test_dataloader')
    for key in ('num_workers=0', 'persistent_workers=False')
]


def run(args):
    proc = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def write_fixture(root):
    """40 images over all body parts, every third fractured, with a
    bright fracture box; one large image that is loaded shrunk."""
    parts = (('hand', ), ('leg', ), ('hip', ), ('shoulder', ),
             ('hand', 'leg', 'mixed'))
    rows = [
        fracatlas_row(f'IMG{i:07d}.jpg', parts[i % 5],
                      [[10, 12, 20, 16]] if i % 3 == 0 else [])
        for i in range(40)
    ]
    write_fracatlas_fixture(root, rows, size=(96, 80))
    for row in rows[::3]:
        path = osp.join(root, 'images', 'Fractured', row['image_id'])
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        img[12:28, 10:30] = 255
        cv2.imwrite(path, img)
    return rows


def test_baseline_then_zoom_then_test_split(tmp_path):
    data_root = str(tmp_path / 'FracAtlas')
    write_fixture(data_root)
    baseline = osp.join(CONFIGS, 'baseline_resnetv1d18_1xb16_10e_fracatlas.py')
    zoom = osp.join(CONFIGS, 'zoom_resnetv1d18_1xb16_1e-ft_fracatlas.py')
    log = run([
        sys.executable, 'tools/train.py', baseline, '--work-dir',
        str(tmp_path / 'base'), '--data-root', data_root, '--cfg-options',
        'train_cfg.max_epochs=1', *FAST
    ])
    assert 'mura/image/auroc' in log and 'Scores (image level):' in log
    log = run([
        sys.executable, 'tools/train.py', zoom, '--work-dir',
        str(tmp_path / 'zoom'), '--data-root', data_root, '--cfg-options',
        f'load_from={tmp_path / "base" / "epoch_1.pth"}', *FAST
    ])
    assert 's0.loss' in log and 's1.loss' in log
    assert 'loc/roi_hit' in log and 'loc/centre_hit' in log

    out = tmp_path / 'preds.pkl'
    work = tmp_path / 'test'
    run([
        sys.executable, 'tools/test.py', zoom,
        str(tmp_path / 'zoom' / 'epoch_1.pth'), '--work-dir',
        str(work), '--data-root', data_root, '--out', str(out), '--cfg-options',
        *FAST
    ])
    test_ids = [
        d['img_id'] for d in FracAtlasDataset(
            data_root, split='test', lazy_init=False).load_data_list()
    ]
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    # The test split, and only it, was scored.
    assert sorted(p['img_id'] for p in preds) == sorted(test_ids)
    for p in preds:
        h, w = p['ori_shape']
        assert (h, w) == (96, 80)
        box = torch.as_tensor(p['zoom_boxes'])[0]
        assert 0 <= box[0] < box[2] <= w + 1e-3
        assert 0 <= box[1] < box[3] <= h + 1e-3
        expected = [[10, 12, 30, 28]] if int(p['img_id'][3:10]) % 3 == 0 \
            else np.zeros((0, 4))
        np.testing.assert_allclose(
            np.asarray(p['gt_abnormal_boxes']).reshape(-1, 4), expected)
    scalars = [
        json.loads(line) for path in work.rglob('*.json')
        for line in open(path) if line.startswith('{')
    ]
    assert any('loc/roi_hit' in s for s in scalars)
