"""init_cfg=dict(type='Pretrained', ...) loads checked once radplugins is
imported: the part of the file named by prefix must fit the module."""
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import WEIGHT_INITIALIZERS, DefaultScope

from radplugins.utils import CheckedPretrainedInit, CheckpointError


class Backbone(BaseModule):
    """Two layers and a BatchNorm, like a small backbone."""

    def __init__(self, hidden=4, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv = nn.Conv2d(3, hidden, 3)
        self.bn = nn.BatchNorm2d(hidden)
        self.fc = nn.Linear(hidden, 2)


class Classifier(BaseModule):

    def __init__(self, backbone_init=None):
        super().__init__()
        self.backbone = Backbone(init_cfg=backbone_init)
        self.head = nn.Linear(2, 2)


def released(tmp_path, drop=(), extra=None, seed=0, name='in1k.pth',
             classes=1000):
    """A released classifier checkpoint: backbone.*, a 1000-way head.*."""
    torch.manual_seed(seed)
    source = Classifier()
    state = {f'backbone.{k}': v for k, v in source.backbone.state_dict()
             .items() if k not in drop}
    state['head.weight'] = torch.randn(classes, 2)
    state['head.bias'] = torch.randn(classes)
    state.update(extra or {})
    path = str(tmp_path / name)
    torch.save(dict(state_dict=state, meta=dict(epoch=100)), path)
    return path, state


@pytest.mark.parametrize('scope', [None, 'mmpretrain', 'mmdet'])
def test_pretrained_is_the_checked_initialiser_in_every_scope(scope):
    with DefaultScope.overwrite_default_scope(scope):
        init = WEIGHT_INITIALIZERS.build(
            dict(type='Pretrained', checkpoint='x.pth', prefix='backbone'))
    assert type(init) is CheckedPretrainedInit


def test_the_backbone_loads_the_head_does_not(tmp_path):
    path, state = released(tmp_path)
    model = Classifier(
        dict(type='Pretrained', checkpoint=path, prefix='backbone'))
    head_before = model.head.weight.clone()
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert set(loaded) == {k[len('backbone.'):] for k in state
                           if k.startswith('backbone.')}
    for key, value in loaded.items():
        torch.testing.assert_close(value, state[f'backbone.{key}'], msg=key)
    torch.testing.assert_close(model.head.weight, head_before)


def test_a_missing_backbone_weight_is_an_error(tmp_path):
    path, _ = released(tmp_path, drop=('bn.weight', 'fc.bias'))
    model = Classifier(
        dict(type='Pretrained', checkpoint=path, prefix='backbone'))
    with pytest.raises(CheckpointError) as err:
        model.init_weights()
    message = str(err.value)
    assert message.startswith(
        f'{path} (backbone.*) does not fit the model (Backbone): 2 missing '
        'key(s) (the model has them, the file does not): bn.weight, '
        'fc.bias.')
    assert "init_cfg's allow_missing" in message


def test_allowed_differences_load_the_rest(tmp_path):
    # The file's last layer has 1000 classes; the model's has 2.
    path, state = released(
        tmp_path,
        extra={'backbone.fc.weight': torch.randn(1000, 4),
               'backbone.fc.bias': torch.randn(1000),
               'backbone.extra.weight': torch.randn(3)})
    init = dict(type='Pretrained', checkpoint=path, prefix='backbone')
    with pytest.raises(CheckpointError) as err:
        Classifier(init).init_weights()
    assert '2 shape mismatch(es): fc.weight (file [1000, 4] vs model [2, '\
        '4]), fc.bias (file [1000] vs model [2])' in str(err.value)
    assert '1 unexpected key(s) (the file has them, the model does not): ' \
        'extra.weight' in str(err.value)

    model = Classifier(dict(init, allow_missing=['fc.'],
                            allow_unexpected=['extra.']))
    fc_before = model.backbone.fc.weight.clone()
    model.init_weights()
    torch.testing.assert_close(model.backbone.conv.weight,
                               state['backbone.conv.weight'])
    torch.testing.assert_close(model.backbone.bn.running_var,
                               state['backbone.bn.running_var'])
    torch.testing.assert_close(model.backbone.fc.weight, fc_before)


def test_a_prefix_the_file_lacks_is_an_error(tmp_path):
    path, _ = released(tmp_path)
    model = Classifier(dict(type='Pretrained', checkpoint=path,
                            prefix='encoder'))
    with pytest.raises(CheckpointError) as err:
        model.init_weights()
    assert str(err.value) == (
        f"{path}: no weights under the prefix 'encoder.' (the init_cfg's "
        "prefix='encoder'); the file's keys start with 'backbone.', 'head.'")


def test_without_prefix_the_whole_file_must_fit(tmp_path):
    path, state = released(tmp_path)
    model = Classifier()
    model.init_cfg = dict(type='Pretrained', checkpoint=path)
    with pytest.raises(CheckpointError, match=r'\(Classifier\): 2 shape '
                       r'mismatch\(es\): head.weight \(file \[1000, 2\] vs '
                       r'model \[2, 2\]\), head.bias'):
        model.init_weights()
    path, state = released(tmp_path, classes=2, name='same.pth')
    model = Classifier()
    model.init_cfg = dict(type='Pretrained', checkpoint=path)
    model.init_weights()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key], msg=key)


def test_allowances_must_be_lists_of_prefixes():
    with pytest.raises(TypeError, match="allow_missing must be a list of "
                       r"non-empty key prefixes such as \['head.'\], got "
                       "'classifier.6.'"):
        CheckedPretrainedInit('x.pth', allow_missing='classifier.6.')
    with pytest.raises(TypeError, match='allow_unexpected must'):
        CheckedPretrainedInit('x.pth', allow_unexpected=[''])


def test_an_unreadable_file_is_named(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    model = Classifier(dict(type='Pretrained', checkpoint=str(path),
                            prefix='backbone'))
    with pytest.raises(CheckpointError, match=f'{path}: empty or truncated'):
        model.init_weights()
