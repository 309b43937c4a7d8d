import re

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseTTAModel

from radplugins.utils import (CheckpointError, check_training_checkpoint,
                              load_model_checkpoint, load_state_dict_checked,
                              read_checkpoint)


class Net(nn.Module):
    """A backbone with BatchNorm and a head, like a classifier."""

    def __init__(self, classes=2, hidden=4):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(3, hidden),
                                      nn.BatchNorm1d(hidden))
        self.head = nn.Linear(hidden, classes)

    def test_step(self, data):  # what a test-time-augmentation wrapper needs
        raise AssertionError('not run')


class Unlisted:
    """A class torch's safe loader does not know."""


def randomized(module, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for value in module.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.randn(value.shape, generator=gen))
    return module


def assert_loaded(model, state_dict, keys):
    for key in keys:
        torch.testing.assert_close(model.state_dict()[key], state_dict[key])


# --------------------------------------------------------------------------
# reading files


def test_reads_a_training_checkpoint_and_a_bare_state_dict(tmp_path):
    state = randomized(Net(), 0).state_dict()
    for name, obj in (('ckpt.pth', dict(state_dict=state, meta={})),
                      ('bare.pth', state)):
        torch.save(obj, tmp_path / name)
        loaded = read_checkpoint(str(tmp_path / name))
        weights = loaded.get('state_dict', loaded)
        assert weights.keys() == state.keys()
        for key, value in state.items():
            torch.testing.assert_close(weights[key], value)


