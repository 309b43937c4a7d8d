"""tools/analysis_tools/demo_summary.py on what tools/test.py really writes.

The fixture's metrics files are written by the same code that writes them
in ``tools/test.py``: a :class:`CheckpointCheckedRunner` with the runtime of
``configs/_base_/default_runtime.py`` (its ``DistSafeLoggerHook``) runs a
test loop whose metrics return fixed numbers under the real metrics'
prefixes; ``test_metric_keys_are_the_metrics_own`` checks those keys
against :class:`MuraKappa` and :class:`ZoomLocalization`.
"""
import math
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch.utils.data import DataLoader

from tests.helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
tool = load_tool('analysis_tools/demo_summary.py')

# Fixture values: the demo's figures of 2026-12-05 (docs/models/zoom.md),
# the plain fine-tune's changed so that each stage's numbers differ.
FIGURES = {
    'baseline': {'mura/study/kappa': 0.922, 'mura/study/auroc': 0.992,
                 'mura/image/kappa': 0.824},
    'baseline-ft': {'mura/study/kappa': 0.9124, 'mura/study/auroc': 0.9876,
                    'mura/image/kappa': 0.792},
    'zoom': {'mura/study/kappa': 0.815, 'mura/study/auroc': 0.974,
             'loc/roi_hit': 0.918, 'loc/centre_hit': 0.282,
             'loc/pointing': 0.741},
}
# Seconds each step took, made up: train, test.
DURATIONS = {'baseline': (1982, 65), 'baseline-ft': (210, 59),
             'zoom': (450, 3725)}


class _FixedMetric(BaseMetric):
    """Returns given values; BaseMetric.evaluate adds the prefix."""

    def __init__(self, values, prefix):
        super().__init__(prefix=prefix)
        self.values = values

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(self.values)


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return [dict(score=float(x)) for x in inputs]


def write_test_output(work_dir, metrics, name):
    """Run a test loop as tools/test.py does; return the metrics file."""
    from radplugins.engine import CheckpointCheckedRunner
    runtime = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'default_runtime.py'))
    groups = {}
    for key, value in metrics.items():
        prefix, _, rest = key.partition('/')
        groups.setdefault(prefix, {})[rest] = value
    loader = DataLoader(
        [torch.zeros(1) for _ in range(4)],
        batch_size=2,
        collate_fn=lambda batch: dict(inputs=torch.stack(batch)))
    runner = CheckpointCheckedRunner(
        model=_Toy(),
        work_dir=str(work_dir),
        test_dataloader=loader,
        test_cfg=dict(type='TestLoop'),
        test_evaluator=[
            _FixedMetric(values, prefix) for prefix, values in groups.items()
        ],
        default_hooks=runtime.default_hooks,
        default_scope=runtime.default_scope,
        # What decides which scalars reach the JSON, if the runtime sets it.
        log_processor=runtime.get('log_processor'),
        experiment_name=name)
    runner.test()
    found = [
        osp.join(root, f) for root, _, files in os.walk(work_dir)
        for f in files if f.endswith('.json')
    ]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope='module')
def demo_tree(tmp_path_factory):
    """A demo folder as make demo leaves it, three stages and the times."""
    demo = tmp_path_factory.mktemp('demo')
    now = int(time.time())
    lines = []
    for index, (stage, metrics) in enumerate(FIGURES.items()):
        write_test_output(demo / stage / 'test', metrics,
                          f'demo_summary_{stage}_{index}')
        train_s, test_s = DURATIONS[stage]
        # Times ending now, so the metrics file is not older than its test.
        start = now - 10 * (3 - index) - test_s - train_s
        lines.append(f'{stage} train {start} {start + train_s}\n')
        lines.append(f'{stage} test {start + train_s} '
                     f'{start + train_s + test_s}\n')
    (demo / 'wall_times.txt').write_text(''.join(lines))
    return demo


def copy_tree(demo_tree, tmp_path):
    dst = tmp_path / 'demo'
    shutil.copytree(demo_tree, dst)
    return dst


