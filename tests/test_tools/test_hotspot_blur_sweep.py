"""tools/analysis_tools/hotspot_blur_sweep.py on a hand-made case."""
import argparse
import json
import pickle

import numpy as np
import pytest
import torch

from radplugins.datasets.spine_tasks import LESION_TASKS
from tests.helpers import load_tool

TOOL = 'analysis_tools/hotspot_blur_sweep.py'
SHAPE = (3, 20, 20)


def sample(spike_value: float, detected: bool) -> dict:
    """A lesion of 5x5 px at 0.8 on slice 1 and a one-pixel spike far from
    it: unblurred the spike is the maximum (a miss); a 2 px blur spreads
    the spike to 1 / (8 pi) of itself and keeps about 0.8 * 0.79**2 of
    the lesion's plateau at its centre (a hit)."""
    upper = LESION_TASKS.index('upper_endplate')
    masks = np.zeros((len(LESION_TASKS), ) + SHAPE, bool)
    masks[upper, 1, 4:9, 4:9] = True
    hotspot = np.zeros(SHAPE, np.float32)
    hotspot[1, 4:9, 4:9] = 0.8
    hotspot[1, 16, 16] = spike_value
    score = torch.tensor([0.0, 1.0] if detected else [1.0, 0.0])
    return dict(img_path=f'disc_{spike_value}.npy',
                hotspots=torch.from_numpy(hotspot[None]),
                gt_masks=torch.from_numpy(masks.astype(np.uint8)),
                hotspot_tasks=('upper_endplate', ),
                task_scores={'upper_endplate': score})


def run(tmp_path, capsys, samples, *args):
    path = tmp_path / 'maps.pkl'
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    assert load_tool(TOOL).main([str(path), *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.split('\n')
            if line]


def test_blur_moves_the_maximum_onto_the_lesion(tmp_path, capsys):
    # The second disc's spike (20) stays the maximum under both blurs.
    rows = run(tmp_path, capsys,
               [sample(1.0, True), sample(20.0, False)],
               '--sigmas', '0', '2', '0,2,2')
    assert [r['sigma'] for r in rows] == [[0, 0, 0], [0, 2, 2], [0, 2, 2]]
    assert [r['hits'] for r in rows] == [0, 1, 1]
    assert all(r['task'] == 'upper_endplate' and r['num'] == 2 for r in rows)
    assert rows[1]['pointing'] == 0.5
    assert rows[1]['num_detected'] == 1 and rows[1]['pointing_detected'] == 1
    assert rows[1]['pointing_undetected'] == 0


def test_tolerance_counts_a_near_miss(tmp_path, capsys):
    spike_beside = sample(0.0, True)
    spike_beside['hotspots'][0, 1, 9, 6] = 1.0  # one row below the lesion
    assert run(tmp_path, capsys, [spike_beside], '--sigmas', '0')[0][
        'hits'] == 0
    assert run(tmp_path, capsys, [spike_beside], '--sigmas', '0',
               '--tolerance', '1')[0]['hits'] == 1


def test_parse_sigma():
    tool = load_tool(TOOL)
    assert tool.parse_sigma('3') == (0.0, 3.0, 3.0)
    assert tool.parse_sigma('2,4') == (0.0, 2.0, 4.0)
    assert tool.parse_sigma('1,3,3') == (1.0, 3.0, 3.0)
    for bad in ('x', '1,2,3,4', '-1'):
        with pytest.raises(argparse.ArgumentTypeError, match=repr(bad)):
            tool.parse_sigma(bad)


def test_dump_without_hotspots_names_the_sample(tmp_path, capsys):
    bad = sample(1.0, True)
    del bad['hotspots']
    with pytest.raises(ValueError, match=r'sample 1 \(disc_1.0.npy\)'):
        run(tmp_path, capsys, [sample(1.0, True), bad])


def test_parts_are_scored_together(tmp_path, capsys):
    parts = []
    for i, spike in enumerate((1.0, 20.0)):
        parts.append(str(tmp_path / f'part{i}.pkl'))
        with open(parts[-1], 'wb') as f:
            pickle.dump([sample(spike, True)], f)
    assert load_tool(TOOL).main([*parts, '--sigmas', '2']) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.split('\n')
            if line]
    assert [(r['num'], r['hits']) for r in rows] == [(2, 1)]
