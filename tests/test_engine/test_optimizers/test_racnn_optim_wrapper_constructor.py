import pytest
import torch.nn as nn
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


def build_model():
    return MODELS.build(
        dict(
            type='RACNNClassifier',
            num_scales=2,
            backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=2, in_channels=512),
            apn=dict(in_channels=512, pool_size=1, hidden_channels=8)))


def build(**cfg):
    return OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type='RACNNOptimWrapperConstructor', optim_wrapper_cfg=cfg))


def test_the_two_wrappers_split_the_parameters():
    model = build_model()
    wrappers = build(
        classifier=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        apn=dict(optimizer=dict(type='Adam', lr=1e-4)))(model)
    assert isinstance(wrappers, OptimWrapperDict)
    ids = {
        key: {id(p) for g in wrappers[key].optimizer.param_groups
              for p in g['params']}
        for key in ('classifier', 'apn')
    }
    assert ids['apn'] == {id(p) for p in model.apns.parameters()}
    assert ids['classifier'] == {
        id(p) for n, p in model.named_parameters()
        if not n.startswith('apns.')
    }
    assert wrappers['apn'].optimizer.defaults['lr'] == 1e-4
    assert type(wrappers['classifier'].optimizer).__name__ == 'SGD'


def test_wrong_keys_and_models_are_named():
    with pytest.raises(ValueError, match="'classifier', 'apn'"):
        build(classifier=dict(optimizer=dict(type='SGD', lr=0.1)))
    constructor = build(
        classifier=dict(optimizer=dict(type='SGD', lr=0.1)),
        apn=dict(optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(TypeError, match='RACNNClassifier'):
        constructor(nn.Linear(2, 2))
