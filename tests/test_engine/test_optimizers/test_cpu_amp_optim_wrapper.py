import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import OPTIM_WRAPPERS as ROOT_OPTIM_WRAPPERS
from mmpretrain.registry import OPTIM_WRAPPERS

from radplugins.engine.optimizers import CPUAmpOptimWrapper
from radplugins.utils import precision


@pytest.fixture
def bf16_cpu(monkeypatch):
    """Pretend the CPU has bfloat16 instructions (autocast runs anyway)."""
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(
        # No convolution bias: BatchNorm cancels its gradient to noise.
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))


def build(model, **kwargs):
    return build_optim_wrapper(
        model,
        dict(type='CPUAmpOptimWrapper',
             optimizer=dict(type='SGD', lr=0.1), **kwargs))


def forward(model, optim, x):
    """The forward as a train step runs it: in the wrapper's context."""
    with optim.optim_context(model):
        return model(x)


def loss_and_grads(model, optim, x, y):
    # As in a train step: the loss too inside the context.
    with optim.optim_context(model):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
    optim.backward(loss)
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    optim.zero_grad()
    return logits, loss, grads


def test_registered_where_both_scopes_find_it():
    assert ROOT_OPTIM_WRAPPERS.get('CPUAmpOptimWrapper') is \
        CPUAmpOptimWrapper
    assert OPTIM_WRAPPERS.get('CPUAmpOptimWrapper') is CPUAmpOptimWrapper


def test_forward_in_bfloat16_gradients_in_float32(bf16_cpu):
    model = make_model()
    reference = copy.deepcopy(model)
    x, y = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 1, 0])
    optim = build(model)
    assert optim.cast_dtype is torch.bfloat16
    logits, loss, grads = loss_and_grads(model, optim, x, y)
    assert logits.dtype == torch.bfloat16
    assert loss.dtype == torch.float32
    _, ref_loss, ref_grads = loss_and_grads(
        reference, OptimWrapper(torch.optim.SGD(reference.parameters(),
                                                lr=0.1)), x, y)
    assert loss.item() == pytest.approx(ref_loss.item(), rel=0.02)
    for name, grad in grads.items():
        ref = ref_grads[name]
        assert grad.dtype == torch.float32, name
        # bfloat16 keeps 8 significant bits: close, not equal.
        assert not torch.equal(grad, ref), name
        assert F.cosine_similarity(grad.flatten(), ref.flatten(), 0) > 0.99
    # Parameters and the optimiser state stay float32, and a step moves
    # them.
    before = model[0].weight.detach().clone()
    optim.update_params(F.cross_entropy(forward(model, optim, x), y))
    assert model[0].weight.dtype == torch.float32
    assert not torch.equal(model[0].weight, before)
    assert set(optim.state_dict()) == {'state', 'param_groups'}
    assert not torch.is_autocast_enabled('cpu')


def test_cpu_without_bf16_trains_in_float32_with_one_log_line(monkeypatch):
    lines = []
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: False)
    monkeypatch.setattr(precision, '_REPORTED', set())
    monkeypatch.setattr(precision, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    model = make_model()
    optim = build(model)
    build(make_model())  # a second wrapper says nothing more
    assert optim.cast_dtype is None
    assert len(lines) == 1 and 'float32' in lines[0]
    logits = forward(model, optim, torch.randn(2, 3, 8, 8))
    assert logits.dtype == torch.float32


def test_bad_dtype_and_device_are_named(bf16_cpu):
    with pytest.raises(ValueError, match="dtype='float16'"):
        build(make_model(), dtype='float16')
    model = make_model().to('meta')
    optim = build(model)
    with pytest.raises(ValueError, match="on 'meta'"):
        with optim.optim_context(model):
            pass
