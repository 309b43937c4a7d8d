import copy

import pytest
import torch
import torch.nn as nn
from mmengine.structures import InstanceData
from mmpretrain.structures import DataSample

from radplugins.utils import (amp_inference, amp_optim_wrapper_cfg,
                              cpu_supports_bf16, resolve_amp_dtype,
                              to_channels_last, to_float32)
from radplugins.utils import precision


@pytest.fixture
def log_lines(monkeypatch):
    """The lines precision logs, with the once-per-process memory cleared."""
    lines = []
    monkeypatch.setattr(precision, '_REPORTED', set())
    monkeypatch.setattr(precision, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    return lines


@pytest.fixture
def bf16_cpu(monkeypatch):
    """Pretend the CPU has bfloat16 instructions (autocast runs anyway)."""
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)


@pytest.fixture
def old_cpu(monkeypatch):
    """Pretend the CPU has no bfloat16 instructions."""
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: False)


def test_cpu_support_follows_torch_detectors(monkeypatch):
    for avx512_bf16, amx in ((False, False), (True, False), (False, True)):
        monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported',
                            lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported',
                            lambda v=amx: v)
        assert cpu_supports_bf16() is (avx512_bf16 or amx)


def test_device_choices(bf16_cpu, log_lines):
    assert resolve_amp_dtype('cpu') is torch.bfloat16
    assert resolve_amp_dtype('cpu', 'bfloat16') is torch.bfloat16
    assert resolve_amp_dtype('cuda') is torch.float16
    assert resolve_amp_dtype('cuda', torch.bfloat16) is torch.bfloat16
    assert log_lines == []
    with pytest.raises(ValueError, match="dtype='float16'"):
        resolve_amp_dtype('cpu', 'float16')
    with pytest.raises(ValueError, match="'int8'"):
        resolve_amp_dtype('cuda', 'int8')


def test_cpu_without_bf16_falls_back_with_one_log_line(old_cpu, log_lines):
    assert resolve_amp_dtype('cpu') is None
    assert resolve_amp_dtype('cpu') is None
    assert len(log_lines) == 1
    assert 'no bfloat16 instructions' in log_lines[0]
    assert 'float32' in log_lines[0]


def test_to_float32_casts_low_precision_fields_only():
    sample = DataSample().set_pred_score(
        torch.tensor([0.25, 0.75], dtype=torch.bfloat16))
    sample.set_pred_label(torch.tensor([1]))
    sample.set_field(torch.ones(2, dtype=torch.float64), 'f64')
    sample.set_field(torch.ones(1, 4, dtype=torch.float16), 'zoom_boxes')
    instances = InstanceData()
    instances.bboxes = torch.ones(1, 4, dtype=torch.bfloat16)
    sample.pred_instances = instances
    out = to_float32([sample, {'x': torch.zeros(1, dtype=torch.bfloat16)}])
    assert out[0] is sample
    assert sample.pred_score.dtype == torch.float32
    assert sample.pred_score.tolist() == [0.25, 0.75]
    assert sample.zoom_boxes.dtype == torch.float32
    assert sample.pred_instances.bboxes.dtype == torch.float32
    assert sample.pred_label.dtype == torch.int64
    assert sample.f64.dtype == torch.float64
    assert out[1]['x'].dtype == torch.float32


class Recorder(nn.Module):
    """A model whose steps report the autocast state they ran in."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4, 2)

    def test_step(self, x):
        return [self.fc(x), torch.is_autocast_enabled('cpu')]

    def val_step(self, x):
        return self.test_step(x)


def test_amp_inference_autocasts_and_hands_back_float32(bf16_cpu):
    model = Recorder()
    x = torch.randn(3, 4)
    expected = model.fc(x).detach()
    with amp_inference(model) as dtype:
        assert dtype is torch.bfloat16
        for step in (model.test_step, model.val_step):
            logits, autocast_on = step(x)
            assert autocast_on
            assert logits.dtype == torch.float32
            # The values went through a bfloat16 linear layer.
            assert not torch.equal(logits, expected)
            torch.testing.assert_close(logits, expected, atol=0.05,
                                       rtol=0.02)
    assert 'test_step' not in vars(model) and 'val_step' not in vars(model)
    logits, autocast_on = model.test_step(x)
    assert not autocast_on and torch.equal(logits, expected)


def test_amp_inference_restores_after_an_error(bf16_cpu):
    model = Recorder()
    with pytest.raises(RuntimeError, match='inside'):
        with amp_inference(model):
            raise RuntimeError('inside')
    assert 'test_step' not in vars(model)


@pytest.mark.parametrize('case', ['disabled', 'old_cpu'])
def test_amp_inference_off(case, monkeypatch, log_lines):
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)
    enabled = True
    if case == 'disabled':
        enabled = False
    else:
        monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: False)
    model = Recorder()
    with amp_inference(model, enabled=enabled) as dtype:
        assert dtype is None
        assert 'test_step' not in vars(model)
        assert not model.test_step(torch.zeros(1, 4))[1]
    assert len(log_lines) == (1 if case == 'old_cpu' else 0)


def test_optim_wrapper_cfg_per_device():
    cfg = dict(optimizer=dict(type='SGD', lr=0.1), clip_grad=None)
    cpu = amp_optim_wrapper_cfg(cfg, 'cpu')
    assert cpu.type == 'CPUAmpOptimWrapper' and cpu.dtype == 'bfloat16'
    assert 'loss_scale' not in cpu and cpu.optimizer == cfg['optimizer']
    gpu = amp_optim_wrapper_cfg(cfg, 'cuda')
    assert gpu.type == 'AmpOptimWrapper' and gpu.loss_scale == 'dynamic'
    assert 'type' not in cfg  # the input is left alone
    assert 'dtype' not in gpu  # AmpOptimWrapper's default: float16
    assert amp_optim_wrapper_cfg(cfg, 'cuda', 'bfloat16').dtype == 'bfloat16'
    # The CPU wrapper refuses float16 when it is built.
    assert amp_optim_wrapper_cfg(cfg, 'cpu', 'float16').dtype == 'float16'
    # RA-CNN: one wrapper per entry.
    racnn = dict(constructor='RACNNOptimWrapperConstructor',
                 classifier=dict(optimizer=dict(type='SGD', lr=0.1)),
                 apn=dict(optimizer=dict(type='SGD', lr=0.01)))
    out = amp_optim_wrapper_cfg(copy.deepcopy(racnn), 'cpu')
    assert out.constructor == 'RACNNOptimWrapperConstructor'
    assert out.classifier.type == out.apn.type == 'CPUAmpOptimWrapper'
    assert 'type' not in out


def test_channels_last_keeps_parameters_and_values():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),
                          nn.Linear(6, 2)).eval()
    before = [id(p) for p in model.parameters()]
    values = copy.deepcopy(model.state_dict())
    x = torch.randn(2, 3, 8, 8)
    expected = model(x)
    assert to_channels_last(model) is model
    weight = model[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not weight.is_contiguous()
    assert [id(p) for p in model.parameters()] == before
    for key, value in model.state_dict().items():
        assert torch.equal(value, values[key]), key
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)
