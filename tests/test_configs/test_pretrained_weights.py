"""The real-data configs start from the OpenMMLab model zoo's weights.

Each URL must be the one the installed MMPretrain / MMDetection publish in
their metafiles (``.mim/configs/*/metafile.yml``). With ``TORCH_HOME`` at a
temporary folder holding a file of that name (stand-in weights shaped as
the published architecture, built from the metafile's own config),
building the model loads exactly those weights into the backbone and
leaves the head alone; detectors load theirs through ``load_from`` with
the config's allowances. Every other config names no weights at all. No
test touches the network.
"""
import functools
import glob
import os
import os.path as osp

import mmdet
import mmpretrain
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from radplugins.models.backbones import EarlyFusionBackbone
from radplugins.utils import (hub_cache_path, load_state_dict_checked,
                              read_checkpoint)
from tests.helpers import block_network, fake_weights

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIM = {
    'mmpretrain': osp.join(osp.dirname(mmpretrain.__file__), '.mim'),
    'mmdet': osp.join(osp.dirname(mmdet.__file__), '.mim'),
}
VGG19 = ('mmpretrain', 'vgg', 'vgg19_8xb32_in1k')
# config -> (package, metafile folder, model name in the metafile)
CLASSIFIERS = {
    'configs/mura/baseline_vgg19_1xb32_30e_mura.py': VGG19,
    'configs/mura/zoom_vgg19_1xb32_30e_mura.py': VGG19,
    'configs/mura/racnn_vgg19_1xb8_30e_mura.py': VGG19,
    'configs/mura/earlyfusion_vgg19_1xb8_30e_mura.py': VGG19,
    'configs/mura/latefusion_vgg19_1xb8_30e_mura.py': VGG19,
    'configs/mura/baseline_densenet169_1xb8_30e_mura.py':
    ('mmpretrain', 'densenet', 'densenet169_3rdparty_in1k'),
    'configs/mura/features_resnet152_1xb32_2e-ft_mura.py':
    ('mmpretrain', 'resnet', 'resnet152_8xb32_in1k'),
    'configs/fracatlas/baseline_vgg19_1xb32_30e_fracatlas.py': VGG19,
    'configs/fracatlas/zoom_vgg19_1xb32_30e_fracatlas.py': VGG19,
}
DETECTORS = {
    'configs/detection/faster-rcnn_r50_fpn_1x_flag-implant.py':
    ('mmdet', 'faster_rcnn', 'faster-rcnn_r50_fpn_1x_coco'),
    'configs/detection/mask-rcnn_r50_fpn_1x_flag-implant.py':
    ('mmdet', 'mask_rcnn', 'mask-rcnn_r50_fpn_1x_coco'),
}
ALL_CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True) if '_base_' not in p)
OTHERS = [p for p in ALL_CONFIGS if p not in CLASSIFIERS and
          p not in DETECTORS]


@functools.lru_cache()
def metafile_entry(package, folder, name):
    path = osp.join(MIM[package], 'configs', folder, 'metafile.yml')
    with open(path) as f:
        models = yaml.safe_load(f)['Models']
    (entry, ) = [m for m in models if m['Name'] == name]
    return entry


@functools.lru_cache()
def published_weights(package, folder, name):
    """Stand-ins for the published file: the metafile's own config's model
    (its architecture, head included), with new random values."""
    entry = metafile_entry(package, folder, name)
    cfg = Config.fromfile(osp.join(MIM[package], entry['Config']))
    with DefaultScope.overwrite_default_scope(package):
        model = MODELS.build(cfg.model)
    return fake_weights(model.state_dict(), seed=1)


