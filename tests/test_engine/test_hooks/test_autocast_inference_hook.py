"""AutocastInferenceHook: validation and test steps under autocast, float32
predictions."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmpretrain.registry import HOOKS, MODELS
from mmpretrain.structures import DataSample

from radplugins.utils import precision


def build_classifier():
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='ImageClassifier',
            # A slim ResNet-18: 8 to 64 channels.
            backbone=dict(type='ResNet', depth=18, stem_channels=8,
                          base_channels=8, out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=64),
            data_preprocessor=dict(mean=[128.] * 3, std=[64.] * 3))).eval()


def batch():
    g = torch.Generator().manual_seed(0)
    return dict(
        inputs=[torch.rand(3, 32, 32, generator=g) * 255 for _ in range(3)],
        data_samples=[DataSample().set_gt_label(i % 2) for i in range(3)])


@pytest.fixture
def bf16_cpu(monkeypatch):
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)


def test_found_from_both_scopes():
    for registry in (HOOKS, ROOT_HOOKS):
        assert registry.get('AutocastInferenceHook') is not None
        assert registry.get('ChannelsLastHook') is not None


@pytest.mark.parametrize('phase', ['val', 'test'])
def test_epoch_runs_in_bfloat16_and_hands_on_float32(bf16_cpu, phase):
    model = build_classifier()
    runner = SimpleNamespace(model=model)
    hook = HOOKS.build(dict(type='AutocastInferenceHook'))
    step = f'{phase}_step'
    with torch.no_grad():
        expected = [s.pred_score for s in getattr(model, step)(batch())]
        getattr(hook, f'before_{phase}_epoch')(runner)
        seen = []
        model.register_forward_hook(
            lambda m, i, o: seen.append(torch.is_autocast_enabled('cpu')))
        outputs = getattr(model, step)(batch())
        getattr(hook, f'after_{phase}_epoch')(runner)
        assert seen == [True]
        for sample, ref in zip(outputs, expected):
            # The metrics get float32 probabilities, close to float32's,
            # but from a bfloat16 forward.
            assert sample.pred_score.dtype == torch.float32
            torch.testing.assert_close(sample.pred_score, ref, atol=0.05,
                                       rtol=0)
        assert any(not torch.equal(s.pred_score, r)
                   for s, r in zip(outputs, expected))
        # Restored after the epoch.
        assert step not in vars(model)
        again = getattr(model, step)(batch())
        assert seen == [True, False]
        for sample, ref in zip(again, expected):
            assert torch.equal(sample.pred_score, ref)


def test_after_run_restores_an_interrupted_epoch(bf16_cpu):
    model = build_classifier()
    runner = SimpleNamespace(model=model)
    hook = HOOKS.build(dict(type='AutocastInferenceHook'))
    hook.before_test_epoch(runner)
    assert 'test_step' in vars(model)
    hook.after_run(runner)
    assert 'test_step' not in vars(model)


def test_unknown_dtype_is_named():
    with pytest.raises(ValueError, match="'int8'"):
        HOOKS.build(dict(type='AutocastInferenceHook', dtype='int8'))


def test_channels_last_hook_converts_the_model_before_each_loop():
    model = build_classifier()
    runner = SimpleNamespace(model=model)
    hook = HOOKS.build(dict(type='ChannelsLastHook'))
    for event in ('before_train', 'before_val', 'before_test'):
        model.to(memory_format=torch.contiguous_format)
        weight = model.backbone.conv1.weight
        assert not weight.is_contiguous(memory_format=torch.channels_last)
        getattr(hook, event)(runner)
        assert weight.is_contiguous(memory_format=torch.channels_last)
