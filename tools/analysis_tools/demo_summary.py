"""One short summary of ``make demo``: baseline, plain fine-tune and zoom.

``make demo`` trains and tests three models on the synthetic small-lesion
set; each test prints long tables. This tool reads what the three tests
wrote and the wall time of each step, and prints one Markdown table (and
writes it to ``DEMO_DIR/summary.md``): study kappa, study AUROC, the zoom's
ROI hit against the box of the same size fixed in the image centre, and
the wall time of training and testing each stage.

What it reads, under ``DEMO_DIR`` (``work_dirs/demo``)::

    DEMO_DIR/
    ├── wall_times.txt            # make demo: "STAGE STEP START END" lines
    ├── baseline/test/<timestamp>/<timestamp>.json     # tools/test.py
    ├── baseline-ft/test/<timestamp>/<timestamp>.json
    └── zoom/test/<timestamp>/<timestamp>.json

The JSON file is the one MMEngine's logger hook writes at the end of
``tools/test.py --work-dir DIR/test``: one object of the test metrics
(``mura/study/kappa``, ``mura/study/auroc``, and for the zoom
``loc/roi_hit`` and ``loc/centre_hit``). Where a test ran more than once,
the newest timestamp folder is read. ``wall_times.txt`` holds one line per
step that finished (``baseline train 1733390000 1733392000``: stage, step
``train`` or ``test``, start and end in seconds since the epoch, from
``date +%s``); ``make demo`` empties it when it starts, so it describes
one run. A metrics file older than the start of its test step belongs to
an earlier run and is refused. After steps run by hand, without the file,
``--no-wall-times`` leaves the time columns empty.

Example::

    python tools/analysis_tools/demo_summary.py work_dirs/demo
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from radplugins.utils import check_output_or_exit

TIMES_FILE = 'wall_times.txt'
SUMMARY_FILE = 'summary.md'
STEPS = ('train', 'test')
# (folder under DEMO_DIR, name in the table, scored for localisation)
STAGES = (('baseline', 'baseline', False),
          ('baseline-ft', 'plain fine-tune', False),
          ('zoom', 'zoom', True))
KAPPA_KEY = 'mura/study/kappa'
AUROC_KEY = 'mura/study/auroc'
ROI_HIT_KEY = 'loc/roi_hit'
CENTRE_HIT_KEY = 'loc/centre_hit'
# date +%s is whole seconds, a file's mtime is not.
_CLOCK_SLACK_S = 2.0


@dataclass
class StageSummary:
    """What the summary shows of one stage.

    Attributes:
        stage (str): Folder of the stage under the demo folder.
        label (str): The stage's name in the table.
        metrics_file (str): The test metrics JSON that was read.
        kappa (float): Study-level kappa.
        auroc (float): Study-level AUROC.
        roi_hit (float | None): Share of the images with a lesion whose
            lesion is at least half inside the zoom's ROI; None for a
            model without ROI.
        centre_hit (float | None): The same for a box of the ROI's size
            in the image centre.
        train_s (float | None): Wall time of the training step, seconds;
            None when not timed.
        test_s (float | None): Wall time of the test step, seconds.
    """
    stage: str
    label: str
    metrics_file: str
    kappa: float
    auroc: float
    roi_hit: Optional[float]
    centre_hit: Optional[float]
    train_s: Optional[float]
    test_s: Optional[float]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'demo_dir', help='the demo\'s work folder (make demo: work_dirs/demo)')
    parser.add_argument(
        '--out',
        help=f'where to write the summary (default: DEMO_DIR/{SUMMARY_FILE})')
    parser.add_argument(
        '--times',
        help=f'wall-time file (default: DEMO_DIR/{TIMES_FILE})')
    parser.add_argument(
        '--no-wall-times',
        action='store_true',
        help='steps run by hand, not timed: read no wall-time file')
    return parser.parse_args(argv)


def find_test_metrics(test_dir: str) -> str:
    """The metrics JSON of the newest ``tools/test.py`` run in a folder.

    Args:
        test_dir (str): The ``--work-dir`` given to ``tools/test.py``.

    Returns:
        str: ``test_dir/<timestamp>/<timestamp>.json`` of the newest
        timestamp (MMEngine's ``%Y%m%d_%H%M%S`` names sort by time).

    Raises:
        FileNotFoundError: Naming the file pattern, if no run left one.
    """
    pattern = osp.join(test_dir, '*', '*.json')
    found = sorted(
        path for path in glob.glob(pattern)
        if osp.basename(path) == osp.basename(osp.dirname(path)) + '.json')
    if not found:
        raise FileNotFoundError(
            f'{pattern}: no test metrics (no <timestamp>/<timestamp>.json '
            'that tools/test.py --work-dir writes)')
    return found[-1]


def read_test_metrics(path: str) -> Dict[str, float]:
    """The metrics object of a ``tools/test.py`` JSON file.

    Args:
        path (str): ``<timestamp>/<timestamp>.json`` of a test run.

    Returns:
        dict: Metric name to value, as MMEngine's logger wrote them.

    Raises:
        ValueError: Naming the file, if it is not one JSON object.
    """
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        metrics = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path}: not a JSON object of test metrics '
                         f'({exc})') from None
    if not isinstance(metrics, dict):
        raise ValueError(f'{path}: expected a JSON object of test metrics, '
                         f'got {type(metrics).__name__}')
    return metrics


def read_wall_times(path: str) -> Dict[Tuple[str, str], Tuple[int, int]]:
    """The steps ``make demo`` timed.

    Args:
        path (str): A file of ``STAGE STEP START END`` lines (START and END
            in whole seconds since the epoch); blank lines are skipped.
            A step listed twice keeps its last line.

    Returns:
        dict: ``(stage, step)`` to ``(start, end)``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: Naming the file, the line and the value, for a line
            that is not four fields, a step other than train/test, a time
            that is not an integer, or an end before the start.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path}: no wall times (make demo writes one line per step: '
            'STAGE STEP START END)')
    times: Dict[Tuple[str, str], Tuple[int, int]] = {}
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            where = f'{path}:{number}'
            if len(fields) != 4:
                raise ValueError(f'{where}: expected STAGE STEP START END, '
                                 f'got {line.strip()!r}')
            stage, step, start, end = fields
            if step not in STEPS:
                raise ValueError(f'{where}: unknown step {step!r}; expected '
                                 f'one of {STEPS}')
            try:
                start_s, end_s = int(start), int(end)
            except ValueError:
                raise ValueError(f'{where}: START and END must be whole '
                                 f'seconds, got {start!r} {end!r}') from None
            if end_s < start_s:
                raise ValueError(f'{where}: ends ({end_s}) before it starts '
                                 f'({start_s})')
            times[(stage, step)] = (start_s, end_s)
    return times


