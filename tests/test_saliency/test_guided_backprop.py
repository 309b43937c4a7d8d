import copy
from contextlib import nullcontext

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from radplugins.saliency import (backward_rule, class_score_gradients,
                                 class_scores, record_relus, saliency)


class TinyNet(nn.Module):
    """Conv-BN-ReLU net whose ReLU style is selectable."""

    def __init__(self, style='module', inplace=False):
        super().__init__()
        self.style = style
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, stride=2)
        self.fc = nn.Linear(8, 4)
        self.relu1 = nn.ReLU(inplace=inplace)
        self.relu2 = nn.ReLU(inplace=inplace)

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        if self.style == 'module':
            x = self.relu1(x)
            x = self.relu2(self.conv2(x))
        else:  # functional calls, in place and not
            x = F.relu(x, inplace=True)
            x = self.conv2(x)
            x.relu_()
        return self.fc(x.mean(dim=(2, 3)))


def hook_guided_backprop(model, x, targets):
    """Independent reference: module backward hooks on every nn.ReLU
    (needs non-inplace ReLUs), clamping the gradient they pass down."""
    model = copy.deepcopy(model).eval()
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
            m.register_full_backward_hook(
                lambda mod, gin, gout: (gin[0].clamp(min=0), ))
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)
    logits.gather(1, targets[:, None]).sum().backward()
    return x.grad


# The oracle tests run in float32 and under CPU bfloat16 autocast, as the
# zoom classifier does with CPUAmpOptimWrapper / --amp.
PRECISIONS = {
    'float32': nullcontext,
    'bfloat16': lambda: torch.autocast('cpu', dtype=torch.bfloat16),
}


@pytest.fixture
def net():
    torch.manual_seed(0)
    model = TinyNet()
    with torch.no_grad():  # non-trivial BN statistics
        model.bn1.running_mean.uniform_(-0.5, 0.5)
        model.bn1.running_var.uniform_(0.5, 2.0)
    return model


@pytest.mark.parametrize('precision', list(PRECISIONS))
def test_guided_matches_hook_reference_for_every_relu_style(net, precision):
    x = torch.randn(5, 3, 12, 12)
    targets = torch.tensor([0, 1, 2, 3, 1])
    float32_ref = hook_guided_backprop(net, x, targets)
    with PRECISIONS[precision]():
        ref = hook_guided_backprop(net, x, targets)
        for style, inplace in (('module', False), ('module', True),
                               ('functional', False)):
            variant = TinyNet(style, inplace)
            variant.load_state_dict(net.state_dict())
            grad, logits = saliency(variant, variant, x, targets)
            torch.testing.assert_close(grad, ref, atol=1e-6, rtol=1e-5)
            assert logits.shape == (5, 4)
            # The map comes back in float32 whatever the forward ran in.
            assert grad.dtype == torch.float32
        # The guided rule differs from the plain gradient on this net.
        plain, _ = saliency(net, net, x, targets, rule='plain')
        assert not torch.allclose(plain, ref, atol=1e-4)
    if precision == 'float32':
        return
    # The network really ran in bfloat16, and its map is the float32 map
    # to bfloat16's 8 significant bits: close in direction, not equal.
    assert logits.dtype == torch.bfloat16
    assert not torch.equal(grad, float32_ref)
    cosine = F.cosine_similarity(grad.flatten(1), float32_ref.flatten(1))
    assert cosine.min() > 0.95


def test_plain_rule_equals_autograd(net):
    net.eval()
    x = torch.randn(3, 3, 10, 10, requires_grad=True)
    targets = torch.tensor([2, 0, 1])
    expected, = torch.autograd.grad(
        net(x).gather(1, targets[:, None]).sum(), x)
    grad, _ = saliency(net, net, x, targets, rule='plain')
    torch.testing.assert_close(grad, expected, atol=1e-6, rtol=1e-5)


def test_default_target_is_the_predicted_class(net):
    x = torch.randn(4, 3, 10, 10)
    grad, logits = saliency(net, net, x)
    expected, _ = saliency(net, net, x, logits.argmax(1))
    torch.testing.assert_close(grad, expected)


def test_batched_equals_one_by_one(net):
    x = torch.randn(3, 3, 10, 10)
    targets = torch.tensor([1, 3, 0])
    grad, _ = saliency(net, net, x, targets)
    for i in range(3):
        single, _ = saliency(net, net, x[i:i + 1], targets[i:i + 1])
        torch.testing.assert_close(grad[i:i + 1], single)


def test_model_is_restored_even_after_an_error(net):
    net.train()
    net.fc.weight.requires_grad_(False)
    x = torch.randn(2, 3, 8, 8)

    def broken(inp):
        assert not net.training
        assert not any(p.requires_grad for p in net.parameters())
        raise RuntimeError('boom')

    with pytest.raises(RuntimeError, match='boom'):
        saliency(broken, net, x)
    assert all(m.training for m in net.modules())
    assert not net.fc.weight.requires_grad
    assert net.conv1.weight.requires_grad
    # ReLUs behave normally again outside the context.
    y = torch.randn(4, requires_grad=True)
    F.relu(y).sum().backward()
    assert torch.equal(y.grad, (y > 0).float())


