"""tools/infer.py end to end: PNG, DICOM, a folder and an unreadable file."""
import json
import os.path as osp
from contextlib import contextmanager
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
SPINE_CONFIG = osp.join(ROOT, 'tests', 'data',
                        'tiny_spinenet_synthetic-spine.py')
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


# Class probabilities the hand-set heads give whatever the volume.
HEAD_PROBS = dict(
    pfirrmann=[0.05, 0.1, 0.15, 0.6, 0.1],
    narrowing=[0.1, 0.2, 0.3, 0.4],
    upper_endplate=[0.3, 0.7],
    lower_endplate=[0.8, 0.2],
    upper_marrow=[0.45, 0.55],
    lower_marrow=[0.9, 0.1])


def hand_set_spine_checkpoint(path):
    """The tiny SpineNet with zero FC8 weights and biases log(p): its class
    probabilities are HEAD_PROBS for any finite volume."""
    import torch
    model = init_model(SPINE_CONFIG)
    with torch.no_grad():
        for task, head in zip(model.tasks, model.heads):
            head.weight.zero_()
            head.bias.copy_(torch.tensor(HEAD_PROBS[task]).log())
    save_checkpoint(dict(state_dict=model.state_dict()), str(path))
    return str(path)


def test_infer_volumes_writes_csv_grades_and_rejects_nan(tmp_path, capsys):
    from tests.helpers import load_tool
    ckpt = hand_set_spine_checkpoint(tmp_path / 'hand.pth')
    # A hand-made 7-slice disc: a bright band between two grey bodies.
    volume = np.full((7, 112, 224), 0.5, np.float32)
    volume[:, 48:64, 20:204] = 0.9
    good = tmp_path / 'disc.npy'
    np.save(good, volume)
    volume[3, 56, 112] = np.nan
    nan = tmp_path / 'nan.npy'
    np.save(nan, volume)
    out_dir = tmp_path / 'out'
    code = load_tool('infer.py').main([
        SPINE_CONFIG, ckpt, str(good), str(nan), '--out-dir',
        str(out_dir), '--device', 'cpu', '--cfg-options',
        'model.hotspot_cfg.num_aug=2'
    ])
    err = capsys.readouterr().err
    # Grades as discs.csv writes them: Pfirrmann class 3 is grade 4, the
    # other tasks count from 0; probabilities keyed by those grades.
    expected = json.loads("""{
      "input": "%s",
      "intensity_normalised": false,
      "predictions": {"pfirrmann": 4, "narrowing": 3, "upper_endplate": 1,
                      "lower_endplate": 0, "upper_marrow": 1,
                      "lower_marrow": 0},
      "probabilities": {
        "pfirrmann": {"1": 0.05, "2": 0.1, "3": 0.15, "4": 0.6, "5": 0.1},
        "narrowing": {"0": 0.1, "1": 0.2, "2": 0.3, "3": 0.4},
        "upper_endplate": {"0": 0.3, "1": 0.7},
        "lower_endplate": {"0": 0.8, "1": 0.2},
        "upper_marrow": {"0": 0.45, "1": 0.55},
        "lower_marrow": {"0": 0.9, "1": 0.1}},
      "hotspots": ["disc.npy.upper_endplate.png",
                   "disc.npy.lower_endplate.png",
                   "disc.npy.upper_marrow.png", "disc.npy.lower_marrow.png"]
    }""" % good)

    def no_constants(name):
        raise AssertionError(f'{name} is not JSON')

    # Output names keep the input's extension (mirrored_output_names).
    text = (out_dir / 'disc.npy.json').read_text()
    assert json.loads(text, parse_constant=no_constants) == expected
    # The NaN volume is named, skipped and fails the run; no JSON for it.
    assert code == 1
    assert (f'{nan}: skipped: ValueError: {nan}: disc volume has 1 '
            'non-finite values (NaN or inf), the first at index '
            '(3, 56, 112)') in err
    assert not (out_dir / 'nan.npy.json').exists()
    assert sorted(p.name for p in out_dir.iterdir() if
                  p.suffix == '.json') == ['disc.npy.json']


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
    assert not (out / 'broken.png.json').exists()
    check_record(out / 'hand.png.json', (150, 110), 1)
    rec = check_record(out / 'chest.dcm.json', (120, 160), 1)
    assert rec['input'] == str(dcm)
    assert rec['overlay'] == 'chest.dcm.overlay.png'
    # The folder's files keep their place below the inputs' common folder.
    check_record(out / 'study' / 'sub' / 'view.png.json', (100, 100), 1)
    assert '3 of 4 image(s)' in proc.stdout


