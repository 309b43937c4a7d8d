"""tools/infer.py end to end: PNG, DICOM, a folder and an unreadable file."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.runner import save_checkpoint

from radplugins.apis import init_model
from tests.helpers import write_dicom

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ZOOM_CONFIG = osp.join(ROOT, 'tests', 'data',
                       'tiny_zoom_resnet18_synthetic-mura.py')
PLAIN_CONFIG = osp.join(ROOT, 'tests', 'data',
                        'tiny_resnet18_synthetic-mura.py')
KEYS = {
    'input', 'label', 'label_index', 'probability', 'probability_of',
    'probabilities', 'scale_probabilities', 'roi_boxes', 'saliency_peaks',
    'saliency_peak', 'image_shape', 'overlay'
}


def write_cr_dicom(path, pixels):
    """A MONOCHROME1 DICOM with rescale and window, as CR systems write."""
    return write_dicom(
        path,
        pixels,
        photometric='MONOCHROME1',
        RescaleSlope=1,
        RescaleIntercept=-1024,
        WindowCenter=1000,
        WindowWidth=3000)


def radiograph(h, w, seed):
    """A bright bone-like bar on a dark, noisy background."""
    rng = np.random.default_rng(seed)
    img = rng.normal(40, 8, (h, w))
    img[h // 5:4 * h // 5, w // 3:w // 2] += 150
    return np.clip(img, 0, 255).astype(np.uint8)


def make_checkpoint(config, path):
    model = init_model(config)
    save_checkpoint(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=('negative', 'positive')))),
        str(path))
    return str(path)


def run_infer(config, ckpt, inputs, out_dir):
    return subprocess.run([
        sys.executable, 'tools/infer.py', config, ckpt, *map(str, inputs),
        '--out-dir',
        str(out_dir), '--device', 'cpu'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True)


def check_record(path, shape, num_steps):
    with open(path) as f:
        rec = json.load(f)
    assert set(rec) == KEYS
    h, w = shape
    assert rec['image_shape'] == [h, w]
    assert rec['label'] in ('negative', 'positive')
    assert rec['probability_of'] == 'positive'
    assert rec['probability'] == pytest.approx(
        rec['probabilities']['positive'], abs=1e-4)
    assert rec['label'] == max(rec['probabilities'],
                               key=rec['probabilities'].get)
    assert len(rec['roi_boxes']) == num_steps
    for x1, y1, x2, y2 in rec['roi_boxes']:
        assert 0 <= x1 < x2 <= w + 1e-3 and 0 <= y1 < y2 <= h + 1e-3
    for x, y in rec['saliency_peaks']:
        assert 0 <= x <= w and 0 <= y <= h
    assert len(rec['scale_probabilities']) == (num_steps + 1 if num_steps
                                               else 0)
    overlay = cv2.imread(osp.join(osp.dirname(path), rec['overlay']))
    assert overlay.shape == (h, w, 3)
    return rec


def test_infer_zoom_model_png_dicom_folder_and_a_bad_file(tmp_path):
    ckpt = make_checkpoint(ZOOM_CONFIG, tmp_path / 'zoom.pth')
    inputs = tmp_path / 'in'
    (inputs / 'study' / 'sub').mkdir(parents=True)
    png = inputs / 'hand.png'
    cv2.imwrite(str(png), radiograph(150, 110, 0))
    dcm = inputs / 'chest.dcm'
    write_cr_dicom(dcm, (radiograph(120, 160, 1).astype(np.uint16) * 8))
    cv2.imwrite(str(inputs / 'study' / 'sub' / 'view.png'),
                radiograph(100, 100, 2))
    (inputs / 'study' / 'notes.txt').write_text('ignored in folders')
    bad = inputs / 'broken.png'
    bad.write_bytes(png.read_bytes()[:60])  # truncated
    out = tmp_path / 'out'
    proc = run_infer(ZOOM_CONFIG, ckpt,
                     [png, bad, dcm, inputs / 'study'], out)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'broken.png' in proc.stderr
    assert not any(line.startswith(str(bad)) for line in
                   proc.stdout.splitlines())
    assert not (out / 'broken.json').exists()
    check_record(out / 'hand.json', (150, 110), 1)
    rec = check_record(out / 'chest.json', (120, 160), 1)
    assert rec['input'] == str(dcm)
    check_record(out / 'sub' / 'view.json', (100, 100), 1)
    assert '3 of 4 image(s)' in proc.stdout


def test_infer_plain_classifier_has_no_boxes(tmp_path):
    ckpt = make_checkpoint(PLAIN_CONFIG, tmp_path / 'plain.pth')
    png = tmp_path / 'hand.png'
    cv2.imwrite(str(png), radiograph(80, 60, 3))
    out = tmp_path / 'out'
    proc = run_infer(PLAIN_CONFIG, ckpt, [png], out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = check_record(out / 'hand.json', (80, 60), 0)
    assert rec['roi_boxes'] == [] and rec['saliency_peak'] is None


def test_vis_zoom_writes_one_panel_per_image(tmp_path):
    """tools/visualization/vis_zoom.py shares the drawing code."""
    from tests.helpers import load_tool, write_synthetic_mura
    vis_zoom = load_tool('visualization/vis_zoom.py')
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    ckpt = make_checkpoint(ZOOM_CONFIG, tmp_path / 'zoom.pth')
    out = tmp_path / 'vis'
    assert vis_zoom.main([
        ZOOM_CONFIG, ckpt, '--data-root', data_root, '--split', 'train',
        '--num', '3', '--out-dir',
        str(out), '--tile-size', '96', '--ground-truth', 'auto'
    ]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert sorted(f.rsplit('_', 1)[1] for f in files) == [
        '0.png', '1.png', '2.png'
    ]
    panel = cv2.imread(str(out / files[0]))
    # Maps returned: four 96-px tiles; one zoom step.
    assert panel.shape == (2 * 16 + 96 + 16, 4 * 96, 3)


def test_infer_refuses_a_checkpoint_of_another_model(tmp_path):
    """A checkpoint without the head would classify with a random one."""
    import torch
    state = init_model(PLAIN_CONFIG).state_dict()
    ckpt = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict={k: v for k, v in state.items()
                                if not k.startswith('head.')}), ckpt)
    png = tmp_path / 'hand.png'
    cv2.imwrite(str(png), radiograph(80, 60, 3))
    out = tmp_path / 'out'
    proc = run_infer(PLAIN_CONFIG, str(ckpt), [png], out)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f'error: {ckpt} does not fit the model (ImageClassifier): ' \
        '2 missing key(s)' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (out / 'hand.json').exists()
