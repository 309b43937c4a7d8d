"""The synthetic spine generator draws what its labels say."""
import numpy as np
import pytest

from radplugins.datasets.synthetic import (LESION_TASKS, SyntheticSpineConfig,
                                           render_disc)


def labels(**overrides):
    base = dict(
        pfirrmann=0,
        narrowing=0,
        upper_endplate=0,
        lower_endplate=0,
        upper_marrow=0,
        lower_marrow=0)
    base.update(overrides)
    return base


def render(seed=0, **overrides):
    cfg = SyntheticSpineConfig(noise_sigma=0.0, bias_strength=0.0)
    return render_disc(
        labels(**overrides), 9, cfg, np.random.default_rng(seed))


def test_masks_follow_labels_and_sides():
    _, masks, _ = render()
    assert not any(m.any() for m in masks.values())
    for task in LESION_TASKS:
        _, masks, boxes = render(**{task: 1})
        assert masks[task].any(), task
        assert sum(m.any() for m in masks.values()) == 1
        rows = np.nonzero(masks[task])[1]
        disc_centre = (boxes[0][3] + boxes[1][1]) / 2
        upper = task.startswith('upper')
        assert (rows < disc_centre).all() if upper else \
            (rows > disc_centre).all(), task


def test_narrowing_shrinks_the_disc_and_pfirrmann_darkens_it():
    heights = []
    for grade in range(4):
        _, _, boxes = render(narrowing=grade)
        heights.append(boxes[1][1] - boxes[0][3])
    assert heights == sorted(heights, reverse=True) and \
        heights[0] - heights[3] >= 12
    centre = []
    for grade in range(5):
        volume, _, _ = render(pfirrmann=grade)
        centre.append(volume[4, 54:58, 100:124].mean())
    assert all(a > b for a, b in zip(centre, centre[1:]))


def test_lesion_changes_the_pixels_inside_its_mask():
    clean, _, _ = render(seed=3)
    marrow, masks, _ = render(seed=3, lower_marrow=1)
    inside = masks['lower_marrow']
    assert (marrow[inside] - clean[inside]).mean() > 0.3


def test_command_line_split_fractions(tmp_path, monkeypatch):
    """A held-out set: every patient in the test split, other seed."""
    import csv
    import sys

    from tests.helpers import load_tool
    tool = load_tool('dataset_converters/make_synthetic_spine.py')
    monkeypatch.setattr(sys, 'argv', [
        'make_synthetic_spine.py', '--out',
        str(tmp_path), '--num-patients', '3', '--seed', '1',
        '--split-fractions', '0', '0', '1'
    ])
    tool.main()
    with open(tmp_path / 'discs.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert len({r['patient'] for r in rows}) == 3
    assert {r['split'] for r in rows} == {'test'}
    monkeypatch.setattr(sys, 'argv', [
        'make_synthetic_spine.py', '--out',
        str(tmp_path / 'bad'), '--split-fractions', '0.5', '0.5', '0.5'
    ])
    with pytest.raises(ValueError, match=r'must sum to 1'):
        tool.main()


def test_refuses_a_folder_that_holds_anything(tmp_path, monkeypatch):
    """A real set (or any file) in --out is never overwritten without
    --overwrite; with it, a previous synthetic set is replaced."""
    import sys

    from tests.helpers import load_tool
    tool = load_tool('dataset_converters/make_synthetic_spine.py')
    real = tmp_path / 'spine'
    real.mkdir()
    (real / 'discs.csv').write_text('patient,level\nreal,L1-L2\n')
    argv = ['make_synthetic_spine.py', '--out', str(real), '--num-patients',
            '1']
    monkeypatch.setattr(sys, 'argv', argv)
    with pytest.raises(SystemExit) as info:
        tool.main()
    assert str(info.value.code) == (
        f'error: {real} exists and is not empty; pass overwrite=True '
        '(--overwrite) or choose another folder')
    assert (real / 'discs.csv').read_text() == 'patient,level\nreal,L1-L2\n'
    assert sorted(p.name for p in real.iterdir()) == ['discs.csv']
    monkeypatch.setattr(sys, 'argv', argv + ['--overwrite'])
    tool.main()
    assert 'patient00000' in (real / 'discs.csv').read_text()
