"""tools/analysis_tools/flag_shortcut.py on a hand-made case."""
import json
import pickle

import numpy as np
import pytest

from tests.helpers import load_tool

TOOL = 'analysis_tools/flag_shortcut.py'


def record(label, flagged):
    flags = [dict(bbox=[0, 0, 4, 4])] if flagged else []
    return dict(split='valid', study_label=label, flags=flags)


def prediction(data_root, name, label, abnormal_probability):
    return dict(
        img_path=f'{data_root}/MURA-v1.1/valid/{name}',
        gt_label=np.array([label]),
        pred_score=np.array([1 - abnormal_probability, abnormal_probability],
                            dtype=np.float32))


@pytest.fixture
def case(tmp_path):
    # (name, true label, flagged, abnormal probability)
    rows = [
        ('n1.png', 0, True, 0.8),
        ('n2.png', 0, True, 0.6),
        ('n3.png', 0, True, 0.2),
        ('n4.png', 0, False, 0.1),
        ('n5.png', 0, False, 0.7),
        ('a1.png', 1, True, 0.9),
        ('a2.png', 1, False, 0.4),
        ('a3.png', 1, False, 0.3),
    ]
    data_root = str(tmp_path / 'data')
    truth = {f'MURA-v1.1/valid/{name}': record(label, flagged)
             for name, label, flagged, _ in rows}
    folder = tmp_path / 'data' / 'MURA-v1.1'
    folder.mkdir(parents=True)
    (folder / 'synthetic_ground_truth.json').write_text(
        json.dumps(dict(images=truth)))
    preds = [prediction(data_root, name, label, p)
             for name, label, _, p in rows]
    preds_path = tmp_path / 'preds.pkl'
    with open(preds_path, 'wb') as f:
        pickle.dump(preds, f)
    return data_root, str(preds_path), truth, preds


def test_groups_and_gaps_by_hand(case, capsys):
    data_root, preds_path, _, _ = case
    assert load_tool(TOOL).main([data_root, preds_path]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    groups = {(r['label'], r['flagged']): r for r in lines[:-1]}
    assert len(groups) == 4
    # normal & flagged: 0.8, 0.6 of 0.8/0.6/0.2 are >= 0.5
    assert groups[('normal', True)]['images'] == 3
    assert groups[('normal', True)]['predicted_abnormal'] == pytest.approx(
        2 / 3, abs=1e-4)
    assert groups[('normal', True)][
        'mean_abnormal_probability'] == pytest.approx(1.6 / 3, abs=1e-4)
    assert groups[('normal', False)]['predicted_abnormal'] == 0.5
    assert groups[('abnormal', True)]['predicted_abnormal'] == 1.0
    assert groups[('abnormal', False)]['predicted_abnormal'] == 0.0
    assert groups[('abnormal', False)][
        'mean_abnormal_probability'] == pytest.approx(0.35, abs=1e-4)
    gaps = lines[-1]['flag_gap']
    assert gaps['normal'] == pytest.approx(2 / 3 - 0.5, abs=1e-4)
    assert gaps['abnormal'] == 1.0
    # A stricter threshold: only 0.8 and 0.9 count.
    load_tool(TOOL).main([data_root, preds_path, '--threshold', '0.75'])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[-1]['flag_gap'] == pytest.approx(
        dict(normal=1 / 3, abnormal=1.0), abs=1e-4)


def test_a_group_without_images_has_no_gap(case):
    data_root, _, truth, preds = case
    kept = [p for p in preds if 'a1' not in p['img_path']]
    rows = load_tool(TOOL).shortcut_groups(truth, kept, data_root, 0.5)
    assert rows[-1]['flag_gap']['abnormal'] is None


def test_bad_predictions_are_named(case):
    data_root, _, truth, preds = case
    tool = load_tool(TOOL)
    stray = dict(preds[0], img_path=f'{data_root}/MURA-v1.1/valid/x.png')
    with pytest.raises(SystemExit, match='x.png is not in the ground truth'):
        tool.shortcut_groups(truth, [stray], data_root, 0.5)
    wrong = dict(preds[0], gt_label=np.array([1]))
    with pytest.raises(SystemExit, match='n1.png: predictions say label 1'):
        tool.shortcut_groups(truth, [wrong], data_root, 0.5)
    three = dict(preds[0], pred_score=np.ones(3) / 3)
    with pytest.raises(SystemExit, match=r'shape \(3,\)'):
        tool.shortcut_groups(truth, [three], data_root, 0.5)


def test_auroc_per_flag_group_by_hand(case):
    data_root, _, truth, preds = case
    last = load_tool(TOOL).shortcut_groups(truth, preds, data_root, 0.5)[-1]
    # flagged: abnormal 0.9 above all of 0.8, 0.6, 0.2 -> 3 of 3 pairs;
    # unflagged: abnormal 0.4, 0.3 above 0.1 but not 0.7 -> 2 of 4 pairs.
    assert last['auroc'] == dict(flagged=1.0, unflagged=0.5)
    only_normal = [p for p in preds if 'a1' not in p['img_path']]
    last = load_tool(TOOL).shortcut_groups(truth, only_normal, data_root,
                                           0.5)[-1]
    assert last['auroc']['flagged'] is None
