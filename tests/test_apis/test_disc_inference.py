"""Disc-volume inference: body boxes from a CSV, the test pipeline and the
data preprocessor applied as in tools/test.py."""
import csv
import os.path as osp
import re

import numpy as np
import pytest
import torch

from radplugins.apis import (body_boxes_of, build_disc_pipeline, disc_key,
                             disc_prediction_to_dict, inference_disc_volume,
                             init_model, read_body_boxes)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_spinenet_synthetic-spine.py')


@pytest.fixture(scope='module')
def spine_root(tmp_path_factory):
    from tests.helpers import write_synthetic_spine
    return write_synthetic_spine(
        str(tmp_path_factory.mktemp('spine')), num_patients=2)


def first_row(root):
    with open(osp.join(root, 'discs.csv'), newline='') as f:
        return next(csv.DictReader(f))


def test_read_body_boxes_keys_volumes_by_real_path(spine_root):
    boxes = read_body_boxes(osp.join(spine_root, 'discs.csv'))
    row = first_row(spine_root)
    path = osp.join(spine_root, row['volume'])
    upper, lower = boxes[disc_key(path)]
    assert upper == [float(v) for v in row['upper_body'].split()]
    assert lower == [float(v) for v in row['lower_body'].split()]
    # The same file reached through another spelling of its path.
    assert disc_key(osp.join(spine_root, 'volumes', '..', row['volume'])) \
        in boxes


def test_body_boxes_of_a_volume(spine_root, tmp_path):
    csv_path = osp.join(spine_root, 'discs.csv')
    boxes = read_body_boxes(csv_path)
    path = osp.join(spine_root, first_row(spine_root)['volume'])
    assert body_boxes_of(path, boxes, csv_path) == boxes[disc_key(path)]
    # No CSV: every volume is used as stored.
    assert body_boxes_of(path, {}) == (None, None)
    # A CSV that does not list the volume names itself.
    with pytest.raises(LookupError, match='not listed in .*discs.csv'):
        body_boxes_of(str(tmp_path / 'other.npy'), boxes, csv_path)


def test_read_body_boxes_errors_name_file_and_line(tmp_path):
    bad = tmp_path / 'bad.csv'
    bad.write_text('volume,upper_body,lower_body\n'
                   'a.npy,1 2 3 4,1 2 3 4\n'
                   'b.npy,5 6 1 8,1 2 3 4\n')
    with pytest.raises(ValueError, match=r'bad\.csv:3: bad vertebral-body '
                       r"box '5 6 1 8'"):
        read_body_boxes(str(bad))
    no_column = tmp_path / 'cols.csv'
    no_column.write_text('volume,upper_body\na.npy,1 2 3 4\n')
    with pytest.raises(ValueError, match=r"missing columns \['lower_body'\]"):
        read_body_boxes(str(no_column))
    with pytest.raises(FileNotFoundError, match='nothing.csv'):
        read_body_boxes(str(tmp_path / 'nothing.csv'))


def test_volume_is_normalised_and_preprocessed_as_in_testing(spine_root):
    row = first_row(spine_root)
    path = osp.join(spine_root, row['volume'])
    boxes = read_body_boxes(osp.join(spine_root, 'discs.csv'))[disc_key(path)]
    model = init_model(CONFIG)
    pipeline = build_disc_pipeline(model.cfg)
    sample, volume = inference_disc_volume(model, pipeline, path, boxes)

    # Independent reference: zero-pad to 9 slices (centred), then per slice
    # the median of both bodies' pixels -> 0.5, clipped to [0, 1].
    raw = np.load(path).astype(np.float32)
    before = (9 - raw.shape[0]) // 2
    raw = np.pad(raw, ((before, 9 - raw.shape[0] - before), (0, 0), (0, 0)))
    expected = np.zeros_like(raw)
    for s in range(9):
        pixels = np.concatenate([
            raw[s, int(b[1]):int(b[3]) + 1, int(b[0]):int(b[2]) + 1].ravel()
            for b in boxes
        ])
        median = np.median(pixels)
        if median > 0:
            expected[s] = np.clip(raw[s] * 0.5 / median, 0, 1)
    np.testing.assert_allclose(volume, expected, atol=1e-6)

    # The model saw the preprocessor's normalisation of that volume.
    mean = np.array(model.cfg.model.data_preprocessor.mean)[:, None, None]
    std = np.array(model.cfg.model.data_preprocessor.std)[:, None, None]
    x = torch.from_numpy(((volume - mean) / std).astype(np.float32))[None]
    with torch.no_grad():
        scores = model.predict_scores(x)
    for task, score in zip(model.tasks, scores):
        torch.testing.assert_close(sample.task_scores[task], score[0])

    # Without boxes the volume is used as stored (only padded).
    _, stored = inference_disc_volume(model, pipeline, path)
    np.testing.assert_array_equal(stored, raw)


