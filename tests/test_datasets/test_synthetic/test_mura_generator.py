import csv
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from radplugins.datasets.synthetic import (GROUND_TRUTH_FILE,
                                           SyntheticMuraConfig,
                                           generate_synthetic_mura,
                                           plan_dataset)

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def small(**kwargs):
    params = dict(
        train_studies=12,
        valid_studies=6,
        long_side_range=(96, 160),
        positive_fraction=0.5,
        seed=7)
    params.update(kwargs)
    return SyntheticMuraConfig(**params)


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic'))
    summary = generate_synthetic_mura(out, small(), workers=2)
    return out, summary


def read_rows(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def ground_truth(out):
    with open(osp.join(out, 'MURA-v1.1', GROUND_TRUTH_FILE)) as f:
        return json.load(f)


def test_layout_and_csvs_are_mura_v11(generated):
    out, summary = generated
    seen_patients = {}
    for split in ('train', 'valid'):
        images = read_rows(osp.join(out, 'MURA-v1.1',
                                    f'{split}_image_paths.csv'))
        studies = read_rows(osp.join(out, 'MURA-v1.1',
                                     f'{split}_labeled_studies.csv'))
        assert all(len(r) == 1 for r in images)
        assert all(len(r) == 2 for r in studies)
        assert not images[0][0].lower().startswith('path')  # header-less
        study_label = {}
        for path, label in studies:
            assert path.endswith('/') and path.startswith(
                f'MURA-v1.1/{split}/XR_')
            assert path not in study_label
            assert label == ('1' if path.endswith('_positive/') else '0')
            study_label[path] = label
        used = set()
        for (path, ) in images:
            assert osp.isfile(osp.join(out, path)), path
            study = path.rsplit('/', 1)[0] + '/'
            assert study in study_label
            used.add(study)
            patient = path.split('/')[3]
            assert seen_patients.setdefault(patient, split) == split
        assert used == set(study_label)
        assert summary[split]['images'] == len(images)
        assert summary[split]['studies'] == len(studies)
    # The raw files end with '\n' line endings only.
    raw = open(osp.join(out, 'MURA-v1.1', 'train_image_paths.csv'),
               'rb').read()
    assert b'\r' not in raw and raw.endswith(b'\n')


def test_mura_dataset_reads_it(generated):
    out, summary = generated
    ds = DATASETS.build(dict(type='MuraDataset', data_root=out,
                             split='valid'))
    assert len(ds) == summary['valid']['images']


def test_ground_truth_boxes_lie_inside_their_images(generated):
    out, _ = generated
    gt = ground_truth(out)
    assert gt['params']['seed'] == 7
    images = read_rows(osp.join(out, 'MURA-v1.1', 'train_image_paths.csv'))
    assert {p for (p, ) in images} <= set(gt['images'])
    n_objects = 0
    for path, rec in gt['images'].items():
        img = cv2.imread(osp.join(out, path), cv2.IMREAD_UNCHANGED)
        assert img.shape[:2] == (rec['height'], rec['width'])
        for obj in rec['abnormalities'] + rec['flags']:
            x1, y1, x2, y2 = obj['bbox']
            assert 0 <= x1 < x2 <= rec['width']
            assert 0 <= y1 < y2 <= rec['height']
            poly = np.array(obj['polygon'][0]).reshape(-1, 2)
            assert len(poly) >= 3
            assert np.all(poly[:, 0] >= x1 - 1e-6) and \
                np.all(poly[:, 0] <= x2 + 1e-6)
            assert obj['area'] > 0
            n_objects += 1
        if rec['study_label'] == 0:
            assert rec['abnormalities'] == []
            assert not rec['lesion_visible']
        for obj in rec['abnormalities']:
            assert obj['kind'] in ('implant', 'fracture')
    assert n_objects > 0


def test_implant_is_brighter_than_the_rest(tmp_path):
    out = str(tmp_path)
    cfg = small(positive_fraction=1.0, lesion_kinds={'implant': 1.0},
                flag_rate=0.0, valid_studies=0, train_studies=4,
                lesion_scale=0.6)
    generate_synthetic_mura(out, cfg, workers=1)
    gt = ground_truth(out)
    for path, rec in gt['images'].items():
        img = cv2.imread(osp.join(out, path), cv2.IMREAD_GRAYSCALE)
        if img.mean() > 127:  # an inverted archive image
            continue
        x1, y1, x2, y2 = [int(round(v)) for v in
                          rec['abnormalities'][0]['bbox']]
        inside = np.percentile(img[y1:y2, x1:x2], 95)
        mask = np.ones_like(img, bool)
        mask[y1:y2, x1:x2] = False
        assert inside > np.percentile(img[mask], 95), path


def file_digest(out):
    digest = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(out)):
        for name in sorted(files):
            digest.update(name.encode())
            digest.update(open(osp.join(dirpath, name), 'rb').read())
    return digest.hexdigest()


