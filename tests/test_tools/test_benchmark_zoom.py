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
                                '--entropy-maps', '2', '--phases', '1')
    by_figure = {r['figure']: r for r in records}
    assert list(by_figure) == [
        'train_step', 'entropy_share', 'entropy_vs_skimage', 'phases',
        'memory'
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
    phases = by_figure['phases']
    assert set(phases['plain']) == {
        'preprocess', 'forward', 'backward', 'step', 'other'
    }
    assert set(phases['zoom']) == set(phases['plain']) | {
        'saliency (input-only backward)', 'backward (parameters only)',
        'entropy', 'roi boxes', 'crops'
    }
    for kind in ('plain', 'zoom'):
        # One step: its phases and the rest add up to it (4-decimal
        # rounding of each).
        parts = sum(v for k, v in phases[kind].items() if k != 'step')
        assert parts == pytest.approx(phases[kind]['step'], abs=1e-3)
        assert all(v > 0 for k, v in phases[kind].items() if k != 'other')


def test_phase_timer_charges_each_call_and_restores_everything():
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from radplugins.models.classifiers import zoom_in_classifier
    bench = load_tool('analysis_tools/benchmark_zoom.py')
    cfg = Config.fromfile(CONFIG)
    zoom, plain = bench.build_models(cfg, 'cpu')
    models = dict(zoom=zoom, plain=plain)
    originals = {
        name: getattr(zoom_in_classifier, name)
        for name in bench.ZOOM_CALL_PHASES
    }
    backward = torch.Tensor.backward
    with bench.phase_timer(models, 'cpu') as spent:
        torch.ones(1, requires_grad=True).sum().backward()
        assert set(spent) == {'backward'}
        zoom.extract_feat(torch.zeros(2, 3, 32, 32))
        assert set(spent) == {'backward', 'forward'}
    with pytest.raises(RuntimeError, match='inside'):
        with bench.phase_timer(models, 'cpu'):
            raise RuntimeError('inside')
    assert torch.Tensor.backward is backward
    for name, fn in originals.items():
        assert getattr(zoom_in_classifier, name) is fn
    for model in models.values():
        assert 'extract_feat' not in vars(model)
        assert 'forward' not in vars(model.data_preprocessor)
    # Restored models still train.
    args = Namespace(batch=2, input_size=32, hr_size=(64, 48),
                     hr_channels=bench.high_res_channels(cfg), device='cpu')
    zoom.train()
    bench.train_step(zoom, build_optim_wrapper(zoom, cfg.optim_wrapper),
                     bench.make_batch(args))


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


def test_precisions_side_by_side():
    """Two precisions (channels-last variants are made as in
    benchmark_train.py, whose test covers them; each variant here costs two
    memory subprocesses)."""
    from radplugins.utils import cpu_supports_bf16
    records = benchmark_records('benchmark_zoom.py', CONFIG, '--batch', '2',
                                '--input-size', '32', '--hr-size', '96',
                                '64', '--iters', '2', '--warmup', '0',
                                '--entropy-maps', '2', '--precision',
                                'float32', 'bfloat16', '--infer-iters', '1')
    names = ['float32', 'bfloat16']
    figures = [r['figure'] for r in records]
    assert figures == (['train_step'] * 2 + ['train_speedup'] * 2 + [
        'entropy_share', 'entropy_vs_skimage'
    ] + ['inference'] * 2 + ['infer_speedup'] * 2 + ['memory'] * 2)
    bf16 = 'bfloat16' if cpu_supports_bf16() else None
    for figure in ('train_step', 'inference', 'memory'):
        lines = [r for r in records if r['figure'] == figure]
        assert [r['variant'] for r in lines] == names
        assert [r['channels_last'] for r in lines] == [False, False]
        assert [r['autocast'] for r in lines] == [None, bf16]
    steps = {r['variant']: r for r in records if r['figure'] == 'train_step'}
    speedups = [r for r in records if r['figure'] == 'train_speedup']
    assert [(r['variant'], r['model']) for r in speedups] == [
        ('bfloat16', 'plain'), ('bfloat16', 'zoom')
    ]
    for speedup in speedups:
        assert speedup['reference'] == 'float32'
        assert speedup['target_min'] == 1.8
        # Two iterations: the median is the mean of the two paired ratios,
        # and the ratio of the median (mean) times lies between them.
        q1, q3 = speedup['ratio_quartiles']
        assert speedup['ratio'] == pytest.approx((q1 + q3) / 2, abs=2e-3)
        key = f"{speedup['model']}_s"
        mean_ratio = steps['float32'][key] / steps['bfloat16'][key]
        spread = q3 - q1
        assert q1 - spread / 2 - 0.01 <= mean_ratio <= q3 + spread / 2 + 0.01
    for line in (r for r in records if r['figure'] == 'inference'):
        assert line['zoom_images_per_s'] > 0 and line['plain_images_per_s'] > 0
        # One iteration: the ratio of the rates.
        assert line['zoom_over_plain'] == pytest.approx(
            line['plain_images_per_s'] / line['zoom_images_per_s'],
            rel=0.02)
    assert all(r['zoom_mb'] > 0 for r in records if r['figure'] == 'memory')


def test_variants_share_the_initial_weights():
    bench = load_tool('analysis_tools/benchmark_zoom.py')
    from mmengine.config import Config
    args = Namespace(device='cpu', precision=['float32', 'bfloat16'],
                     channels_last=True)
    variants = bench.build_variants(Config.fromfile(CONFIG), args)
    assert [v['name'] for v in variants] == [
        'float32', 'float32+channels_last', 'bfloat16',
        'bfloat16+channels_last'
    ]
    first = variants[0]['models']['zoom'].state_dict()
    for variant in variants:
        assert type(variant['optims']['zoom']).__name__ == (
            'OptimWrapper' if variant['precision'] == 'float32' else
            'CPUAmpOptimWrapper')
        zoom = variant['models']['zoom']
        assert zoom is not variants[0]['models']['zoom'] or \
            variant is variants[0]
        assert zoom.backbone.conv1.weight.is_contiguous(
            memory_format=torch.channels_last) is variant['channels_last']
        for key, value in zoom.state_dict().items():
            assert torch.equal(value, first[key]), key
    with pytest.raises(SystemExit, match='twice'):
        bench.variant_names(['float32', 'float32'], False)
