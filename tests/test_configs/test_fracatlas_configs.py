"""Every FracAtlas config parses, reads the FracAtlas layout with the right
split in each loader, and runs a sample through its model."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, MODELS

from radplugins.utils import set_data_root
from tests.helpers import write_fracatlas_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'fracatlas', '*.py')))


def test_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    assert {
        'baseline_resnetv1d18_1xb16_10e_fracatlas.py',
        'baseline_resnetv1d18_1xb16_1e-ft_fracatlas.py',
        'zoom_resnetv1d18_1xb16_1e-ft_fracatlas.py',
        'baseline_vgg19_1xb32_30e_fracatlas.py',
        'zoom_vgg19_1xb32_30e_fracatlas.py',
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_reads_its_splits_and_runs_one_sample(path, tmp_path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(
        imports=['radplugins'], allow_failed_imports=False)
    # Valid for every choice, test scored once: the loaders must not mix.
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.split == 'valid'
    assert cfg.test_dataloader.dataset.split == 'test'
    assert cfg.default_hooks.checkpoint.save_best == 'mura/image/auroc'
    zoom = cfg.model.type == 'ZoomInClassifier'
    evaluators = cfg.val_evaluator if isinstance(
        cfg.val_evaluator, list) else [cfg.val_evaluator]
    assert [e['type'] for e in evaluators] == (
        ['MuraKappa', 'ZoomLocalization'] if zoom else ['MuraKappa'])
    assert evaluators[0]['levels'] == ('image', )

    data_root = str(tmp_path / 'FracAtlas')
    write_fracatlas_fixture(data_root)
    set_data_root(cfg, data_root)
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].dataset.split = 'all'
        dataset = DATASETS.build(cfg[loader].dataset)
        sample = dataset[0]
        meta = sample['data_samples'].metainfo
        keys = ['study_id', 'body_part', 'img_id']
        if zoom:
            keys += ['gt_abnormal_boxes', 'gt_abnormal_kinds',
                     'gt_flag_boxes', 'hr_scale']
            assert 'hr_img' in sample['data_samples']
        for key in keys:
            assert key in meta, (loader, key)

    model_cfg = cfg.model.copy()
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([sample]))
        out = model(**data, mode='predict')
    assert out[0].pred_score.shape == (2, )
    if zoom:
        assert out[0].zoom_boxes.shape == (1, 4)