def test_metrics_file_is_the_runners_json(demo_tree):
    path = tool.find_test_metrics(str(demo_tree / 'zoom' / 'test'))
    stamp = osp.basename(osp.dirname(path))
    assert osp.basename(path) == stamp + '.json'
    metrics = tool.read_test_metrics(path)
    # The logger's own keys beside the metrics, as in a real test run.
    assert {'loc/roi_hit', 'mura/study/kappa', 'time', 'data_time'} <= set(
        metrics)


def test_summary_values_against_the_fixture(demo_tree):
    summaries = tool.summarise(str(demo_tree))
    assert [s.stage for s in summaries] == ['baseline', 'baseline-ft', 'zoom']
    for s in summaries:
        assert s.kappa == pytest.approx(FIGURES[s.stage]['mura/study/kappa'])
        assert s.auroc == pytest.approx(FIGURES[s.stage]['mura/study/auroc'])
        assert (s.train_s, s.test_s) == DURATIONS[s.stage]
    baseline, plain, zoom = summaries
    assert baseline.roi_hit is None and plain.centre_hit is None
    assert zoom.roi_hit == pytest.approx(0.918)
    assert zoom.centre_hit == pytest.approx(0.282)


def test_main_prints_and_writes_the_table(demo_tree, tmp_path, capsys):
    demo = copy_tree(demo_tree, tmp_path)
    assert tool.main([str(demo)]) == 0
    printed = capsys.readouterr().out
    with open(demo / 'summary.md', encoding='utf-8') as f:
        assert f.read() == printed
    rows = [line for line in printed.splitlines() if line.startswith('| ')]
    assert rows == [
        '| stage | study kappa | study AUROC | ROI hit (centred box) '
        '| train | test |',
        '| baseline | 0.922 | 0.992 | - | 33 min 02 s | 1 min 05 s |',
        '| plain fine-tune | 0.912 | 0.988 | - | 3 min 30 s | 59 s |',
        '| zoom | 0.815 | 0.974 | 91.8 % (28.2 %) | 7 min 30 s '
        '| 1 h 02 min |',
    ]
    # 1982 + 65 + 210 + 59 + 450 + 3725 s = 108.2 min
    assert 'Total 1 h 48 min of training and testing.' in printed
    assert 'zoom/test/' in printed


def test_newest_test_run_is_read(demo_tree, tmp_path):
    demo = copy_tree(demo_tree, tmp_path)
    test_dir = demo / 'zoom' / 'test'
    old = tool.find_test_metrics(str(test_dir))
    stamp = osp.basename(osp.dirname(old))
    newer = test_dir / '29991231_235959'
    newer.mkdir()
    text = open(old).read().replace('0.918', '0.5')
    (newer / '29991231_235959.json').write_text(text)
    (test_dir / 'vis_data').mkdir()  # not a run
    (test_dir / 'vis_data' / 'scalars.json').write_text('{}')
    assert stamp < '29991231_235959'
    zoom = tool.summarise(str(demo))[-1]
    assert zoom.roi_hit == 0.5


def test_a_stage_that_did_not_run_is_named(demo_tree, tmp_path, capsys):
    demo = copy_tree(demo_tree, tmp_path)
    shutil.rmtree(demo / 'zoom')
    with pytest.raises(SystemExit) as exc:
        tool.main([str(demo)])
    message = str(exc.value)
    assert message.startswith('error: ')
    assert osp.join(str(demo), 'zoom', 'test', '*', '*.json') in message
    assert 'no test metrics' in message
    assert not (demo / 'summary.md').exists()


def test_an_unfinished_step_is_named(demo_tree, tmp_path):
    demo = copy_tree(demo_tree, tmp_path)
    times = demo / 'wall_times.txt'
    times.write_text(''.join(line for line in times.read_text().splitlines(
        keepends=True) if not line.startswith('zoom test')))
    with pytest.raises(SystemExit, match=r'wall_times.txt: no "zoom test" '
                       r'line: the test step of the zoom stage'):
        tool.main([str(demo)])
    os.remove(times)
    with pytest.raises(SystemExit, match=r'wall_times.txt: no wall times'):
        tool.main([str(demo)])


