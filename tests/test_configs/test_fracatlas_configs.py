"""Every FracAtlas config parses, reads the FracAtlas layout with the right
split in each loader, and runs a sample through its model."""
import glob
import json
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
        'baseline_resnetv1d18_1xb16_10e_fracatlas-flags-filled.py',
        'zoom_resnetv1d18_1xb16_1e-ft_fracatlas-flags-filled.py',
    } <= names


def write_flag_report(data_root, path):
    """A remove_flags report of the fixture: one flag on every image."""
    images = {}
    for folder in ('Fractured', 'Non_fractured'):
        for name in sorted(glob.glob(osp.join(data_root, 'images', folder,
                                              '*.jpg'))):
            images[osp.relpath(name, data_root)] = dict(flags=[
                dict(label='flag', score=0.9, bbox=[2, 2, 12, 12])
            ])
    with open(path, 'w') as f:
        json.dump(dict(images=images), f)


@pytest.mark.parametrize('name', [
    'baseline_resnetv1d18_1xb16_10e_fracatlas',
    'zoom_resnetv1d18_1xb16_1e-ft_fracatlas',
])
def test_flags_filled_config_is_its_base_with_the_fill(name):
    """Each flags-filled config is its base config plus one
    FillFlagRegions right after loading in every loader, all reading one
    report: the same network and data, markers filled."""
    base = Config.fromfile(osp.join(ROOT, 'configs', 'fracatlas',
                                    f'{name}.py'))
    filled = Config.fromfile(
        osp.join(ROOT, 'configs', 'fracatlas', f'{name}-flags-filled.py'))
    assert filled.model == base.model
    assert filled.optim_wrapper == base.optim_wrapper
    assert filled.param_scheduler == base.param_scheduler
    assert filled.train_cfg == base.train_cfg
    reports = set()
    for loader in ('train_dataloader', 'val_dataloader',
                   'test_dataloader'):
        pipeline = list(filled[loader].dataset.pipeline)
        assert pipeline[0]['type'] == 'LoadRadiograph'
        assert pipeline[1]['type'] == 'FillFlagRegions'
        assert 'regions_file' not in pipeline[1]
        assert pipeline[:1] + pipeline[2:] == list(
            base[loader].dataset.pipeline), loader
        assert filled[loader].dataset.split == base[loader].dataset.split
        reports.add(filled[loader].dataset.flag_regions_file)
    assert reports == {filled.flag_report}


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
    report = str(tmp_path / 'removed_flags.json')
    write_flag_report(data_root, report)
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].dataset.split = 'all'
        if cfg[loader].dataset.get('flag_regions_file'):
            cfg[loader].dataset.flag_regions_file = report
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
