"""Every shipped config parses, loads radplugins, and runs on MURA data."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, MODELS

from radplugins.datasets.synthetic import GROUND_TRUTH_FILE
from radplugins.utils import set_data_root
from tests.helpers import write_synthetic_mura

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    # Detection configs are MMDetection's (test_detection_configs.py); spine
    # configs read disc volumes (test_spine_configs.py), FracAtlas configs
    # its layout (test_fracatlas_configs.py).
    if '_base_' not in p and f'{osp.sep}detection{osp.sep}' not in p
    and f'{osp.sep}spine{osp.sep}' not in p
    and f'{osp.sep}fracatlas{osp.sep}' not in p)


def test_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    assert {
        'baseline_vgg19_1xb32_30e_mura.py',
        'baseline_densenet169_1xb8_30e_mura.py',
        'baseline_resnet18_1xb16_8e_synthetic-mura.py'
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_runs_one_sample(path, mura_root, tmp_path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(
        imports=['radplugins'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmpretrain'
    # Which configs name model-zoo weights, and which exactly, is
    # test_pretrained_weights.py's; building a model reads none of them
    # (only init_weights does).
    assert cfg.load_from is None

    # Synthetic configs may read the generator's box ground truth, which
    # the hand-written fixture lacks.
    data_root = write_synthetic_mura(str(tmp_path / 'synthetic')) \
        if 'synthetic' in osp.basename(path) else mura_root
    set_data_root(cfg, data_root)
    for transform in cfg.test_dataloader.dataset.pipeline:
        if transform.get('regions_file'):
            # The generator's ground truth has the flag regions too.
            transform.regions_file = osp.join(data_root, 'MURA-v1.1',
                                              GROUND_TRUTH_FILE)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    sample = dataset[0]
    keys = ['study_id', 'body_part']
    if cfg.test_dataloader.dataset.get('ground_truth'):
        keys += ['gt_abnormal_boxes', 'gt_abnormal_kinds', 'gt_flag_boxes']
    for key in keys:
        assert key in sample['data_samples'].metainfo, key

    # As MMPretrain's runner does: the top-level data preprocessor goes
    # into the model (the zoom model finishes its crops with it).
    model_cfg = cfg.model.copy()
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([sample]))
        out = model(**data, mode='predict')
    assert out[0].pred_score.shape == (2, )
    assert torch.isclose(out[0].pred_score.sum(), torch.tensor(1.0))
