"""SpineNet end to end through tools/train.py and tools/test.py."""
import glob
import json
import os.path as osp
import sys

import numpy as np
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
    # tools/infer.py on volume input: JSON and one strip per binary task,
    # the volume normalised with its body boxes from the CSV and passed
    # through the data preprocessor, as tools/test.py does.
    volume = sorted(glob.glob(osp.join(spine_root, 'volumes', '*.npy')))[0]
    csv_path = osp.join(spine_root, 'discs.csv')
    checkpoint = str(work_dir / 'epoch_2.pth')
    out_dir = tmp_path / 'infer'
    run([
        sys.executable, 'tools/infer.py', CONFIG, checkpoint, volume,
        '--disc-csv', csv_path, '--out-dir',
        str(out_dir), '--cfg-options', 'model.hotspot_cfg.num_aug=2'
    ])
    name = osp.basename(volume)  # outputs keep the extension
    with open(out_dir / f'{name}.json') as f:
        record = json.load(f)
    assert record['intensity_normalised'] is True
    assert set(record['predictions']) >= {'pfirrmann', 'lower_marrow'}
    assert len(record['probabilities']['pfirrmann']) == 5
    assert len(record['hotspots']) == 4
    assert all(osp.isfile(out_dir / p) for p in record['hotspots'])
    from radplugins.apis import (build_disc_pipeline, disc_key,
                                 inference_disc_volume, init_model,
                                 read_body_boxes)
    model = init_model(CONFIG, checkpoint)
    sample, _ = inference_disc_volume(
        model, build_disc_pipeline(model.cfg), volume,
        read_body_boxes(csv_path)[disc_key(volume)])
    for i, (task, probs) in enumerate(record['probabilities'].items()):
        # Keyed by the grades of discs.csv: Pfirrmann 1-5, others from 0.
        first = 1 if task == 'pfirrmann' else 0
        assert list(probs) == [str(first + c) for c in range(len(probs))]
        np.testing.assert_allclose(list(probs.values()),
                                   sample.task_scores[task].numpy(),
                                   atol=1e-4)
        assert record['predictions'][task] == int(
            sample.task_preds[i]) + first
    # A volume the CSV does not list is reported and skipped (exit 1).
    stray = tmp_path / 'stray.npy'
    np.save(stray, np.load(volume))
    proc = run([
        sys.executable, 'tools/infer.py', CONFIG, checkpoint, str(stray),
        '--disc-csv', csv_path, '--out-dir',
        str(tmp_path / 'stray_out')
    ], check=False)
    assert proc.returncode == 1
    assert f'{stray}: skipped' in proc.stderr
    assert 'not listed in' in proc.stderr
    # tools/visualization/vis_hotspots.py: one strip per requested task.
    run([
        sys.executable, 'tools/visualization/vis_hotspots.py', CONFIG,
        checkpoint, volume, '--disc-csv', csv_path, '--num-aug', '2',
        '--tasks', 'lower_marrow', '--out',
        str(tmp_path / 'vis')
    ])
    assert osp.isfile(tmp_path / 'vis' / f'{name}.lower_marrow.png')


def test_test_py_stops_on_a_nan_volume_naming_file_and_row(spine_root,
                                                          tmp_path):
    """A NaN volume is an error when loaded, not a scored sample."""
    import csv
    import shutil

    from mmengine.runner import save_checkpoint

    from radplugins.apis import init_model
    checkpoint = str(tmp_path / 'init.pth')
    save_checkpoint(dict(state_dict=init_model(CONFIG).state_dict()),
                    checkpoint)
    root = str(tmp_path / 'spine')
    shutil.copytree(spine_root, root)
    with open(osp.join(root, 'discs.csv'), newline='') as f:
        line, row = next((i + 2, r)
                         for i, r in enumerate(csv.DictReader(f))
                         if r['split'] == 'test')
    volume_path = osp.join(root, row['volume'])
    volume = np.load(volume_path)
    volume[0, 0, 0] = np.nan
    np.save(volume_path, volume)
    proc = run([
        sys.executable, 'tools/test.py', CONFIG, checkpoint, '--work-dir',
        str(tmp_path / 'test'), '--data-root', root
    ], check=False)
    assert proc.returncode != 0
    assert (f'ValueError: {volume_path}: disc volume has 1 non-finite '
            'values (NaN or inf), the first at index (0, 0, 0) '
            f"({osp.join(root, 'discs.csv')}:{line})") in proc.stderr
