import os.path as osp

import pytest

from tests.helpers import benchmark_records, write_synthetic_mura

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')


def test_prints_one_json_line_per_figure(tmp_path):
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    records = benchmark_records('benchmark_train.py', CONFIG, '--data-root',
                                data_root, '--iters', '2', '--warmup', '1',
                                '--cfg-options',
                                f'work_dir={tmp_path / "work"}')
    assert [r['figure'] for r in records] == [
        'dataloader', 'train_step', 'memory', 'loader_over_train'
    ]
    loader, step, memory, ratio = records
    assert loader['images_per_s'] > 0 and loader['batch_size'] == 4
    assert step['images_per_s'] > 0
    assert step['seconds_per_iter'] * step['images_per_s'] == \
        pytest.approx(4, rel=0.01)
    assert memory['peak_mb'] >= memory['peak_rss_before_training_mb'] > 0
    assert ratio['ratio'] == pytest.approx(
        loader['images_per_s'] / step['images_per_s'], rel=0.01)


def test_precisions_and_channels_last_side_by_side(tmp_path):
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    records = benchmark_records(
        'benchmark_train.py', CONFIG, '--data-root', data_root, '--iters',
        '2', '--warmup', '1', '--precision', 'float32', 'bfloat16',
        '--channels-last', '--infer-iters', '1', '--cfg-options',
        f'work_dir={tmp_path / "work"}')
    figures = [r['figure'] for r in records]
    assert figures == ['dataloader'] + ['train_step'] * 4 + [
        'train_speedup'
    ] * 3 + ['inference'] * 4 + ['infer_speedup'] * 3 + [
        'memory', 'loader_over_train'
    ]
    names = ['float32', 'float32+channels_last', 'bfloat16',
             'bfloat16+channels_last']
    steps = [r for r in records if r['figure'] == 'train_step']
    assert [s['variant'] for s in steps] == names
    assert [s['channels_last'] for s in steps] == [False, True] * 2
    from radplugins.utils import cpu_supports_bf16
    # What really ran: float32 where the CPU has no bfloat16.
    assert [s['autocast'] for s in steps] == [None, None] + [
        'bfloat16' if cpu_supports_bf16() else None
    ] * 2
    by_name = {s['variant']: s for s in steps}
    for speedup in (r for r in records if r['figure'] == 'train_speedup'):
        assert speedup['reference'] == 'float32'
        # Two iterations: paired ratios r1, r2; the median is their mean,
        # the quartiles lie a quarter of the way in from each, and the
        # ratio of the mean times lies between r1 and r2.
        q1, q3 = speedup['ratio_quartiles']
        assert speedup['ratio'] == pytest.approx((q1 + q3) / 2, abs=2e-3)
        low, high = q1 - (q3 - q1) / 2, q3 + (q3 - q1) / 2
        mean_ratio = by_name['float32']['seconds_per_iter'] / \
            by_name[speedup['variant']]['seconds_per_iter']
        assert low - 0.01 <= mean_ratio <= high + 0.01
        assert ('target_min' in speedup) is \
            speedup['variant'].startswith('bfloat16')
    inference = [r for r in records if r['figure'] == 'inference']
    assert [r['variant'] for r in inference] == names
    assert [r['autocast'] for r in inference] == [s['autocast']
                                                  for s in steps]
    assert all(r['images_per_s'] > 0 for r in inference)
    assert records[-2]['variants'] == names
    assert records[-1]['variant'] == 'float32'


def test_variants_and_optimiser_per_precision():
    from tests.helpers import load_tool
    bench = load_tool('analysis_tools/benchmark_train.py')
    assert bench.variant_names(['float32', 'bfloat16'], False) == [
        ('float32', 'float32', False), ('bfloat16', 'bfloat16', False)
    ]
    with pytest.raises(SystemExit, match='twice'):
        bench.variant_names(['bfloat16', 'bfloat16'], True)
    optim = dict(optimizer=dict(type='SGD', lr=0.1))
    assert bench.optim_cfg_for(optim, 'float32', 'cpu') == optim
    cpu = bench.optim_cfg_for(optim, 'bfloat16', 'cpu')
    assert cpu.type == 'CPUAmpOptimWrapper' and cpu.dtype == 'bfloat16'
    gpu = bench.optim_cfg_for(optim, 'float16', 'cuda:0')
    assert gpu.type == 'AmpOptimWrapper' and gpu.dtype == 'float16'