@pytest.mark.parametrize('precision', list(PRECISIONS))
def test_one_forward_gives_guided_saliency_and_the_plain_loss_gradient(
        net, precision):
    """What the zoom classifier relies on to skip a second forward."""
    net.eval()
    x = torch.randn(4, 3, 10, 10)
    targets = torch.tensor([0, 1, 2, 3])
    with PRECISIONS[precision]():
        ref_saliency = hook_guided_backprop(net, x, targets)
        ref = copy.deepcopy(net)
        F.cross_entropy(ref(x), targets).backward()

        xs = x.clone().requires_grad_(True)
        with record_relus():
            logits = net(xs)
        grad = class_score_gradients(logits, xs, targets, 'guided',
                                     retain_graph=True)
        F.cross_entropy(logits, targets).backward()
    assert logits.dtype == (torch.float32 if precision == 'float32' else
                            torch.bfloat16)
    assert grad.dtype == torch.float32
    torch.testing.assert_close(grad, ref_saliency, atol=1e-6, rtol=1e-5)
    for (name, p), q in zip(net.named_parameters(), ref.parameters()):
        assert p.grad.dtype == torch.float32, name
        torch.testing.assert_close(p.grad, q.grad, msg=name)


@pytest.mark.parametrize('cfg', [
    dict(type='ResNet', depth=18, out_indices=(3, )),
    dict(type='VGG', depth=11, out_indices=(4, )),
],
                         ids=['resnet18', 'vgg11-inplace'])
def test_mmpretrain_backbones(cfg):
    torch.manual_seed(0)

    class Classifier(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = MODELS.build(cfg)
            self.head = nn.Linear(512, 3)

        def forward(self, x):
            return self.head(self.backbone(x)[-1].mean(dim=(2, 3)))

    model = Classifier()
    x = torch.randn(2, 3, 64, 64)
    targets = torch.tensor([0, 2])
    ref = hook_guided_backprop(model, x, targets)
    grad, _ = saliency(model, model, x, targets)
    plain, _ = saliency(model, model, x, targets, rule='plain')
    assert grad.abs().sum() > 0
    torch.testing.assert_close(grad, ref, atol=1e-6, rtol=1e-4)
    assert not torch.allclose(plain, ref, atol=1e-4)


def test_unknown_rule():
    with pytest.raises(ValueError, match="'smooth'"):
        with backward_rule('smooth'):
            pass


def test_class_scores_by_hand():
    logits = torch.tensor([[1.0, 3.0], [0.5, -1.0]])
    targets = torch.tensor([0, 0])
    torch.testing.assert_close(
        class_scores(logits, targets, 'logit'), torch.tensor([1.0, 0.5]))
    # Two classes: the difference of the logits.
    torch.testing.assert_close(
        class_scores(logits, targets, 'log_odds'),
        torch.tensor([-2.0, 1.5]))
    # Three classes: log p_c - log(1 - p_c), by the textbook formula.
    three = torch.tensor([[1.0, 2.0, 3.0]])
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    for c in range(3):
        expected = np.log(p[c]) - np.log(1 - p[c])
        got = class_scores(three, torch.tensor([c]), 'log_odds')
        assert got.item() == pytest.approx(expected, abs=1e-6)


def test_log_odds_gradient_of_a_linear_model():
    """Logits ``W x``: the gradient of the two-class log-odds is
    ``w_c - w_other`` whatever the input."""
    torch.manual_seed(0)
    weight = torch.randn(2, 6)
    x = torch.randn(3, 6, requires_grad=True)
    targets = torch.tensor([1, 0, 1])
    grad = class_score_gradients(x @ weight.T, x, targets, 'plain',
                                 score='log_odds')
    expected = torch.stack([weight[t] - weight[1 - t] for t in targets])
    torch.testing.assert_close(grad, expected)


def test_unknown_score():
    with pytest.raises(ValueError, match="'softmax'"):
        class_scores(torch.zeros(1, 2), torch.zeros(1), 'softmax')
    with pytest.raises(ValueError, match=r'\(1, 1\)'):
        class_scores(torch.zeros(1, 1), torch.zeros(1), 'log_odds')


def test_low_precision_input_gives_a_float32_gradient():
    """A bfloat16 input (and logits) still gives a float32 map: the
    entropy's quantisation and the ROI thresholds read its small values."""
    torch.manual_seed(0)
    weight = torch.randn(2, 6).bfloat16()
    x = torch.randn(3, 6).bfloat16().requires_grad_(True)
    targets = torch.tensor([1, 0, 1])
    logits = x @ weight.T
    assert logits.dtype == torch.bfloat16
    grad = class_score_gradients(logits, x, targets, 'plain')
    assert grad.dtype == torch.float32
    torch.testing.assert_close(grad, weight[targets].float())
    # float64 stays float64.
    x64 = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    grad = class_score_gradients(x64 @ weight.double().T, x64, targets,
                                 'plain')
    assert grad.dtype == torch.float64
