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
from mmengine.config import Config

from tests.helpers import fracatlas_row, load_tool, write_fracatlas_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs', 'fracatlas')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# Small loaders, no worker processes (the fixture is tiny), and a split
# that puts fractured images, the large one included, in every split.
FAST = [
    f'{loader}.{key}' for loader in LOADERS
    for key in ('num_workers=0', 'persistent_workers=False',
                'dataset.split_file=split.csv')
]
SPLIT_OF = {0: 'train', 1: 'train', 2: 'valid', 3: 'test'}
BIG = 'IMG0000003.jpg'


def run(args):
    proc = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def write_fixture(root):
    """40 images over all body parts, every third fractured, with a
    bright fracture box, split by index mod 4 (train, train, valid, test);
    one large fractured test image that is loaded shrunk."""
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
    with open(osp.join(root, 'split.csv'), 'w') as f:
        f.write('image_id,split\n')
        for i, row in enumerate(rows):
            f.write(f'{row["image_id"]},{SPLIT_OF[i % 4]}\n')
    # IMG0000003 (fractured, test) at 2304 px, like FracAtlas's large
    # images: loaded at 1/2 and shrunk to 1,024 px.
    big = np.zeros((2304, 1920), np.uint8)
    big[288:672, 240:720] = 255  # the fixture's box, 24x larger
    cv2.imwrite(osp.join(root, 'images', 'Fractured', BIG), big)
    coco_path = osp.join(root, 'Annotations', 'COCO JSON',
                         'COCO_fracture_masks.json')
    with open(coco_path) as f:
        coco = json.load(f)
    big_id = [i['id'] for i in coco['images'] if i['file_name'] == BIG][0]
    for image in coco['images']:
        if image['id'] == big_id:
            image.update(width=1920, height=2304)
    for ann in coco['annotations']:
        if ann['image_id'] == big_id:
            ann['bbox'] = [240, 288, 480, 384]
    with open(coco_path, 'w') as f:
        json.dump(coco, f)
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
    # Body parts are rows of that table, not keys of the metric line.
    assert 'mura/image/hand/' not in log
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
        str(work), '--data-root', data_root, '--out', str(out),
        '--cfg-options', *FAST
    ])
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    # The test split, and only it, was scored.
    assert sorted(p['img_id'] for p in preds) == [
        f'IMG{i:07d}.jpg' for i in range(3, 40, 4)]
    for p in preds:
        h, w = p['ori_shape']
        big = p['img_id'] == BIG
        assert (h, w) == ((1024, 853) if big else (96, 80))
        box = torch.as_tensor(p['zoom_boxes'])[0]
        assert 0 <= box[0] < box[2] <= w + 1e-3
        assert 0 <= box[1] < box[3] <= h + 1e-3
        expected = [[10, 12, 30, 28]] if int(p['img_id'][3:10]) % 3 == 0 \
            else np.zeros((0, 4))
        if big:  # the box in the shrunk image's pixels
            expected = np.array([[240, 288, 720, 672]]) * (1024 / 2304)
        np.testing.assert_allclose(
            np.asarray(p['gt_abnormal_boxes']).reshape(-1, 4), expected,
            rtol=2e-3)
    scalars = [
        json.loads(line) for path in work.rglob('*.json')
        for line in open(path) if line.startswith('{')
    ]
    assert any('loc/roi_hit' in s for s in scalars)
    assert not [k for s in scalars for k in s if k.startswith('loc/hand/')]

    # The first fractured valid images, in one grid, drawn in the frame
    # the model saw them in.
    vis_zoom = load_tool('visualization/vis_zoom.py')
    assert vis_zoom.main([
        zoom, str(tmp_path / 'zoom' / 'epoch_1.pth'), '--data-root',
        data_root, '--split', 'test', '--label', '1', '--num', '3',
        '--out-dir', str(tmp_path / 'vis'), '--tile-size', '64', '--grid',
        str(tmp_path / 'grid.png'), '--grid-cols', '2', '--cfg-options',
        'test_dataloader.dataset.split_file=split.csv'
    ]) == 0
    # Fractured test images: 3, 15, 27, 39; the first three drawn.
    panels = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert [name.split('_')[0] for name in panels] == \
        ['IMG0000003', 'IMG0000015', 'IMG0000027']
    panel = cv2.imread(str(tmp_path / 'vis' / panels[0]))
    # The same panel with the markers a detector found (a remove_flags
    # report): a flag box is drawn on it, nothing else changes.
    report = tmp_path / 'removed_flags.json'
    report.write_text(json.dumps(dict(images={
        osp.join('images', 'Fractured' if i % 3 == 0 else 'Non_fractured',
                 f'IMG{i:07d}.jpg'): dict(flags=[dict(
                     label='flag', score=0.9, bbox=[60, 70, 76, 90])])
        for i in range(3, 40, 4)})))
    assert vis_zoom.main([
        zoom, str(tmp_path / 'zoom' / 'epoch_1.pth'), '--data-root',
        data_root, '--split', 'test', '--label', '1', '--num', '1',
        '--out-dir', str(tmp_path / 'vis_flags'), '--tile-size', '64',
        '--flags', str(report), '--cfg-options',
        'test_dataloader.dataset.split_file=split.csv'
    ]) == 0
    flagged = cv2.imread(str(tmp_path / 'vis_flags' / panels[0]))
    assert flagged.shape == panel.shape
    assert 0 < np.any(flagged != panel, axis=2).sum() < 200
    grid = cv2.imread(str(tmp_path / 'grid.png'))
    assert grid.shape[0] == panel.shape[0] * 2
    assert grid.shape[1] == panel.shape[1] * 2
    # The large radiograph is drawn as the model saw it: shrunk, with its
    # true box scaled onto the rectangle.
    cfg = Config.fromfile(zoom)
    info = dict(img_path=osp.join(data_root, 'images', 'Fractured', BIG),
                gt_abnormal_boxes=np.array([[240, 288, 720, 672]],
                                           np.float32))
    image, drawn = vis_zoom.load_as_pipeline(cfg, info)
    assert image.shape == (1024, 853, 3)
    x1, y1, x2, y2 = drawn['gt_abnormal_boxes'][0].round().astype(int)
    assert image[y1 + 3:y2 - 3, x1 + 3:x2 - 3].min() > 200
    assert image[:y1 - 3].max() < 50