def test_infer_plain_classifier_has_no_boxes(tmp_path):
    ckpt = make_checkpoint(PLAIN_CONFIG, tmp_path / 'plain.pth')
    png = tmp_path / 'hand.png'
    cv2.imwrite(str(png), radiograph(80, 60, 3))
    out = tmp_path / 'out'
    proc = run_infer(PLAIN_CONFIG, ckpt, [png], out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = check_record(out / 'hand.png.json', (80, 60), 0)
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


def infer_main(*args):
    """tools/infer.py's main in this process (faster than a subprocess)."""
    from tests.helpers import load_tool
    return load_tool('infer.py').main([str(a) for a in args] +
                                      ['--device', 'cpu'])


def file_contents(folder):
    return {
        str(p): p.read_bytes()
        for p in sorted(folder.rglob('*')) if p.is_file()
    }


def test_infer_refuses_an_out_dir_that_is_inside_or_around_an_input(
        tmp_path, capsys):
    """Nothing is read or written: the inputs keep their bytes, exit 2."""
    src = tmp_path / 'in'
    (src / 'sub').mkdir(parents=True)
    png = src / 'a.png'
    cv2.imwrite(str(png), radiograph(40, 30, 0))
    cv2.imwrite(str(src / 'sub' / 'b.png'), radiograph(30, 40, 1))
    csv_path = tmp_path / 'discs' / 'discs.csv'
    csv_path.parent.mkdir()
    csv_path.write_text('volume,upper_body,lower_body\n')
    (tmp_path / 'link').symlink_to(src)
    before = file_contents(tmp_path)
    cases = [
        ([src], src, f'refusing to write into the input: --out-dir {src} '
         f'is the input folder {src}'),
        # A single file whose folder is the out dir.
        ([png], src, f'refusing to write around the input: --out-dir {src} '
         f'contains the input file {png}'),
        ([src], src / 'sub', f'--out-dir {src / "sub"} lies inside the '
         f'input folder {src}'),
        ([src / 'sub'], tmp_path, f'--out-dir {tmp_path} contains the input '
         f'folder {src / "sub"}'),
        ([src], tmp_path / 'link' / 'out', 'lies inside the input folder'),
        ([png, '--disc-csv', csv_path], csv_path.parent,
         f'contains the input file {csv_path}'),
        ([src], png, f'error: --out-dir {png} is an existing file, not a '
         'folder'),
    ]
    for inputs, out_dir, message in cases:
        status = infer_main(ZOOM_CONFIG, tmp_path / 'missing.pth', *inputs,
                            '--out-dir', out_dir)
        err = capsys.readouterr().err
        assert status == 2, (inputs, out_dir, err)
        assert message in err, err
    assert file_contents(tmp_path) == before


def test_infer_names_mirror_the_inputs_so_none_collide(tmp_path, capsys):
    """``a.dcm``, ``a.png`` and ``a_2.png`` in one folder, the same name in
    a subfolder and in another folder: five images, five JSON files, each
    of its own image (told apart by their sizes)."""
    ckpt = make_checkpoint(PLAIN_CONFIG, tmp_path / 'plain.pth')
    src = tmp_path / 'in'
    (src / 'sub').mkdir(parents=True)
    (tmp_path / 'other').mkdir()
    write_cr_dicom(src / 'a.dcm', radiograph(40, 50, 0).astype(np.uint16))
    shapes = {'in/a.dcm': (40, 50)}
    for i, rel in enumerate(['in/a.png', 'in/a_2.png', 'in/sub/a.png',
                             'other/a.png']):
        shapes[rel] = (30 + 4 * i, 60 - 4 * i)
        cv2.imwrite(str(tmp_path / rel), radiograph(*shapes[rel], i))
    out = tmp_path / 'out'
    # The folder and a file named alone; the folder's a.png named twice
    # (directly too) runs once.
    assert infer_main(PLAIN_CONFIG, ckpt, src, tmp_path / 'other' / 'a.png',
                      src / 'a.png', '--out-dir', out) == 0
    stdout = capsys.readouterr().out
    written = sorted(
        str(p.relative_to(out)) for p in out.rglob('*.json'))
    assert written == sorted(rel + '.json' for rel in shapes)
    for rel, shape in shapes.items():
        rec = check_record(out / (rel + '.json'), shape, 0)
        assert osp.samefile(rec['input'], tmp_path / rel)
        assert rec['overlay'] == osp.basename(rel) + '.overlay.png'
    assert '5 of 5 image(s) written' in stdout


def test_infer_volumes_of_the_same_name_in_two_folders(tmp_path, capsys):
    """SpineNet inputs: ``x/v.npy`` and ``y/v.npy`` give two JSON files
    (they once both wrote ``v.json``)."""
    from mmengine.runner import save_checkpoint
    spine_config = osp.join(ROOT, 'tests', 'data',
                            'tiny_spinenet_synthetic-spine.py')
    model = init_model(spine_config)
    ckpt = str(tmp_path / 'spine.pth')
    save_checkpoint(dict(state_dict=model.state_dict()), ckpt)
    rng = np.random.default_rng(0)
    volumes = {}
    for folder in ('x', 'y'):
        (tmp_path / folder).mkdir()
        volumes[folder] = rng.random((9, 112, 224), dtype=np.float32)
        np.save(tmp_path / folder / 'v.npy', volumes[folder])
    out = tmp_path / 'out'
    assert infer_main(spine_config, ckpt, tmp_path / 'x' / 'v.npy',
                      tmp_path / 'y' / 'v.npy', '--out-dir', out,
                      '--cfg-options', 'model.hotspot_cfg.num_aug=1') == 0
    assert '2 of 2 volume(s) written' in capsys.readouterr().out
    for folder in ('x', 'y'):
        with open(out / folder / 'v.npy.json') as f:
            rec = json.load(f)
        assert rec['input'] == str(tmp_path / folder / 'v.npy')
        assert rec['hotspots'] and all(
            osp.isfile(out / folder / p) for p in rec['hotspots'])
        assert rec['hotspots'][0].startswith('v.npy.')


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


def test_infer_amp_matches_float32_within_bfloat16_rounding(
        tmp_path, monkeypatch, capsys):
    """--amp (and --channels-last): the same files, float32 JSON, the
    probabilities those of float32 to bfloat16's rounding (the JSON keeps
    4 decimals, so they may also be equal)."""
    import torch

    from radplugins.utils import amp_inference, precision
    from tests.helpers import load_tool
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)
    torch.manual_seed(0)
    ckpt = make_checkpoint(ZOOM_CONFIG, tmp_path / 'zoom.pth')
    png = tmp_path / 'in' / 'hand.png'
    png.parent.mkdir()
    cv2.imwrite(str(png), radiograph(150, 110, 0))
    records, dtypes = {}, []

    @contextmanager
    def spy(model, *args, **kwargs):
        with amp_inference(model, *args, **kwargs) as dtype:
            dtypes.append(dtype)
            yield dtype

    for name, extra in (('float32', []),
                        ('amp', ['--amp', '--channels-last'])):
        tool = load_tool('infer.py')
        monkeypatch.setattr(tool, 'amp_inference', spy)
        out = tmp_path / name
        assert tool.main([ZOOM_CONFIG, ckpt, str(png), '--out-dir', str(out),
                          '--device', 'cpu', *extra]) == 0
        records[name] = check_record(out / 'hand.png.json', (150, 110), 1)
    # One image each: float32, then bfloat16.
    assert dtypes == [None, torch.bfloat16]
    amp, ref = records['amp'], records['float32']
    assert amp['probability'] == pytest.approx(ref['probability'], abs=0.05)
    for a, b in zip(amp['scale_probabilities'], ref['scale_probabilities']):
        assert a == pytest.approx(b, abs=0.05)
