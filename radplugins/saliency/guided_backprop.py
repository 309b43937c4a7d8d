"""Guided backpropagation and plain gradient saliency, batched.

Springenberg et al.'s guided backpropagation changes only the backward pass
of every ReLU: the signal passed down is ``grad_out * 1[input > 0] *
1[grad_out > 0]`` instead of ``grad_out * 1[input > 0]``. Simonyan et al.'s
plain saliency keeps the ordinary rule. Both are gradients of chosen class
scores with respect to the input, so they share all code here.

How ReLUs are caught: inside :func:`record_relus`, a
:class:`~torch.overrides.TorchFunctionMode` replaces every ReLU call —
``nn.ReLU`` (which calls ``F.relu``), ``F.relu``/``F.relu_``,
``torch.relu``/``torch.relu_`` and ``Tensor.relu``/``Tensor.relu_``, in
place or not, in any module (VGG and mmcv's ``ConvModule`` use
``inplace=True``) — by :class:`SwitchableReLU`, whose forward is the usual
ReLU and whose backward rule is read *when the backward runs*. One forward
graph can therefore give a guided input gradient (``with
backward_rule('guided')``) and then an ordinary loss gradient, which is how
the zoom classifier avoids a second forward pass. Nothing in the model is
modified, so there is nothing to forget to undo; :func:`saliency_mode`
additionally puts the model in eval mode with frozen parameters and
restores both on exit, also on exceptions.

ReLU-like functions other than ReLU (GELU, LeakyReLU, ...) keep their
ordinary gradient: the guided rule is defined for ReLU.
"""
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

RULES = ('guided', 'plain')
SCORES = ('logit', 'log_odds')

_state = threading.local()


def current_backward_rule() -> str:
    """The rule SwitchableReLU backward passes use right now."""
    return getattr(_state, 'rule', 'plain')


@contextmanager
def backward_rule(rule: str) -> Iterator[None]:
    """Select the ReLU backward rule for backward passes run inside.

    Args:
        rule (str): ``'guided'`` or ``'plain'``.
    """
    if rule not in RULES:
        raise ValueError(f'unknown backward rule {rule!r}; expected one of '
                         f'{RULES}')
    previous = current_backward_rule()
    _state.rule = rule
    try:
        yield
    finally:
        _state.rule = previous


def _switchable_relu_grad(result: torch.Tensor,
                          grad_out: torch.Tensor) -> torch.Tensor:
    """ReLU's input gradient under :func:`current_backward_rule`.

    ``threshold_backward`` is ATen's own fused ReLU backward; it reads the
    forward result (saved anyway by the next layer, so keeping it costs no
    memory) and is more than twice as fast on the CPU as masking with a
    saved boolean tensor.
    """
    grad = torch.ops.aten.threshold_backward(grad_out, result, 0)
    if current_backward_rule() == 'guided':
        grad = grad.clamp_(min=0)
    return grad


class SwitchableReLU(torch.autograd.Function):
    """ReLU whose backward follows :func:`current_backward_rule`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        result = x.clamp(min=0)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> torch.Tensor:
        result, = ctx.saved_tensors
        return _switchable_relu_grad(result, grad_out)


class SwitchableReLUInplace(torch.autograd.Function):
    """In-place :class:`SwitchableReLU`: the input tensor holds the result.

    Callers of an in-place ReLU may ignore its return value, so the input
    itself must change; marking it dirty lets autograd rebase it onto this
    node instead of paying a copy of every activation.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.mark_dirty(x)
        result = x.clamp_(min=0)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> torch.Tensor:
        result, = ctx.saved_tensors
        return _switchable_relu_grad(result, grad_out)


_RELU_FUNCS = {F.relu, torch.relu, torch.Tensor.relu}
_RELU_INPLACE_FUNCS = {F.relu_, torch.relu_, torch.Tensor.relu_}


class _ReluRecordingMode(TorchFunctionMode):
    """Routes every ReLU call through :class:`SwitchableReLU`."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        inplace = func in _RELU_INPLACE_FUNCS or (
            func is F.relu and (kwargs.get('inplace') or
                                (len(args) > 1 and args[1])))
        if func in _RELU_FUNCS or func in _RELU_INPLACE_FUNCS:
            x = args[0]
            if not (torch.is_grad_enabled() and x.requires_grad):
                return func(*args, **kwargs)
            if inplace:
                return SwitchableReLUInplace.apply(x)
            return SwitchableReLU.apply(x)
        return func(*args, **kwargs)


@contextmanager
def record_relus() -> Iterator[None]:
    """Make forward passes inside record :class:`SwitchableReLU` nodes."""
    with _ReluRecordingMode():
        yield


@contextmanager
def saliency_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode, frozen parameters and recorded ReLUs, restored on exit.

    Args:
        model (nn.Module): The network to probe.

    Yields:
        nn.Module: ``model``.
    """
    was_training = {m: m.training for m in model.modules()}
    grad_flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _ in grad_flags:
            p.requires_grad_(False)
        with record_relus():
            yield model
    finally:
        for p, flag in grad_flags:
            p.requires_grad_(flag)
        for m, flag in was_training.items():
            m.training = flag