def _value(metrics: Dict[str, float], key: str, path: str) -> float:
    if key not in metrics:
        raise KeyError(f'{path}: no {key!r} among the test metrics '
                       f'({len(metrics)} keys, e.g. '
                       f'{sorted(metrics)[:5]})')
    value = metrics[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f'{path}: {key} is {value!r}, not a number')
    return float(value)


def summarise(demo_dir: str,
              times_file: Optional[str] = None,
              timed: bool = True) -> List[StageSummary]:
    """Read the three stages' test metrics and wall times.

    Args:
        demo_dir (str): The demo's work folder.
        times_file (str, optional): The wall-time file. Defaults to
            ``demo_dir/wall_times.txt``.
        timed (bool): Read the wall-time file. Without it the durations
            are None and a metrics file is not checked against its test
            step's start. Defaults to True.

    Returns:
        list[StageSummary]: Baseline, plain fine-tune and zoom, in order.

    Raises:
        FileNotFoundError: Naming the missing file, when a stage did not
            run (no test metrics, no wall time of a step).
        KeyError: Naming the file, when a metric is missing.
        ValueError: Naming the file, for a malformed file, or a metrics
            file from an earlier run than the timed test step.
    """
    if not osp.isdir(demo_dir):
        raise FileNotFoundError(f'{demo_dir}: no such folder (make demo '
                                'writes work_dirs/demo)')
    times_file = times_file or osp.join(demo_dir, TIMES_FILE)
    times = read_wall_times(times_file) if timed else {}
    summaries = []
    for stage, label, localises in STAGES:
        path = find_test_metrics(osp.join(demo_dir, stage, 'test'))
        durations: Dict[str, Optional[float]] = dict(train=None, test=None)
        if timed:
            for step in STEPS:
                if (stage, step) not in times:
                    raise FileNotFoundError(
                        f'{times_file}: no "{stage} {step}" line: the '
                        f'{step} step of the {label} stage did not finish '
                        'in this run')
                start, end = times[(stage, step)]
                durations[step] = float(end - start)
            test_start = times[(stage, 'test')][0]
            if osp.getmtime(path) < test_start - _CLOCK_SLACK_S:
                raise ValueError(
                    f'{path}: written before the {label} test step began '
                    f'({test_start} in {times_file}); it is from an '
                    'earlier run')
        metrics = read_test_metrics(path)
        summaries.append(
            StageSummary(
                stage=stage,
                label=label,
                metrics_file=path,
                kappa=_value(metrics, KAPPA_KEY, path),
                auroc=_value(metrics, AUROC_KEY, path),
                roi_hit=_value(metrics, ROI_HIT_KEY, path)
                if localises else None,
                centre_hit=_value(metrics, CENTRE_HIT_KEY, path)
                if localises else None,
                train_s=durations['train'],
                test_s=durations['test']))
    return summaries


