import os.path as osp
from argparse import Namespace

import pytest
import torch

from tests.helpers import benchmark_records, load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data',
                  'tiny_zoom_resnet18_synthetic-mura.py')


def test_prints_one_json_line_per_figure():
    records = benchmark_records('benchmark_zoom.py', CONFIG, '--batch', '2',
                                '--input-size', '32', '--hr-size', '96',
                                '64', '--iters', '1', '--warmup', '0',
                                '--entropy-maps', '2')
    by_figure = {r['figure']: r for r in records}
    assert list(by_figure) == [
        'train_step', 'entropy_share', 'entropy_vs_skimage', 'memory'
    ]
    step = by_figure['train_step']
    # One iteration: the median paired ratio is that iteration's ratio.
    assert step['ratio'] == pytest.approx(
        step['zoom_s'] / step['plain_s'], rel=0.01, abs=1e-3)
    assert step['ratio_quartiles'] == [step['ratio']] * 2
    share = by_figure['entropy_share']
    # Both figures are printed rounded (4 and 5 decimals).
    assert share['share'] == pytest.approx(
        share['entropy_s'] / share['zoom_step_s'], abs=1e-4)
    entropy = by_figure['entropy_vs_skimage']
    if 'skipped' not in entropy:
        assert entropy['max_abs_diff_bits'] < 1e-5
    memory = by_figure['memory']
    assert memory['zoom_mb'] > 0 and memory['plain_mb'] > 0


def test_batch_inputs_are_the_letterboxed_high_res_copies():
    bench = load_tool('analysis_tools/benchmark_zoom.py')
    args = Namespace(batch=2, input_size=32, hr_size=(64, 48),
                     hr_channels=1, device='cpu')
    batch = bench.make_batch(args)
    hr = torch.stack([s.hr_img for s in batch['data_samples']])
    inputs = batch['inputs']
    assert hr.min() >= 0 and hr.max() <= 255 and hr.std() > 20
    # 64x48 -> 32x24, centred: 4 columns of padding on each side.
    assert batch['data_samples'][0].letterbox_offset == (4, 0)
    assert inputs[..., :4].abs().max() == 0
    assert inputs[..., 28:].abs().max() == 0
    # Each input pixel is the mean of a 2x2 block of its copy.
    blocks = hr.unfold(2, 2, 2).unfold(3, 2, 2).mean(dim=(-1, -2))
    for c in range(3):
        torch.testing.assert_close(inputs[:, c:c + 1, :, 4:28], blocks)
    plain = bench.make_batch(args, high_res=False)
    assert all('hr_img' not in s for s in plain['data_samples'])