def class_scores(logits: torch.Tensor, targets: torch.Tensor,
                 score: str = 'logit') -> torch.Tensor:
    """The score of each sample's target class whose gradient is explained.

    ``'logit'`` is the unnormalised class score ``z_c`` (Simonyan et al.;
    SpineNet's hotspots). ``'log_odds'`` is ``z_c - logsumexp_{k != c}
    z_k``, the log-odds of class ``c`` against the others; for two classes
    it is ``z_c - z_other``. A softmax is unchanged by adding the same
    amount to every logit, so ``z_c`` carries a part common to all classes
    that no prediction depends on; the log-odds are free of it.

    Args:
        logits (torch.Tensor): ``(N, K)`` unnormalised class scores.
        targets (torch.Tensor): ``(N,)`` class index per sample.
        score (str): ``'logit'`` or ``'log_odds'``.

    Returns:
        torch.Tensor: ``(N,)`` scores.
    """
    if score not in SCORES:
        raise ValueError(f'unknown class score {score!r}; expected one of '
                         f'{SCORES}')
    if logits.dim() != 2 or targets.shape != (logits.shape[0], ):
        raise ValueError(f'expected logits (N, K) and targets (N,), got '
                         f'{tuple(logits.shape)} and {tuple(targets.shape)}')
    index = targets.view(-1, 1).long()
    target_logit = logits.gather(1, index).squeeze(1)
    if score == 'logit':
        return target_logit
    if logits.shape[1] < 2:
        raise ValueError('log_odds needs at least 2 classes, got logits '
                         f'of shape {tuple(logits.shape)}')
    others = logits.scatter(1, index, float('-inf'))
    return target_logit - others.logsumexp(1)


def class_score_gradients(logits: torch.Tensor, inputs: torch.Tensor,
                          targets: torch.Tensor, rule: str = 'guided',
                          retain_graph: bool = False,
                          score: str = 'logit') -> torch.Tensor:
    """Gradient of each sample's target score w.r.t. its input.

    Samples must not interact in the forward pass (eval-mode BN), so the
    gradient of the summed target scores holds each sample's own gradient.

    Under ``torch.autocast`` the network runs in bfloat16 (or float16)
    and its logits come out so; they are scored in float32, and the
    gradient is handed back in float32 at least, whatever dtype the input
    had: the entropy quantisation and the ROI thresholds that follow need
    its small values.

    Args:
        logits (torch.Tensor): ``(N, K)`` unnormalised class scores, computed
            from ``inputs`` inside :func:`record_relus` (or
            :func:`saliency_mode`).
        inputs (torch.Tensor): ``(N, C, H, W)`` tensor with
            ``requires_grad``.
        targets (torch.Tensor): ``(N,)`` class index per sample.
        rule (str): ``'guided'`` or ``'plain'``.
        retain_graph (bool): Keep the graph for a later backward (e.g. the
            training loss).
        score (str): What is differentiated (:func:`class_scores`):
            ``'logit'`` (the default) or ``'log_odds'``.

    Returns:
        torch.Tensor: ``(N, C, H, W)`` gradients, float32 (float64 for a
        float64 input).
    """
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    total = class_scores(logits, targets, score).sum()
    with backward_rule(rule):
        grad, = torch.autograd.grad(
            total, inputs, retain_graph=retain_graph)
    return grad.to(torch.promote_types(grad.dtype, torch.float32))


def saliency(forward_fn: Callable[[torch.Tensor], torch.Tensor],
             model: nn.Module,
             inputs: torch.Tensor,
             targets: Optional[torch.Tensor] = None,
             rule: str = 'guided') -> Tuple[torch.Tensor, torch.Tensor]:
    """Guided-backprop (or plain) saliency of a batch.

    Args:
        forward_fn (callable): Maps ``(N, C, H, W)`` inputs to ``(N, K)``
            logits, e.g. ``lambda x: clf.head(clf.neck(clf.backbone(x)))``.
        model (nn.Module): The module(s) ``forward_fn`` runs, switched to
            eval mode with frozen parameters for the duration.
        inputs (torch.Tensor): ``(N, C, H, W)`` batch on the model's device.
        targets (torch.Tensor, optional): ``(N,)`` classes to explain;
            None explains each sample's predicted class.
        rule (str): ``'guided'`` (Springenberg) or ``'plain'`` (Simonyan).

    Returns:
        tuple: ``(gradients (N, C, H, W), logits (N, K))``.
    """
    if rule not in RULES:
        raise ValueError(f'unknown saliency rule {rule!r}; expected one of '
                         f'{RULES}')
    x = inputs.detach().requires_grad_(True)
    with torch.enable_grad(), saliency_mode(model):
        logits = forward_fn(x)
        if targets is None:
            targets = logits.argmax(dim=1)
        grad = class_score_gradients(logits, x, targets, rule)
    return grad, logits.detach()