def test_empty_file_is_named(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(str(path))
    assert str(err.value).startswith(f'{path}: empty or truncated '
                                     'checkpoint file (0 bytes)')


def test_truncated_file_is_named(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save(dict(state_dict=Net().state_dict()), path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(str(path))
    message = str(err.value)
    assert message == (f'{path}: truncated or corrupt checkpoint file '
                       f'({len(data) // 2} bytes): torch cannot read it as '
                       'a zip archive (PytorchStreamReader failed reading '
                       'zip archive: failed finding central directory)')


def test_untrusted_object_names_file_and_global_not_weights_only(tmp_path):
    path = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict=Net().state_dict(), extra=Unlisted()), path)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(str(path))
    message = str(err.value)
    assert message.startswith(
        f'{path}: not a trusted training checkpoint of this project')
    assert f'first disallowed global: {Unlisted.__module__}.Unlisted' \
        in message
    # torch's advice to switch the safety off is not passed on.
    assert 'weights_only' not in message


def test_file_that_is_not_a_pickle_is_named(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('these are not weights\n')
    with pytest.raises(CheckpointError, match=re.escape(f'{path}: not a ')):
        read_checkpoint(str(path))


def test_a_lone_tensor_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'tensor.pth'
    torch.save(torch.zeros(3), path)
    with pytest.raises(CheckpointError,
                       match=re.escape(f'{path}: holds a Tensor')):
        read_checkpoint(str(path))


def test_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        read_checkpoint(str(tmp_path / 'nope.pth'))


# --------------------------------------------------------------------------
# loading weights


def test_exact_checkpoint_loads_everything():
    source = randomized(Net(), 1).state_dict()
    model = Net()
    found = load_state_dict_checked(model, dict(state_dict=source), 'a.pth')
    assert not any(found)
    assert_loaded(model, source, source)


def test_checkpoint_of_another_model_names_file_and_keys():
    other = randomized(Net(classes=5, hidden=6), 2).state_dict()
    other['neck.weight'] = torch.zeros(2)
    with pytest.raises(CheckpointError) as err:
        load_state_dict_checked(Net(), dict(state_dict=other), 'other.pth')
    message = str(err.value)
    assert message.startswith('other.pth does not fit the model (Net): ')
    assert '1 unexpected key(s) (the file has them, the model does not): ' \
        'neck.weight' in message
    # Linear, BatchNorm (4 tensors) and head: 8, the first 5 listed.
    assert '8 shape mismatch(es): backbone.0.weight (file [6, 3] vs model ' \
        '[4, 3]), backbone.0.bias (file [6] vs model [4]), ' in message
    assert ', ... (3 more)' in message and 'head.weight' not in message
    assert 'missing' not in message


def test_missing_keys_are_an_error_unless_their_prefix_is_allowed():
    source = randomized(Net(), 3).state_dict()
    backbone = {k: v for k, v in source.items() if k.startswith('backbone')}
    with pytest.raises(CheckpointError,
                       match=r'2 missing key\(s\) \(the model has them, the '
                       r'file does not\): head.weight, head.bias'):
        load_state_dict_checked(Net(), backbone, 'b.pth')

    model = Net()
    initial_head = {k: v.clone() for k, v in model.head.state_dict().items()}
    found = load_state_dict_checked(
        model, backbone, 'b.pth', allow_missing=['head.'])
    assert found.missing == ['head.weight', 'head.bias']
    assert_loaded(model, source, backbone)
    for key, value in initial_head.items():
        torch.testing.assert_close(model.head.state_dict()[key], value)


def test_shape_mismatch_under_an_allowed_prefix_keeps_initial_values():
    source = randomized(Net(classes=5), 4).state_dict()
    model = Net(classes=2)
    initial = model.head.weight.detach().clone()
    found = load_state_dict_checked(
        model, source, 'c.pth', allow_missing=['head.'])
    assert [k for k, _ in found.mismatched] == ['head.weight', 'head.bias']
    torch.testing.assert_close(model.head.weight, initial)
    assert_loaded(model, source,
                  [k for k in source if k.startswith('backbone')])


def test_unexpected_keys_are_an_error_unless_allowed():
    source = randomized(Net(), 5).state_dict()
    source['mask_head.conv.weight'] = torch.ones(1)
    with pytest.raises(CheckpointError,
                       match=r'unexpected key\(s\) .*: mask_head.conv.weight'):
        load_state_dict_checked(Net(), source, 'd.pth')
    model = Net()
    found = load_state_dict_checked(
        model, source, 'd.pth', allow_unexpected=['mask_head.'])
    assert found.unexpected == ['mask_head.conv.weight']
    assert_loaded(model, source, model.state_dict())


def test_only_the_first_keys_are_listed():
    with pytest.raises(CheckpointError) as err:
        load_state_dict_checked(nn.Module(), {f'k{i}': torch.zeros(1)
                                              for i in range(8)}, 'e.pth')
    assert '8 unexpected key(s)' in str(err.value)
    assert 'k0, k1, k2, k3, k4, ... (3 more)' in str(err.value)
    assert 'k5' not in str(err.value)


def test_hint_is_appended():
    with pytest.raises(CheckpointError, match=r'values\. Try this\.$'):
        load_state_dict_checked(Net(), {}, 'f.pth', hint='Try this.')


def test_ddp_prefix_wrappers_and_batchnorm_counter():
    source = randomized(Net(), 6).state_dict()
    # Saved from a DDP-wrapped model, and before BatchNorm had a counter.
    saved = {f'module.{k}': v for k, v in source.items()
             if not k.endswith('num_batches_tracked')}
    for model in (Net(), nn.DataParallel(Net())):
        found = load_state_dict_checked(model, saved, 'g.pth')
        assert not any(found)
        inner = getattr(model, 'module', model)
        assert_loaded(inner, source, [
            k for k in source if not k.endswith('num_batches_tracked')])


def test_tta_wrapper_loads_the_wrapped_model_only():
    """tools/test.py --tta: the detector's checkpoint goes into the wrapped
    model; the wrapper's own parts (e.g. a refiner) are not asked for."""

    class TTA(BaseTTAModel):

        def __init__(self, module):
            super().__init__(module=module)
            self.refiner = nn.Linear(2, 2)

        def merge_preds(self, data_samples_list):
            return data_samples_list

    source = randomized(Net(), 7).state_dict()
    model = TTA(Net())
    assert not any(load_state_dict_checked(model, source, 'h.pth'))
    assert_loaded(model.module, source, source)


def test_allowances_must_be_lists_of_prefixes():
    with pytest.raises(TypeError, match=r"allow_missing must be a list of "
                       r"non-empty key prefixes such as \['head.'\], got "
                       r"'head.'"):
        load_state_dict_checked(Net(), {}, 'i.pth', allow_missing='head.')


def test_load_model_checkpoint_reads_and_checks(tmp_path):
    path = tmp_path / 'net.pth'
    source = randomized(Net(), 8).state_dict()
    torch.save(dict(state_dict=source, meta=dict(epoch=3)), path)
    model = Net()
    assert load_model_checkpoint(model, str(path))['meta'] == dict(epoch=3)
    assert_loaded(model, source, source)
    with pytest.raises(CheckpointError,
                       match=re.escape(f'{path} does not fit the model')):
        load_model_checkpoint(Net(classes=3), str(path))


# --------------------------------------------------------------------------
# resuming


def test_weights_only_checkpoint_cannot_be_resumed():
    with pytest.raises(CheckpointError) as err:
        check_training_checkpoint(dict(state_dict={}), 'w.pth')
    assert str(err.value) == (
        'w.pth: not a training checkpoint (it has no meta.epoch, '
        'meta.iter, message_hub, optimizer), so --resume cannot continue '
        'a run from it. To start a new run from its weights, pass it as '
        '--cfg-options load_from=w.pth instead of --resume.')
    # A released checkpoint: meta without the loop's position.
    with pytest.raises(CheckpointError, match=r'it has no meta.epoch, '
                       r'meta.iter\)'):
        check_training_checkpoint(
            dict(state_dict={}, meta=dict(dataset_meta={}),
                 message_hub={}, optimizer={}), 'w.pth')
    check_training_checkpoint(
        dict(state_dict={}, meta=dict(epoch=1, iter=5), message_hub={},
             optimizer={}), 'w.pth')