def pretrained_init_cfgs(node, path='model'):
    """(where, init_cfg) of every Pretrained init_cfg in a model config."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            yield f'{path}.init_cfg', init
        for key, value in node.items():
            yield from pretrained_init_cfgs(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from pretrained_init_cfgs(value, f'{path}[{i}]')


def build(cfg):
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(model_cfg)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, '_hub_dir', None)
    return tmp_path / 'torch_home'


@pytest.fixture
def no_network(monkeypatch):
    attempts = block_network(monkeypatch)
    yield
    assert attempts == [], 'the network was touched'


def cache(url, state_dict):
    """Write a checkpoint where MMEngine looks for the URL's file."""
    path = hub_cache_path(url)
    assert path == osp.join(os.environ['TORCH_HOME'], 'hub', 'checkpoints',
                            url.rsplit('/', 1)[1])
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=dict(epoch=100)), path)
    return path


def test_the_lists_name_existing_configs():
    missing = [p for p in [*CLASSIFIERS, *DETECTORS] if p not in ALL_CONFIGS]
    assert not missing
    # The demo configs stay from scratch.
    assert not [p for p in [*CLASSIFIERS, *DETECTORS] if 'synthetic' in p]


@pytest.mark.parametrize('path', sorted(CLASSIFIERS))
def test_classifier_url_is_the_metafiles(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    entry = metafile_entry(*CLASSIFIERS[path])
    inits = list(pretrained_init_cfgs(cfg.model))
    assert len(inits) == 1, inits
    where, init = inits[0]
    assert init.checkpoint == entry['Weights'], where
    assert init.prefix == 'backbone'
    assert cfg.get('load_from') is None


@pytest.mark.parametrize('path', sorted(DETECTORS))
def test_detector_url_is_the_metafiles(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    entry = metafile_entry(*DETECTORS[path])
    assert cfg.load_from == entry['Weights']
    # load_from replaces the backbone: no ImageNet file is read first.
    assert not list(pretrained_init_cfgs(cfg.model))
    # COCO's recipe for a pretrained backbone (MMDetection's defaults).
    assert cfg.model.backbone.frozen_stages == 1
    assert cfg.model.backbone.norm_eval is True


@pytest.mark.parametrize('path', OTHERS)
def test_other_configs_name_no_weights(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    assert cfg.get('load_from') is None
    assert not list(pretrained_init_cfgs(cfg.model))
    assert '://' not in str(cfg.to_dict())


def module_expectations(model):
    """(name, module, init_cfg) of every module a Pretrained init_cfg
    initialises."""
    for name, module in model.named_modules():
        init = getattr(module, 'init_cfg', None)
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            yield name, module, init


def first_values(tensor):
    """Up to 8 values of the tensor's first row (no copy of the rest)."""
    while tensor.dim() > 1:
        tensor = tensor[0]
    return tuple(tensor[:8].tolist())


def assert_equal(value, source, msg):
    # Exact: the load copies the file's values. (torch.equal compares the
    # stand-ins' repeated rows without materialising them.)
    assert value.shape == source.shape, msg
    assert torch.equal(value, source), msg


# The FracAtlas VGG19 configs build the MURA ones' models (checked below),
# so their loading is tested once.
SAME_MODEL = {
    'configs/fracatlas/baseline_vgg19_1xb32_30e_fracatlas.py':
    'configs/mura/baseline_vgg19_1xb32_30e_mura.py',
    'configs/fracatlas/zoom_vgg19_1xb32_30e_fracatlas.py':
    'configs/mura/zoom_vgg19_1xb32_30e_mura.py',
}


@pytest.mark.parametrize('path', sorted(SAME_MODEL))
def test_fracatlas_vgg19_models_are_the_mura_ones(path):
    ours = Config.fromfile(osp.join(ROOT, path)).model.to_dict()
    mura = Config.fromfile(osp.join(ROOT, SAME_MODEL[path])).model.to_dict()
    assert ours == mura


@pytest.mark.parametrize(
    'path', sorted(p for p in CLASSIFIERS if p not in SAME_MODEL))
def test_classifier_loads_exactly_the_cached_file(path, torch_home,
                                                  no_network):
    cfg = Config.fromfile(osp.join(ROOT, path))
    ((_, init), ) = pretrained_init_cfgs(cfg.model)
    published = published_weights(*CLASSIFIERS[path])
    cache(init.checkpoint, published)

    model = build(cfg)
    targets = list(module_expectations(model))
    assert targets, 'no module has the Pretrained init_cfg'
    model.init_weights()

    fused = getattr(model, 'backbone', None)
    first_conv = (fused.first_conv_name + '.weight'
                  if isinstance(fused, EarlyFusionBackbone) else None)
    for name, module, init in targets:
        allowed = tuple(init.get('allow_missing', ()))
        kept = []
        for key, value in module.state_dict().items():
            source = published[f'backbone.{key}']
            if key.startswith(allowed):
                # The 2-class last layer: not ImageNet's 1000 classes.
                assert value.shape != source.shape, key
                assert first_values(value) != first_values(source), key
                kept.append(key)
            elif key == first_conv:
                assert_equal(
                    value,
                    EarlyFusionBackbone.replicate_weight(
                        source, fused.num_views), f'{name}.{key}')
            else:
                assert_equal(value, source, f'{name}.{key}')
        assert kept == [f'{p}{s}' for p in allowed
                        for s in ('weight', 'bias')]
    # Nothing outside the initialised backbones took the file's values:
    # the head (and necks, APNs) keep their own initialisation.
    loaded = tuple(f'{name}.' for name, _, _ in targets)
    file_values = {first_values(v) for v in published.values()
                   if v.is_floating_point() and v.numel() > 1}
    others = [k for k, v in model.state_dict().items()
              if not k.startswith(loaded) and v.is_floating_point()]
    for key in others:
        assert first_values(model.state_dict()[key]) not in file_values, key


def test_early_fusion_of_identical_views_is_the_imagenet_network(
        torch_home, no_network):
    """The inflated first convolution gives the single-view network's
    features when the six views are the same image."""
    fused_cfg = Config.fromfile(
        osp.join(ROOT, 'configs/mura/earlyfusion_vgg19_1xb8_30e_mura.py'))
    single_cfg = Config.fromfile(
        osp.join(ROOT, 'configs/mura/latefusion_vgg19_1xb8_30e_mura.py'))
    ((_, init), ) = pretrained_init_cfgs(fused_cfg.model)
    published = published_weights(*VGG19)
    cache(init.checkpoint, published)
    fused = build(fused_cfg).backbone
    single = build(single_cfg).backbone  # VGG19 convolutions, ImageNet's
    fused.init_weights()
    single.init_weights()
    views = fused.num_views
    assert views == 6
    conv = fused.backbone.features[0].conv.weight
    assert conv.shape == (64, 3 * views, 3, 3)
    torch.testing.assert_close(
        conv[:, 3:6], published['backbone.features.0.conv.weight'] / views)

    image = torch.randn(1, 3, 64, 64, generator=torch.Generator()
                        .manual_seed(0))
    with torch.no_grad():
        # The fused backbone's conv stack, without its fully connected
        # layers (the single-view one has none).
        stack = torch.nn.Sequential(*fused.backbone.features)
        out = stack(image.repeat(1, views, 1, 1))
        (reference, ) = single(image)
    torch.testing.assert_close(out, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('path', sorted(DETECTORS))
def test_detector_load_from_loads_exactly_the_cached_file(
        path, torch_home, no_network):
    cfg = Config.fromfile(osp.join(ROOT, path))
    published = published_weights(*DETECTORS[path])
    cache(cfg.load_from, published)
    model = build(cfg)
    # As CheckpointCheckedRunner loads load_from when training.
    found = load_state_dict_checked(
        model, read_checkpoint(cfg.load_from), cfg.load_from,
        allow_missing=cfg.load_from_allow_missing,
        allow_unexpected=cfg.get('load_from_allow_unexpected'))
    allowed = tuple(cfg.load_from_allow_missing)
    # Exactly the class-specific layers differ (COCO's 80 classes).
    assert sorted(k for k, _ in found.mismatched) == sorted(
        k for k in model.state_dict() if k.startswith(allowed))
    assert found.missing == [] and found.unexpected == []
    for key, value in model.state_dict().items():
        if key.startswith(allowed):
            assert value.shape != published[key].shape, key
        else:
            assert_equal(value, published[key], key)
