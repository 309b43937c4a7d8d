"""The documented checkpoint chains still load under the checked loading.

``tools/train.py`` with ``load_from`` and ``tools/test.py`` refuse a
checkpoint that does not fit the model (radplugins.engine.
CheckpointCheckedRunner). Each pair below is a checkpoint written by one
config and loaded by another, as the Makefile's demo and the docs do: the
second config's model must take all of the first's weights, except under
the prefixes its ``load_from_allow_missing`` / ``load_from_allow_unexpected``
allow for fine-tuning.
"""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, MODELS

from radplugins.utils import CheckpointError, load_state_dict_checked

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MURA = 'configs/mura'
SPINE = 'configs/spine'
TINY = 'tests/data'


def makefile_variable(name):
    with open(osp.join(ROOT, 'Makefile')) as f:
        (value, ) = re.findall(rf'^{name} \?= (\S+)$', f.read(), re.M)
    return value


# (written by, loaded by, for training i.e. with the allowances)
CHAINS = [
    # make demo: the control and the zoom fine-tune from the baseline
    (makefile_variable('DEMO_CONFIG'), makefile_variable('DEMO_FT_CONFIG'),
     True),
    (makefile_variable('DEMO_CONFIG'), makefile_variable('DEMO_ZOOM_CONFIG'),
     True),
    (f'{MURA}/baseline_resnetv1d18_1xb16_8e_synthetic-mura.py',
     f'{MURA}/zoom_resnetv1d18_1xb16_3e-ft_synthetic-mura.py', True),
    (f'{MURA}/baseline_resnet18_1xb16_8e_synthetic-mura.py',
     f'{MURA}/zoom_resnet18_1xb16_3e-ft_synthetic-mura.py', True),
    # early fusion from a single-view checkpoint (its load hook maps it)
    (f'{TINY}/tiny_resnet18_synthetic-mura.py',
     f'{TINY}/tiny_earlyfusion_resnet18_synthetic-mura.py', True),
    # docs/models/spinenet.md: fine-tunes, then the hotspot test
    (f'{SPINE}/spinenet_vggm1024-slim-conv5_1xb32_150e_synthetic-spine.py',
     f'{SPINE}/spinenet_vggm1024-slim-conv5_1xb32_300e-ft30e_'
     'synthetic-spine-1000p.py', True),
    (f'{SPINE}/spinenet_vggm1024-slim-conv5_1xb32_300e-ft30e_'
     'synthetic-spine-1000p.py',
     f'{SPINE}/spinenet_vggm1024-slim-conv5_1xb32_ft30e-ft20e-paper-augment_'
     'synthetic-spine-1000p.py', True),
    (f'{SPINE}/spinenet_vggm1024-slim-conv5_1xb32_ft30e-ft20e-paper-augment_'
     'synthetic-spine-1000p.py',
     f'{SPINE}/spinenet-hotspots-per-task_vggm1024-slim-conv5_1xb32_'
     'ft20e-paper-augment_synthetic-spine.py', False),
]


def build_model(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    model_cfg = cfg.model
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return cfg, MODELS.build(model_cfg)


def randomized(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.randn(value.shape, generator=gen))
    return model


@pytest.mark.parametrize(
    'source,target,training', CHAINS,
    ids=[f'{osp.basename(t)}<-{osp.basename(s)}' for s, t, _ in CHAINS])
def test_checkpoint_chain_loads(source, target, training):
    _, written = build_model(source)
    state = randomized(written, 0).state_dict()
    cfg, model = build_model(target)
    allow = dict(
        allow_missing=cfg.get('load_from_allow_missing'),
        allow_unexpected=cfg.get('load_from_allow_unexpected')) \
        if training else {}
    found = load_state_dict_checked(model, dict(state_dict=state), source,
                                    **allow)
    loaded = model.state_dict()
    # Every weight of the source arrived (under its own name, or under the
    # target's name for keys a load hook renames).
    same = [k for k in state if k in loaded and k not in found.unexpected
            and not any(k == m for m, _ in found.mismatched)]
    assert same, 'no weight was loaded'
    for key in same:
        if loaded[key].shape == state[key].shape:
            torch.testing.assert_close(loaded[key], state[key], msg=key)


def test_a_checkpoint_of_another_model_does_not_pass_for_the_zoom():
    """The chain check can fail: the zoom fine-tune refuses a RA-CNN's."""
    _, racnn = build_model(f'{TINY}/tiny_racnn_resnet18_synthetic-mura.py')
    cfg, zoom = build_model(makefile_variable('DEMO_ZOOM_CONFIG'))
    with pytest.raises(CheckpointError, match='racnn.pth does not fit the '
                       r'model \(ZoomInClassifier\)'):
        load_state_dict_checked(
            zoom, racnn.state_dict(), 'racnn.pth',
            allow_missing=cfg.get('load_from_allow_missing'),
            allow_unexpected=cfg.get('load_from_allow_unexpected'))
