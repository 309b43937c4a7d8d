import json
import pickle

import numpy as np
import pytest

from tests.helpers import load_tool


def pred(prob, label, **meta):
    return dict(pred_score=np.array([1 - prob, prob]), gt_label=label,
                img_path=f'img{prob}.jpg', **meta)


def test_scores_per_group_against_hand_counts(tmp_path, capsys):
    preds = [
        # No implant: positives 0.9 and 0.4, negatives 0.6, 0.2, 0.1.
        pred(0.9, 1, hardware=0), pred(0.4, 1, hardware=0),
        pred(0.6, 0, hardware=0), pred(0.2, 0, hardware=0),
        pred(0.1, 0, hardware=0),
        # Implants: both positive, high scores.
        pred(0.95, 1, hardware=1), pred(0.8, 1, hardware=1),
    ]
    path = tmp_path / 'preds.pkl'
    with open(path, 'wb') as f:
        pickle.dump(preds, f)
    tool = load_tool('analysis_tools/subgroup_scores.py')
    assert tool.main([str(path), '--by', 'hardware']) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.split('\n')
            if line]
    assert [r['group'] for r in rows] == ['all', 'hardware=0', 'hardware=1']
    everything, plain, implants = rows
    # All: 4 positives x 3 negatives = 12 pairs; only (0.4, 0.6) is
    # ranked wrong: AUROC 11/12.
    assert everything['auroc'] == pytest.approx(11 / 12, abs=1e-4)
    assert (everything['images'], everything['positives']) == (7, 4)
    # Without implants: 2 x 3 pairs, (0.4, 0.6) wrong: 5/6.
    assert plain['auroc'] == pytest.approx(5 / 6, abs=1e-4)
    # > 0.5 is positive: positives 0.9 yes, 0.4 no; negatives 0.6 wrong.
    assert plain['sensitivity'] == 0.5
    assert plain['specificity'] == pytest.approx(2 / 3, abs=1e-4)
    assert implants['auroc'] is None and implants['specificity'] is None
    assert implants['sensitivity'] == 1.0

    assert tool.main([str(path), '--exclude', 'hardware=1']) == 0
    only = json.loads(capsys.readouterr().out)
    assert only['excluded'] == ['hardware=1']
    assert only['auroc'] == pytest.approx(5 / 6, abs=1e-4)
    with pytest.raises(SystemExit, match=r"no 'view'; pack it"):
        tool.main([str(path), '--by', 'view'])
    with pytest.raises(SystemExit, match='expected KEY=VALUE'):
        tool.main([str(path), '--exclude', 'hardware'])
