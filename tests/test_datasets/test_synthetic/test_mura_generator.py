import csv
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
from collections import defaultdict

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from radplugins.datasets.synthetic import (FLAG_CORNERS, GROUND_TRUTH_FILE,
                                           SyntheticMuraConfig,
                                           flag_probability,
                                           generate_synthetic_mura,
                                           plan_dataset)
from radplugins.datasets.synthetic.mura_generator import (_flag_plan,
                                                          flag_rng,
                                                          visible_change)
from radplugins.datasets.synthetic.radiograph_drawing import (
    Pose, body_part_bones, clip_outline, draw_flag, draw_fracture,
    draw_implant, lesion_bone_indices, mask_outline)
from tests.helpers import load_tool

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


def studies_of(gt):
    """``study folder -> [image records]`` from a ground-truth dict."""
    studies = defaultdict(list)
    for path, rec in gt['images'].items():
        studies[path.rsplit('/', 1)[0] + '/'].append(rec)
    return studies


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
            assert path not in study_label  # each study exactly once
            assert label == ('1' if path.endswith('_positive/') else '0')
            study_label[path] = label
        used = set()
        patients = []
        for (path, ) in images:
            assert osp.isfile(osp.join(out, path)), path
            parts = path.split('/')
            assert parts[2] in ('XR_ELBOW', 'XR_FINGER', 'XR_FOREARM',
                                'XR_HAND', 'XR_HUMERUS', 'XR_SHOULDER',
                                'XR_WRIST')
            assert len(parts[3]) == len('patient00000') and \
                parts[3][len('patient'):].isdigit(), parts[3]
            assert parts[4].startswith('study') and \
                parts[5].startswith('image') and parts[5].endswith('.png')
            study = path.rsplit('/', 1)[0] + '/'
            assert study in study_label
            used.add(study)
            # A patient never appears in both splits.
            assert seen_patients.setdefault(parts[3], split) == split
            patients.append(int(parts[3][len('patient'):]))
        assert used == set(study_label)
        assert summary[split]['images'] == len(images)
        assert summary[split]['studies'] == len(studies)
        # Views count from 1 without holes.
        views = defaultdict(list)
        for (path, ) in images:
            study, name = path.rsplit('/', 1)
            views[study].append(int(name[len('image'):-len('.png')]))
        assert all(sorted(v) == list(range(1, len(v) + 1))
                   for v in views.values())
        if split == 'train':
            last_train = max(patients)
        else:
            assert min(patients) > last_train  # valid ids come after train
    # The raw files end with '\n' line endings only.
    for name in ('train_image_paths.csv', 'valid_labeled_studies.csv'):
        raw = open(osp.join(out, 'MURA-v1.1', name), 'rb').read()
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
    listed = set()
    for split in ('train', 'valid'):
        listed |= {p for (p, ) in read_rows(
            osp.join(out, 'MURA-v1.1', f'{split}_image_paths.csv'))}
    assert listed == set(gt['images'])  # keyed exactly as in the CSVs
    n_objects = 0
    for path, rec in gt['images'].items():
        img = cv2.imread(osp.join(out, path), cv2.IMREAD_UNCHANGED)
        assert img.shape[:2] == (rec['height'], rec['width'])
        assert rec['split'] == path.split('/')[1]
        assert rec['body_part'] == path.split('/')[2]
        assert rec['study_label'] == int('_positive/' in path)
        for obj in rec['abnormalities'] + rec['flags']:
            x1, y1, x2, y2 = obj['bbox']
            assert 0 <= x1 < x2 <= rec['width']
            assert 0 <= y1 < y2 <= rec['height']
            poly = np.array(obj['polygon'][0]).reshape(-1, 2)
            assert len(poly) >= 3
            assert np.allclose(poly.min(0), [x1, y1], atol=0.01)
            assert np.allclose(poly.max(0), [x2, y2], atol=0.01)
            assert 0 < obj['area'] <= (x2 - x1) * (y2 - y1) + 0.01
            n_objects += 1
        for obj in rec['abnormalities']:
            assert obj['kind'] in ('implant', 'fracture')
        for obj in rec['flags']:
            assert obj['text'].isalpha() and 1 <= len(obj['text']) <= 3
    assert n_objects > 0