def test_prediction_dict_writes_grades_as_the_csv_does():
    from mmpretrain.structures import DataSample
    sample = DataSample()
    scores = dict(
        pfirrmann=[0.1, 0.2, 0.1, 0.1, 0.5],
        narrowing=[0.7, 0.1, 0.1, 0.1],
        upper_endplate=[0.25, 0.75],
        lower_endplate=[0.6, 0.4],
        upper_marrow=[0.5, 0.5],
        lower_marrow=[0.12345, 0.87655])
    sample.set_field({t: torch.tensor(p) for t, p in scores.items()},
                     'task_scores')
    sample.set_field(torch.tensor([4, 0, 1, 0, 0, 1]), 'task_preds')
    record = disc_prediction_to_dict(sample, tuple(scores))
    # Written by hand from the dataset's convention (discs.csv: Pfirrmann
    # 1-5, narrowing 0-3, the others 0/1).
    assert record == {
        'predictions': {
            'pfirrmann': 5, 'narrowing': 0, 'upper_endplate': 1,
            'lower_endplate': 0, 'upper_marrow': 0, 'lower_marrow': 1
        },
        'probabilities': {
            'pfirrmann': {'1': 0.1, '2': 0.2, '3': 0.1, '4': 0.1, '5': 0.5},
            'narrowing': {'0': 0.7, '1': 0.1, '2': 0.1, '3': 0.1},
            'upper_endplate': {'0': 0.25, '1': 0.75},
            'lower_endplate': {'0': 0.6, '1': 0.4},
            'upper_marrow': {'0': 0.5, '1': 0.5},
            'lower_marrow': {'0': 0.1235, '1': 0.8766}
        }
    }
    # What a result says is what a user writes in discs.csv: the dataset
    # reads these grades back as the model's class indices.
    from radplugins.datasets import SpineDiscDataset
    row = {t: str(g) for t, g in record['predictions'].items()}
    np.testing.assert_array_equal(
        SpineDiscDataset._parse_labels(row, 'discs.csv:2'),
        sample.task_preds.numpy())
    # A NaN probability is no result (nor valid JSON).
    sample.task_scores['narrowing'] = torch.tensor(
        [float('nan'), 0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match=r'non-finite narrowing '
                       r'probabilities \[nan'):
        disc_prediction_to_dict(sample, tuple(scores))


def test_non_finite_volume_is_an_error_naming_the_file(tmp_path):
    model = init_model(CONFIG)
    pipeline = build_disc_pipeline(model.cfg)
    volume = np.zeros((9, 112, 224), np.float32)
    volume[4, 5, 6] = np.inf
    np.save(tmp_path / 'inf.npy', volume)
    path = str(tmp_path / 'inf.npy')
    with pytest.raises(ValueError, match=re.escape(
            f'{path}: disc volume has 1 non-finite values (NaN or inf), '
            'the first at index (4, 5, 6)')):
        inference_disc_volume(model, pipeline, path)


def test_read_body_boxes_ignores_a_byte_order_mark(tmp_path):
    bom = tmp_path / 'bom.csv'
    bom.write_text('volume,upper_body,lower_body\na.npy,1 2 3 4,1 5 3 8\n',
                   encoding='utf-8-sig')
    boxes = read_body_boxes(str(bom))
    assert boxes[disc_key(str(tmp_path / 'a.npy'))] == (
        [1.0, 2.0, 3.0, 4.0], [1.0, 5.0, 3.0, 8.0])