def test_steps_run_by_hand_without_wall_times(demo_tree, tmp_path, capsys):
    demo = copy_tree(demo_tree, tmp_path)
    os.remove(demo / 'wall_times.txt')
    assert tool.main([str(demo), '--no-wall-times']) == 0
    printed = capsys.readouterr().out
    assert '| zoom | 0.815 | 0.974 | 91.8 % (28.2 %) | - | - |' in printed
    assert 'Not timed. From ' in printed


def test_metrics_from_an_earlier_run_are_refused(demo_tree, tmp_path):
    demo = copy_tree(demo_tree, tmp_path)
    path = tool.find_test_metrics(str(demo / 'baseline-ft' / 'test'))
    an_hour_ago = time.time() - 3600 * 3
    os.utime(path, (an_hour_ago, an_hour_ago))
    with pytest.raises(SystemExit, match=r'written before the plain '
                       r'fine-tune test step began.*earlier run'):
        tool.main([str(demo)])


def test_missing_metric_and_bad_files_are_named(demo_tree, tmp_path):
    demo = copy_tree(demo_tree, tmp_path)
    path = tool.find_test_metrics(str(demo / 'zoom' / 'test'))
    text = open(path).read()
    with open(path, 'w') as f:
        f.write(text.replace('"loc/centre_hit"', '"loc/other"'))
    with pytest.raises(SystemExit, match=r"zoom/test/.*\.json: no "
                       r"'loc/centre_hit' among the test metrics"):
        tool.main([str(demo)])
    with open(path, 'w') as f:
        f.write('[1, 2]')
    with pytest.raises(SystemExit, match=r'\.json: expected a JSON object'):
        tool.main([str(demo)])
    times = demo / 'wall_times.txt'
    times.write_text('baseline train 10 5\n')
    with pytest.raises(SystemExit, match=r'wall_times.txt:1: ends \(5\) '
                       r'before it starts \(10\)'):
        tool.main([str(demo)])
    times.write_text('\nbaseline fit 1 5\n')
    with pytest.raises(SystemExit, match=r"wall_times.txt:2: unknown step "
                       r"'fit'"):
        tool.main([str(demo)])
    times.write_text('baseline train 1.5 5\n')
    with pytest.raises(SystemExit, match=r"wall_times.txt:1: START and END "
                       r"must be whole seconds, got '1.5' '5'"):
        tool.main([str(demo)])


def test_refuses_to_overwrite_an_input(demo_tree, tmp_path):
    demo = copy_tree(demo_tree, tmp_path)
    before = (demo / 'wall_times.txt').read_text()
    with pytest.raises(SystemExit, match=r'refusing to write into the '
                       r'input: --out .*wall_times.txt is the input file'):
        tool.main([str(demo), '--out', str(demo / 'wall_times.txt')])
    with pytest.raises(SystemExit, match=r'lies inside the input folder'):
        tool.main([str(demo), '--out', str(demo / 'zoom' / 'test' / 'x.md')])
    assert (demo / 'wall_times.txt').read_text() == before


def test_nan_and_durations_are_formatted():
    assert tool.format_duration(0) == '0 s'
    assert tool.format_duration(59.6) == '1 min 00 s'
    assert tool.format_duration(3599) == '59 min 59 s'
    assert tool.format_duration(3600) == '1 h 00 min'
    summary = tool.StageSummary('zoom', 'zoom', 'x.json', math.nan, 0.5,
                                math.nan, 0.25, 1, 2)
    text = tool.format_summary([summary], '.')
    assert '| zoom | nan | 0.500 | nan (25.0 %) | 1 s | 2 s |' in text