def test_flag_ground_truth_lies_within_the_marker_box(generated):
    out, _ = generated
    n_flags = 0
    for path, rec in ground_truth(out)['images'].items():
        for obj in rec['flags']:
            # What the marker visibly changed lies in its rotated box, give
            # or take the detector blur's reach (sigma < 0.2 px at these
            # sizes) and the box corners' rounding.
            x1, y1, x2, y2 = obj['bbox']
            px1, py1, px2, py2 = obj['plate_bbox']
            assert px1 - 2 <= x1 < x2 <= px2 + 2, path
            assert py1 - 2 <= y1 < y2 <= py2 + 2, path
            n_flags += 1
    assert n_flags > 0


def test_visible_change_counts_noise_levels():
    # noise_level 1 at level 0.25: sd = 0.01 + 0.03 * sqrt(0.25) = 0.025,
    # plus one 8-bit step: a change must exceed 0.025 + 1/255 = 0.02892.
    before = np.full((1, 4), 0.25, np.float32)
    after = before + np.array([[0.0, 0.02, -0.03, 0.06]], np.float32)
    # Means 0.25, 0.26, 0.235, 0.28: thresholds 0.02892, 0.02922, 0.02846,
    # 0.02980 (hand-computed from the formula above).
    np.testing.assert_array_equal(
        visible_change(before, after, 1.0), [[False, False, True, True]])
    # Noise-free: any change a saved 8-bit image shows counts.
    after = before + np.array([[0.0, 0.003, 0.005, -0.005]], np.float32)
    np.testing.assert_array_equal(
        visible_change(before, after, 0.0), [[False, False, True, True]])


def test_mask_outline_covers_the_pixel_squares():
    assert mask_outline(np.zeros((3, 3), bool)) is None
    mask = np.zeros((5, 6), bool)
    mask[2, 3] = True
    outline = mask_outline(mask)
    assert cv2.contourArea(outline.astype(np.float32)) == 1.0
    np.testing.assert_array_equal(outline.min(0), [3, 2])
    np.testing.assert_array_equal(outline.max(0), [4, 3])
    # An L of three pixels: its hull is the 2 x 2 square less half a pixel.
    mask[:] = False
    mask[1, 1] = mask[2, 1] = mask[2, 2] = True
    outline = mask_outline(mask)
    assert cv2.contourArea(outline.astype(np.float32)) == 3.5
    np.testing.assert_array_equal(outline.min(0), [1, 1])
    np.testing.assert_array_equal(outline.max(0), [3, 3])


def test_lesions_follow_the_labels(generated):
    out, _ = generated
    studies = studies_of(ground_truth(out))
    n_positive = 0
    for study, recs in studies.items():
        if study.endswith('_negative/'):
            assert all(r['abnormalities'] == [] and not r['lesion_visible']
                       for r in recs), study
        else:
            n_positive += 1
            # lesion_view_fraction defaults to 1: every view shows it.
            assert all(r['lesion_visible'] and len(r['abnormalities']) == 1
                       for r in recs), study
            assert len({r['abnormalities'][0]['kind'] for r in recs}) == 1
    assert n_positive > 0


def test_lesion_view_fraction(tmp_path):
    out = str(tmp_path)
    generate_synthetic_mura(
        out,
        small(train_studies=8, valid_studies=0, positive_fraction=0.7,
              lesion_view_fraction=0.0, views_probs=(0, 0, 0.5, 0.5)),
        workers=1)
    n_positive = 0
    for study, recs in studies_of(ground_truth(out)).items():
        visible = [r['lesion_visible'] for r in recs]
        assert all(r['lesion_visible'] == bool(r['abnormalities'])
                   for r in recs)
        if study.endswith('_positive/'):
            n_positive += 1
            assert sum(visible) == 1, study  # the one view always shown
        else:
            assert sum(visible) == 0, study
    assert n_positive > 0
    # In between, round(fraction x views) views show it.
    cfg = small(train_studies=60, valid_studies=0, positive_fraction=1.0,
                lesion_view_fraction=0.5, views_probs=(0, 0, 0, 1.0))
    counts = defaultdict(int)
    for job in plan_dataset(cfg):
        counts[job['study_path']] += job['lesion_visible']
    assert set(counts.values()) == {2}


def test_implant_is_brighter_than_the_rest(tmp_path):
    out = str(tmp_path)
    cfg = small(positive_fraction=1.0, lesion_kinds={'implant': 1.0},
                flag_rate=0.0, valid_studies=0, train_studies=4,
                lesion_scale=0.2, invert_prob=0.0)
    generate_synthetic_mura(out, cfg, workers=1)
    gt = ground_truth(out)
    assert len(gt['images']) >= 4
    for path, rec in gt['images'].items():
        img = cv2.imread(osp.join(out, path), cv2.IMREAD_GRAYSCALE)
        x1, y1, x2, y2 = [int(round(v)) for v in
                          rec['abnormalities'][0]['bbox']]
        inside = np.percentile(img[y1:y2, x1:x2], 95)
        mask = np.ones_like(img, bool)
        mask[y1:y2, x1:x2] = False
        assert inside > np.percentile(img[mask], 99), path


