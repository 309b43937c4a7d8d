import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.optim import OneCycleLR
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler

from radplugins.utils.checkpoint_compat import training_state_getattr


def make_training_checkpoint(path):
    """What MMEngine's Runner puts in a checkpoint besides tensors."""
    hub = MessageHub.get_instance('test_checkpoint_compat')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_scalar('train/lr', 1e-3)
    hub.update_info('iter', 7)
    torch.save(
        dict(
            meta=dict(
                seed=np.int64(3),
                dataset_meta=dict(classes=('negative', 'positive')),
                arr=np.arange(4, dtype=np.float32),
                dtype=np.dtype('int16')),
            message_hub=hub.state_dict(),
            state_dict={'w': torch.arange(3.0)},
            optimizer=dict(state={}, param_groups=[dict(lr=1e-3)])), path)


class CallsSystem:
    """An object whose unpickling would run a shell command."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


class ReachesPastTheAllowList:
    """Unpickles to ``getattr(HistoryBuffer, '__init__')``."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_weights_only_is_still_the_default(tmp_path):
    assert not os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    path = tmp_path / 'obj.pth'
    torch.save({'x': MessageHub('unlisted')}, path)
    with pytest.raises(pickle.UnpicklingError, match='MessageHub'):
        torch.load(path)


def test_training_state_loads_with_safe_default(tmp_path):
    path = tmp_path / 'ckpt.pth'
    make_training_checkpoint(path)
    ckpt = torch.load(path)  # weights_only=True by default
    assert ckpt['meta']['seed'] == 3
    np.testing.assert_array_equal(ckpt['meta']['arr'], np.arange(4))
    assert ckpt['meta']['dtype'] == np.dtype('int16')
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == 0.5
    torch.testing.assert_close(ckpt['state_dict']['w'], torch.arange(3.0))


def test_without_radplugins_the_same_file_is_refused(tmp_path):
    """Proves the allow-list is what makes the load work."""
    path = tmp_path / 'ckpt.pth'
    make_training_checkpoint(path)
    code = ('import sys, torch\n'
            'try:\n'
            f'    torch.load({str(path)!r})\n'
            'except Exception as e:\n'
            '    print(type(e).__name__, e); sys.exit(3)\n')
    proc = subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert 'Unsupported global' in proc.stdout


def test_fresh_process_loads_it_after_importing_radplugins(tmp_path):
    """No HistoryBuffer exists yet in a new process; loading must work."""
    path = tmp_path / 'ckpt.pth'
    make_training_checkpoint(path)
    code = ('import torch, radplugins\n'
            f'ckpt = torch.load({str(path)!r})\n'
            "print(ckpt['message_hub']['log_scalars']['train/loss'].mean())\n")
    proc = subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '0.5'

class BuildsAScheduler:
    """Unpickles to a call of the one-cycle scheduler class."""

    def __reduce__(self):
        return (OneCycleParamScheduler, (None, 'lr'))


class ReachesPastTheSchedulerFunctions:
    """Unpickles to ``getattr(OneCycleParamScheduler, '__init__')``."""

    def __reduce__(self):
        return (getattr, (OneCycleParamScheduler, '__init__'))


@pytest.mark.parametrize('anneal_strategy', ['cos', 'linear'])
def test_one_cycle_scheduler_state_loads(tmp_path, anneal_strategy):
    """MMEngine's one-cycle schedulers keep their annealing function in
    their state (a checkpoint of a run with ``OneCycleLR`` could not be
    resumed or fine-tuned from); the loaded function must be the real one,
    checked against the textbook cosine and linear interpolation."""
    optimizer = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    scheduler = OneCycleLR(optimizer, eta_max=1e-3, total_steps=10,
                           anneal_strategy=anneal_strategy)
    path = tmp_path / 'one_cycle.pth'
    torch.save(dict(param_schedulers=[scheduler.state_dict()]), path)
    state = torch.load(path)['param_schedulers'][0]
    anneal = state['anneal_func']
    start, end, pct = 1.0, 0.2, 0.25
    expected = (end + (start - end) / 2 * (np.cos(np.pi * pct) + 1)
                if anneal_strategy == 'cos' else start + (end - start) * pct)
    assert anneal(start, end, pct) == pytest.approx(expected)
    fresh = OneCycleLR(optimizer, eta_max=1e-3, total_steps=10)
    fresh.load_state_dict(state)
    assert fresh.anneal_func is getattr(
        OneCycleParamScheduler, f'_annealing_{anneal_strategy}')


@pytest.mark.parametrize('payload', [
    CallsSystem(),
    ReachesPastTheAllowList(),
    BuildsAScheduler(),
    ReachesPastTheSchedulerFunctions()
])
def test_code_execution_is_still_refused(tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save({'x': payload}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_restricted_getattr():
    assert training_state_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match="'system'"):
        training_state_getattr(os, 'system')
    with pytest.raises(pickle.UnpicklingError, match="'__init__'"):
        training_state_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match="'__init__'"):
        training_state_getattr(OneCycleParamScheduler, '__init__')
