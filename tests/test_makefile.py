"""The Makefile's demo options, as ``make -n`` prints the commands."""
import os.path as osp
import shutil
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

pytestmark = pytest.mark.skipif(shutil.which('make') is None,
                                reason='make is not installed')


def demo_commands(*variables):
    """The tool commands ``make demo`` would run, one string each."""
    proc = subprocess.run(['make', '-n', 'demo', *variables], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    text = proc.stdout.replace('\\\n', ' ')
    return [' '.join(line.split()) for line in text.splitlines()
            if 'tools/train.py' in line or 'tools/test.py' in line]


def test_default_demo_is_float32_unseeded():
    commands = demo_commands()
    assert len(commands) == 6
    for command in commands:
        assert '--amp' not in command and '--channels-last' not in command
        assert 'randomness.seed' not in command
        assert 'work_dirs/demo/' in command


def test_demo_amp_seed_and_channels_last_reach_every_tool():
    commands = demo_commands('DEMO_AMP=1', 'DEMO_SEED=7',
                             'DEMO_CHANNELS_LAST=1')
    assert len(commands) == 6
    for command in commands:
        assert ' --amp ' in f'{command} '
        assert '--channels-last' in command
        # A bfloat16 demo does not overwrite the float32 one.
        assert 'work_dirs/demo-bf16/' in command
        assert 'work_dirs/demo/' not in command
    trainings = [c for c in commands if 'tools/train.py' in c]
    assert len(trainings) == 3
    for command in trainings:
        assert '--cfg-options randomness.seed=7' in command
    # The fine-tunings keep their checkpoint in the same --cfg-options.
    for command in trainings[1:]:
        options = command.split('--cfg-options ', 1)[1]
        assert options.startswith('randomness.seed=7 load_from=')