def format_duration(seconds: Optional[float]) -> str:
    """``'45 s'``, ``'33 min 02 s'`` or ``'1 h 05 min'``.

    Args:
        seconds (float | None): A duration, >= 0; None if not timed.

    Returns:
        str: The duration rounded to the second (to the minute from an
        hour on); ``'-'`` for None.
    """
    if seconds is None:
        return '-'
    total = int(round(seconds))
    if total < 60:
        return f'{total} s'
    if total < 3600:
        return f'{total // 60} min {total % 60:02d} s'
    minutes = int(round(total / 60))
    return f'{minutes // 60} h {minutes % 60:02d} min'


def _number(value: float) -> str:
    return 'nan' if math.isnan(value) else f'{value:.3f}'


def _percent(value: float) -> str:
    return 'nan' if math.isnan(value) else f'{100 * value:.1f} %'


def format_summary(summaries: List[StageSummary], demo_dir: str) -> str:
    """The summary as Markdown: a title, one table, where it came from.

    Args:
        summaries (list[StageSummary]): Output of :func:`summarise`.
        demo_dir (str): The demo folder; metrics files are named relative
            to it.

    Returns:
        str: The Markdown text, ending with a newline.
    """
    rows = [
        '| stage | study kappa | study AUROC | ROI hit (centred box) '
        '| train | test |', '|---|---|---|---|---|---|'
    ]
    for s in summaries:
        roi = '-' if s.roi_hit is None else \
            f'{_percent(s.roi_hit)} ({_percent(s.centre_hit)})'
        rows.append(f'| {s.label} | {_number(s.kappa)} | {_number(s.auroc)} '
                    f'| {roi} | {format_duration(s.train_s)} '
                    f'| {format_duration(s.test_s)} |')
    sources = ', '.join(
        osp.relpath(s.metrics_file, demo_dir) for s in summaries)
    if any(s.train_s is None or s.test_s is None for s in summaries):
        total = 'Not timed.'
    else:
        seconds = sum(s.train_s + s.test_s for s in summaries)
        total = f'Total {format_duration(seconds)} of training and testing.'
    return '\n'.join([
        '# make demo: summary', '',
        'Valid split, study level. ROI hit: share of the images with a '
        'lesion where at least half of the lesion lies inside the zoom\'s '
        'ROI; in brackets the same for a box of the ROI\'s size fixed in '
        'the image centre. Wall time of each step (train, test).', ''
    ] + rows + [
        '', f'{total} From {sources}.'
    ]) + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    demo_dir = args.demo_dir
    out = args.out or osp.join(demo_dir, SUMMARY_FILE)
    times_file = args.times or osp.join(demo_dir, TIMES_FILE)
    inputs = [None if args.no_wall_times else times_file] + [
        osp.join(demo_dir, stage, 'test') for stage, _, _ in STAGES
    ]
    check_output_or_exit(out, inputs, is_dir=False, label='--out')
    try:
        summaries = summarise(demo_dir, times_file,
                              timed=not args.no_wall_times)
    except (OSError, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else exc
        raise SystemExit(f'error: {message}') from None
    text = format_summary(summaries, demo_dir)
    print(text, end='')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        f.write(text)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
