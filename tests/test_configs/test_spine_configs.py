"""Every spine config parses, loads radplugins and predicts on disc data."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, MODELS

from radplugins.datasets.transforms import RandomDiscAugment
from radplugins.utils import set_data_root
from tests.helpers import write_synthetic_spine

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'spine', '*.py')))


@pytest.fixture(scope='module')
def spine_root(tmp_path_factory):
    return write_synthetic_spine(str(tmp_path_factory.mktemp('spine')))


def test_branch_point_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    for point in ('conv3', 'conv4', 'conv5', 'fc6', 'none'):
        assert f'spinenet_vggm1024-{point}_1xb256_1000e_spine.py' in names


PAPER_AUGMENT_CONFIGS = [p for p in CONFIGS if 'paper-augment' in p]


def test_paper_augment_configs_exist():
    names = {osp.basename(p) for p in PAPER_AUGMENT_CONFIGS}
    assert any(name.startswith('spinenet_') for name in names)
    assert any(name.startswith('spinenet-hotspots') for name in names)


@pytest.mark.parametrize('path', PAPER_AUGMENT_CONFIGS, ids=osp.basename)
def test_paper_augment_configs_use_section_4_ranges(path):
    # Section 4: rotation +-15 deg, shift +-32 / +-24 px, +-2 slices,
    # scale 90-110 %, intensity +-0.1, slice flip.
    section_4 = dict(max_angle=15.0, max_shift=(32.0, 24.0),
                     max_slice_shift=2, scale_range=(0.9, 1.1),
                     max_intensity=0.1, flip_prob=0.5)
    cfg = Config.fromfile(path)
    if cfg.model.hotspot_cfg.get('enabled'):
        kwargs = cfg.model.hotspot_cfg.aug_kwargs or {}
    else:
        [kwargs] = [t for t in cfg.train_dataloader.dataset.pipeline
                    if t['type'] == 'RandomDiscAugment']
        kwargs = {k: v for k, v in kwargs.items() if k != 'type'}
    assert RandomDiscAugment(**kwargs).kwargs == section_4


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_predicts_one_disc(path, spine_root):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(
        imports=['radplugins'], allow_failed_imports=False)
    assert cfg.load_from is None
    point = osp.basename(path).split('_')[1].split('-')[-1]
    assert str(cfg.model.branch_point).lower() == point
    if '1000e' in path:  # the paper's schedule and batch
        assert cfg.train_dataloader.batch_size == 256
        assert cfg.optim_wrapper.optimizer.lr == 1e-3
        assert cfg.param_scheduler[0].type == 'ReduceOnPlateauLR'
        assert cfg.model.tta
    set_data_root(cfg, spine_root)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    sample = dataset[0]
    assert sample['inputs'].shape == (9, 112, 224)
    # Full-width VGG-M towers are ~40M parameters each: test the wiring
    # at a small width.
    cfg.model.backbone.widths = (4, 8, 8, 8, 8, 16, 16)
    cfg.model.tta_chunk = 1
    if cfg.model.hotspot_cfg.enabled:
        cfg.model.hotspot_cfg.num_aug = 2
    model = MODELS.build(cfg.model).eval()
    data = model.data_preprocessor(pseudo_collate([sample]))
    out = model(**data, mode='predict')[0]
    assert out.task_preds.shape == (6, )
    assert torch.isclose(out.task_scores['pfirrmann'].sum(), torch.tensor(1.))