def test_deterministic_per_seed_whatever_the_workers(tmp_path, generated):
    out, _ = generated
    again = str(tmp_path / 'again')
    generate_synthetic_mura(again, small(), workers=1)
    assert file_digest(osp.join(again, 'MURA-v1.1')) == \
        file_digest(osp.join(out, 'MURA-v1.1'))
    other = str(tmp_path / 'other')
    generate_synthetic_mura(other, small(seed=8), workers=1)
    assert file_digest(osp.join(other, 'MURA-v1.1')) != \
        file_digest(osp.join(out, 'MURA-v1.1'))


def flag_stats(cfg):
    """Flag rate and corner share per label, over many planned images."""
    from radplugins.datasets.synthetic.mura_generator import _flag_plan
    stats = {0: [0, 0, 0], 1: [0, 0, 0]}
    for job in plan_dataset(cfg):
        rng = np.random.default_rng([cfg.seed, 1, job['index']])
        flag = _flag_plan(job, cfg, rng)
        entry = stats[job['label']]
        entry[0] += 1
        if flag is not None:
            entry[1] += 1
            cx, cy = flag['centre']
            entry[2] += (cx > 0.75 and cy < 0.2)
    return stats


def test_flag_label_correlation_knob():
    full = flag_stats(
        small(train_studies=300, valid_studies=0, flag_rate=0.5,
              flag_label_correlation=1.0))
    assert full[0][1] == 0  # no flag on any normal image
    assert full[1][1] == full[1][0]  # every abnormal image has one
    assert full[1][2] == full[1][1]  # all in the abnormal corner
    none = flag_stats(
        small(train_studies=300, valid_studies=0, flag_rate=0.5,
              flag_label_correlation=0.0))
    rates = [none[k][1] / none[k][0] for k in (0, 1)]
    # ~370 images per class at p=0.5: 6 standard errors apart is < 0.16.
    assert abs(rates[0] - 0.5) < 0.16 and abs(rates[1] - 0.5) < 0.16
    assert none[1][2] < 0.2 * none[1][1]


def test_valid_split_can_have_its_own_correlation(tmp_path):
    cfg = small(train_studies=40, valid_studies=40, flag_rate=0.5,
                flag_label_correlation=1.0,
                valid_flag_label_correlation=0.0)
    jobs = plan_dataset(cfg)
    assert {j['flag_correlation'] for j in jobs if j['split'] == 'train'} \
        == {1.0}
    assert {j['flag_correlation'] for j in jobs if j['split'] == 'valid'} \
        == {0.0}


def test_lesion_view_fraction():
    cfg = small(train_studies=80, valid_studies=0, positive_fraction=1.0,
                lesion_view_fraction=0.0, views_probs=(0, 0, 1.0))
    jobs = plan_dataset(cfg)
    by_study = {}
    for j in jobs:
        by_study.setdefault(j['study_path'], []).append(j['lesion_visible'])
    assert all(sum(v) == 1 for v in by_study.values())
    cfg = small(train_studies=80, valid_studies=0, positive_fraction=0.5,
                lesion_view_fraction=1.0)
    for j in plan_dataset(cfg):
        assert j['lesion_visible'] == bool(j['label'])


@pytest.mark.parametrize('mode,dtype,channels', [('gray', np.uint8, 1),
                                                 ('rgb', np.uint8, 3),
                                                 ('gray16', np.uint16, 1),
                                                 ('rgba', np.uint8, 4)])
def test_color_modes(tmp_path, mode, dtype, channels):
    out = str(tmp_path)
    generate_synthetic_mura(
        out,
        small(train_studies=2, valid_studies=0, color_mode_probs={mode: 1}),
        workers=1)
    (path, ), *_ = read_rows(osp.join(out, 'MURA-v1.1',
                                      'train_image_paths.csv'))
    img = cv2.imread(osp.join(out, path), cv2.IMREAD_UNCHANGED)
    assert img.dtype == dtype
    assert (img.shape[2] if img.ndim == 3 else 1) == channels


def test_refuses_to_overwrite(generated):
    out, _ = generated
    with pytest.raises(FileExistsError, match='MURA-v1.1 exists'):
        generate_synthetic_mura(out, small())


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match='flag_rate must be in'):
        generate_synthetic_mura('/nonexistent', small(flag_rate=1.5))
    with pytest.raises(ValueError, match="unknown body part 'knee'"):
        generate_synthetic_mura('/nonexistent', small(body_parts=('knee', )))


def test_command_line(tmp_path):
    proc = subprocess.run([
        sys.executable, 'tools/dataset_converters/make_synthetic_mura.py',
        '--out',
        str(tmp_path), '--train-studies', '3', '--valid-studies', '2',
        '--long-side-range', '80', '120', '--body-parts', 'XR_HAND',
        'XR_WRIST', '--lesion-kinds', '{"fracture": 1}', '--workers', '1'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'studies to' in proc.stdout
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary['train']['studies'] == 3
    assert set(summary['train']['per_part']) <= {'XR_HAND', 'XR_WRIST'}
    gt = ground_truth(str(tmp_path))
    assert gt['params']['lesion_kinds'] == {'fracture': 1}
