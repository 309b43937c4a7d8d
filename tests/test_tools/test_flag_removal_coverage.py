"""tools/analysis_tools/flag_removal_coverage.py on a hand-made case."""
import json

import pytest

from tests.helpers import load_tool

TOOL = 'analysis_tools/flag_removal_coverage.py'


def image(split, flags):
    return dict(width=10, height=10, split=split,
                flags=[dict(bbox=b) for b in flags])


@pytest.fixture
def case(tmp_path):
    truth = {
        'a.png': image('train', [[0, 0, 4, 4]]),
        'b.png': image('train', [[2, 2, 6, 6]]),
        'c.png': image('valid', []),
    }
    report = {
        # the flag, plus 4 px that are no flag
        'a.png': dict(flags=[dict(bbox=[0, 0, 4, 4]),
                             dict(bbox=[6, 6, 8, 8])]),
        # half of the flag (8 of 16 px)
        'b.png': dict(flags=[dict(bbox=[2, 2, 4, 6])]),
        'c.png': dict(flags=[]),
    }
    folder = tmp_path / 'data' / 'MURA-v1.1'
    folder.mkdir(parents=True)
    (folder / 'synthetic_ground_truth.json').write_text(
        json.dumps(dict(images=truth)))
    report_path = tmp_path / 'removed_flags.json'
    report_path.write_text(json.dumps(dict(margin=0, images=report)))
    return str(tmp_path / 'data'), str(report_path), truth, report


def test_figures_by_hand(case, capsys):
    data_root, report_path, _, _ = case
    assert load_tool(TOOL).main([data_root, report_path]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    train, valid = lines
    assert train['split'] == 'train' and valid['split'] == 'valid'
    assert train['true_flags'] == 2
    assert train['flags_covered'] == 0.5  # a.png yes, b.png 50 % < 90 %
    assert train['flagged_images_cleaned'] == 0.5
    assert train['removed_regions'] == 3
    # 4 of 100 px off-flag in a.png, none in b.png
    assert train['mean_off_flag_area'] == pytest.approx(0.02)
    assert valid['true_flags'] == 0 and valid['removed_regions'] == 0
    # Half coverage counts once the threshold allows it.
    load_tool(TOOL).main([data_root, report_path, '--covered', '0.5'])
    train = json.loads(capsys.readouterr().out.splitlines()[0])
    assert train['flags_covered'] == 1.0


def test_an_image_missing_from_the_report_is_named(case):
    _, _, truth, report = case
    del report['b.png']
    with pytest.raises(SystemExit, match='b.png: in the ground truth'):
        load_tool(TOOL).coverage(truth, report, 0, 0.9)