def drawn_outside(before, after, outline):
    """Pixels the drawing changed outside the (1-px dilated) polygon."""
    mask = np.zeros(before.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    changed = np.abs(after - before) > 1e-3
    return int((changed & (mask == 0)).sum()), int(changed.sum())


@pytest.mark.parametrize('part', ['XR_FOREARM', 'XR_HAND', 'XR_SHOULDER'])
@pytest.mark.parametrize('size', [8.0, 60.0, 400.0])
def test_lesion_and_flag_polygons_cover_what_is_drawn(part, size):
    # The polygons become COCO masks: a plate's must cover its screws.
    rng = np.random.default_rng(3)
    bones = body_part_bones(part, rng)
    pose = Pose(300, 400, 0.3, 0.9, (0, 0), False)
    for index in lesion_bone_indices(bones):
        bone = bones[index]
        before = np.full((400, 300), 0.2, np.float32)
        after = before.copy()
        outline = draw_implant(after, bone, pose, 0.5, size, 2.0, rng)
        outside, changed = drawn_outside(before, after, outline)
        assert changed > 0 and outside == 0, (part, index)

        after = before.copy()
        soft = np.zeros_like(before)
        outline = draw_fracture(after, soft, bone, pose, 0.4, size, False,
                                rng)
        outside, changed = drawn_outside(before, after, outline)
        assert changed > 0 and outside == 0, (part, index)
    after = before.copy()
    corners = draw_flag(after, 'LR', (150, 200), size / 4 + 8, 30.0, 1.0,
                        1.0, rng)
    outside, changed = drawn_outside(before, after, corners)
    assert changed > 0 and outside == 0


def test_clip_outline_clips_to_the_image():
    region = clip_outline(
        np.array([[-10, -10], [50, -10], [50, 20], [-10, 20]], float), 40,
        30)
    assert region['bbox'] == [0, 0, 40, 20]
    assert region['area'] == pytest.approx(800)
    assert clip_outline(np.array([[50, 50], [60, 50], [60, 60]], float), 40,
                        30) is None


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
    assert ground_truth(again) == ground_truth(out)
    other = str(tmp_path / 'other')
    generate_synthetic_mura(other, small(seed=8), workers=1)
    assert file_digest(osp.join(other, 'MURA-v1.1')) != \
        file_digest(osp.join(out, 'MURA-v1.1'))
    # The recorded parameters regenerate the set.
    assert SyntheticMuraConfig.from_dict(ground_truth(out)['params']) == \
        small()


def flag_stats(cfg):
    """Per label: images, flagged images, flags in the abnormal corner, and
    the summed flag probabilities, over the generator's own decisions."""
    stats = {0: [0, 0, 0, 0.0], 1: [0, 0, 0, 0.0]}
    corner = FLAG_CORNERS[1]
    for job in plan_dataset(cfg):
        flag = _flag_plan(job, cfg, flag_rng(cfg.seed, job['index']))
        entry = stats[job['label']]
        entry[0] += 1
        entry[3] += flag_probability(job['label'], job['flag_correlation'],
                                     cfg.flag_rate)
        if flag is not None:
            entry[1] += 1
            cx, cy = flag['centre']
            entry[2] += abs(cx - corner[0]) <= 0.06 and \
                abs(cy - corner[1]) <= 0.06
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
    # The probabilities used are equal per image ...
    assert none[0][3] / none[0][0] == pytest.approx(0.5)
    assert none[1][3] / none[1][0] == pytest.approx(0.5)
    # ... and the draws follow them: ~370 images per class at p=0.5, the
    # bound is over 6 standard errors (and the seed is fixed).
    rates = [none[k][1] / none[k][0] for k in (0, 1)]
    assert abs(rates[0] - 0.5) < 0.16 and abs(rates[1] - 0.5) < 0.16
    assert none[1][2] < 0.2 * none[1][1]  # no corner preference
    half = flag_stats(
        small(train_studies=300, valid_studies=0, flag_rate=0.5,
              flag_label_correlation=0.5))
    assert half[1][3] / half[1][0] == pytest.approx(0.75)
    assert half[0][3] / half[0][0] == pytest.approx(0.25)


def test_flag_correlation_in_the_rendered_images(tmp_path):
    out = str(tmp_path)
    generate_synthetic_mura(
        out,
        small(train_studies=10, valid_studies=10, flag_rate=0.5,
              flag_label_correlation=1.0, valid_flag_label_correlation=0.0,
              views_probs=(1, )),
        workers=1)
    gt = ground_truth(out)
    assert gt['params']['valid_flag_label_correlation'] == 0.0
    n = defaultdict(int)
    for path, rec in gt['images'].items():
        key = (rec['split'], rec['study_label'], bool(rec['flags']))
        n[key] += 1
        if rec['split'] == 'train' and rec['flags']:
            x1, y1, x2, y2 = rec['flags'][0]['bbox']
            assert (x1 + x2) / 2 > 0.5 * rec['width']  # the right ...
            assert (y1 + y2) / 2 < 0.5 * rec['height']  # ... top corner
    assert n[('train', 0, True)] == 0 and n[('train', 1, False)] == 0
    assert n[('train', 1, True)] > 0
    # Uncorrelated valid split: normal images carry flags too.
    assert n[('valid', 0, True)] > 0


def test_valid_split_can_have_its_own_correlation():
    cfg = small(train_studies=40, valid_studies=40, flag_rate=0.5,
                flag_label_correlation=1.0,
                valid_flag_label_correlation=0.0)
    jobs = plan_dataset(cfg)
    assert {j['flag_correlation'] for j in jobs if j['split'] == 'train'} \
        == {1.0}
    assert {j['flag_correlation'] for j in jobs if j['split'] == 'valid'} \
        == {0.0}
    cfg = small(flag_label_correlation=0.7)
    assert {j['flag_correlation'] for j in plan_dataset(cfg)} == {0.7}


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
    rows = read_rows(osp.join(out, 'MURA-v1.1', 'train_image_paths.csv'))
    for (path, ) in rows:
        img = cv2.imread(osp.join(out, path), cv2.IMREAD_UNCHANGED)
        assert img.dtype == dtype
        assert (img.shape[2] if img.ndim == 3 else 1) == channels
        if channels >= 3:  # grayscale content in every colour channel
            assert np.array_equal(img[..., 0], img[..., 2])
        if channels == 4:
            assert (img[..., 3] == 255).all()
        if dtype == np.uint16:
            assert img.max() > 255  # the 16-bit range is used


def test_refuses_to_overwrite(generated, tmp_path):
    out, _ = generated
    with pytest.raises(FileExistsError,
                       match=r'.*MURA-v1\.1 exists and is not empty'):
        generate_synthetic_mura(out, small())
    # An empty MURA-v1.1/ is fine, and overwrite=True replaces a previous
    # synthetic set without leaving its images behind.
    fresh = str(tmp_path / 'fresh')
    os.makedirs(osp.join(fresh, 'MURA-v1.1'))
    generate_synthetic_mura(fresh, small(train_studies=6, valid_studies=3),
                            workers=1)
    cfg = small(train_studies=1, valid_studies=1)
    generate_synthetic_mura(fresh, cfg, workers=1, overwrite=True)
    listed = {p for split in ('train', 'valid') for (p, ) in read_rows(
        osp.join(fresh, 'MURA-v1.1', f'{split}_image_paths.csv'))}
    on_disk = {
        osp.relpath(osp.join(d, n), fresh).replace(os.sep, '/')
        for d, _, names in os.walk(fresh) for n in names
        if n.endswith('.png')
    }
    assert on_disk == listed and len(listed) >= 2
    assert len(read_rows(osp.join(fresh, 'MURA-v1.1',
                                  'valid_labeled_studies.csv'))) == 1


def test_config_is_normalised_on_a_copy(tmp_path):
    cfg = small(train_studies=2, valid_studies=1,
                body_parts=('wrist', 'Hand'))
    generate_synthetic_mura(str(tmp_path), cfg, workers=1)
    assert cfg.body_parts == ('wrist', 'Hand')  # the caller's object
    gt = ground_truth(str(tmp_path))
    assert gt['params']['body_parts'] == ['XR_WRIST', 'XR_HAND']
    assert {r['body_part'] for r in gt['images'].values()} <= {
        'XR_WRIST', 'XR_HAND'
    }


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match='flag_rate must be in .* 1.5'):
        generate_synthetic_mura('/nonexistent', small(flag_rate=1.5))
    with pytest.raises(ValueError, match="unknown body part 'knee'"):
        generate_synthetic_mura('/nonexistent', small(body_parts=('knee', )))
    with pytest.raises(ValueError, match='lesion_kinds'):
        generate_synthetic_mura('/nonexistent',
                                small(lesion_kinds={'tumour': 1}))
    with pytest.raises(ValueError, match="color_mode_probs.*'cmyk'"):
        generate_synthetic_mura('/nonexistent',
                                small(color_mode_probs={'cmyk': 1}))
    with pytest.raises(ValueError, match='unknown SyntheticMuraConfig'):
        SyntheticMuraConfig.from_dict(dict(n_images=3))