def test_metric_keys_are_the_metrics_own():
    """The keys the tool reads are what MuraKappa and ZoomLocalization
    (default prefixes, as the demo configs use them) return."""
    from radplugins.evaluation import MuraKappa, ZoomLocalization
    mura = MuraKappa()
    mura.process(None, [
        dict(pred_score=np.array([1 - p, p]), gt_label=np.array([label]),
             study_id=f's{i}', body_part='XR_HAND')
        for i, (p, label) in enumerate([(0.9, 1), (0.2, 0), (0.6, 0)])
    ])
    keys = set(mura.evaluate(3))
    loc = ZoomLocalization()
    loc.process(None, [
        dict(zoom_boxes=np.array([[0., 0., 50., 50.]]),
             saliency_peaks=np.array([[10., 10.]]),
             gt_abnormal_boxes=np.array([[5., 5., 20., 20.]]),
             gt_flag_boxes=np.zeros((0, 4)), ori_shape=(100, 100),
             body_part='XR_HAND')
    ])
    keys |= set(loc.evaluate(1))
    assert {tool.KAPPA_KEY, tool.AUROC_KEY, tool.ROI_HIT_KEY,
            tool.CENTRE_HIT_KEY} <= keys
    for stage, _, localises in tool.STAGES:
        config = Config.fromfile(osp.join(
            ROOT, 'configs', 'mura',
            {'baseline': 'baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000',
             'baseline-ft':
             'baseline_resnetv1d18_1xb16_1e-ft_synthetic-mura-1000',
             'zoom': 'zoom_resnetv1d18_1xb16_1e-ft_synthetic-mura-1000'}[stage]
            + '.py'))
        evaluators = config.test_evaluator
        if isinstance(evaluators, dict):
            evaluators = [evaluators]
        types = {e['type']: e.get('prefix') for e in evaluators}
        assert types.get('MuraKappa', 'absent') is None, stage
        assert ('ZoomLocalization' in types) == localises, stage
        if localises:
            assert types['ZoomLocalization'] is None


def test_make_demo_ends_with_the_summary(tmp_path):
    """make demo's recipe, with a stand-in for Python that trains nothing:
    it times every step and ends with the summary."""
    make = shutil.which('make')
    if make is None:
        pytest.skip('make is not installed')
    fake = tmp_path / 'python'
    fake.write_text(f'''#!{sys.executable}
import json, os, sys, time
args = sys.argv[1:]
if args[0].endswith('demo_summary.py'):
    os.execv({sys.executable!r}, [{sys.executable!r}] + args)
work_dir = args[args.index('--work-dir') + 1]
if args[0].endswith('train.py'):
    os.makedirs(work_dir, exist_ok=True)
    with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(os.path.join(work_dir, 'epoch_1.pth'))
else:
    stamp = time.strftime('%Y%m%d_%H%M%S')
    os.makedirs(os.path.join(work_dir, stamp))
    zoom = 'zoom' in args[1]  # the config
    metrics = {{'mura/study/kappa': 0.5 + zoom * 0.25,
               'mura/study/auroc': 0.75}}
    if zoom:
        metrics.update({{'loc/roi_hit': 0.875, 'loc/centre_hit': 0.125}})
    with open(os.path.join(work_dir, stamp, stamp + '.json'), 'w') as f:
        json.dump(metrics, f)
''')
    fake.chmod(0o755)
    demo = tmp_path / 'demo'
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [make, '-o', 'env', '-o', 'demo-data', 'demo', f'PY={fake}',
         f'DEMO_WORK_DIR={demo}', f'DEMO_DATA={tmp_path / "data"}'],
        cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = (demo / 'wall_times.txt').read_text().splitlines()
    assert [line.split()[:2] for line in lines] == [
        [stage, step] for stage in ('baseline', 'baseline-ft', 'zoom')
        for step in ('train', 'test')
    ]
    assert '| zoom | 0.750 | 0.750 | 87.5 % (12.5 %) |' in proc.stdout
    assert (demo / 'summary.md').read_text() in proc.stdout