def test_command_line(tmp_path):
    proc = subprocess.run([
        sys.executable, 'tools/dataset_converters/make_synthetic_mura.py',
        '--out',
        str(tmp_path), '--train-studies', '3', '--valid-studies', '2',
        '--long-side-range', '80', '120', '--body-parts', 'XR_HAND',
        'XR_WRIST', '--lesion-kinds', '{"fracture": 1}', '--workers', '1',
        '--seed', '4'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(
        rf'wrote \d+ images in 5 studies to {re.escape(str(tmp_path))} '
        r'in [\d.]+ s', lines[0]), lines[0]
    gt = ground_truth(str(tmp_path))
    assert gt['params']['lesion_kinds'] == {'fracture': 1}
    assert gt['params']['seed'] == 4
    assert gt['params']['long_side_range'] == [80, 120]
    assert {r['body_part'] for r in gt['images'].values()} <= {
        'XR_HAND', 'XR_WRIST'
    }
    assert {a['kind'] for r in gt['images'].values()
            for a in r['abnormalities']} <= {'fracture'}


def test_command_line_json_summary(tmp_path, monkeypatch, capsys):
    tool = load_tool('dataset_converters/make_synthetic_mura.py')
    monkeypatch.setattr(sys, 'argv', [
        'make_synthetic_mura.py', '--out',
        str(tmp_path), '--train-studies', '4', '--valid-studies', '3',
        '--long-side-range', '64', '96', '--workers', '1', '--json',
        '--valid-flag-label-correlation', '0.25'
    ])
    tool.main()
    summary = json.loads(capsys.readouterr().out)
    assert summary['train']['studies'] == 4
    assert summary['valid']['studies'] == 3
    assert summary['seconds'] >= 0
    per_part = summary['valid']['per_part']
    assert sum(v['positive'] + v['negative']
               for v in per_part.values()) == 3
    gt = ground_truth(str(tmp_path))
    assert gt['params']['valid_flag_label_correlation'] == 0.25
    assert sum(r['split'] == 'valid'
               for r in gt['images'].values()) == summary['valid']['images']


def test_worker_pool_survives_a_parent_that_used_thread_pools(tmp_path):
    """A forked pool hung once OpenCV's and torch's thread pools had run
    in the parent (as in a test session); the generator must not."""
    code = (
        'import cv2, numpy as np, torch\n'
        'cv2.setNumThreads(2)\n'
        'img = np.random.rand(2000, 2000).astype(np.float32)\n'
        'cv2.resize(img, (300, 300), interpolation=cv2.INTER_AREA)\n'
        'cv2.GaussianBlur(img, (0, 0), 3)\n'
        'torch.randn(512, 512) @ torch.randn(512, 512)\n'
        'from radplugins.datasets.synthetic import (SyntheticMuraConfig,\n'
        '    generate_synthetic_mura)\n'
        'cfg = SyntheticMuraConfig(train_studies=6, valid_studies=2,\n'
        '    long_side_range=(96, 128), seed=3)\n'
        f'generate_synthetic_mura({str(tmp_path)!r}, cfg, workers=2)\n'
        "print('done')\n")
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith('done')


def test_small_lesion_1000_preset_only_adds_training_studies():
    """The larger small-lesion set must keep the small-lesion set's
    lesions, image sizes and validation split size: only the number of
    training studies may differ, so results on it cannot be flattered by
    easier data."""
    presets = load_tool('dataset_converters/make_synthetic_mura.py').PRESETS
    small, large = presets['small-lesion'], presets['small-lesion-1000']
    assert large['train_studies'] == 1000
    assert small['train_studies'] == 200
    assert {k: v for k, v in large.items() if k != 'train_studies'} == \
        {k: v for k, v in small.items() if k != 'train_studies'}
