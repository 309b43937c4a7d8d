"""The demo baseline caches its deterministic loading steps: every sample of
every epoch equals the one the uncached pipeline gives."""
import copy
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

from radplugins.utils import set_data_root
from tests.helpers import write_mura_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'mura',
                  'baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000.py')


def test_cached_pipeline_gives_the_uncached_samples(tmp_path):
    write_mura_fixture(str(tmp_path))
    cfg = Config.fromfile(CONFIG)
    set_data_root(cfg, str(tmp_path))
    init_default_scope('mmpretrain')
    cached_cfg = cfg.train_dataloader.dataset
    first = cached_cfg.pipeline[0]
    assert first['type'] == 'CachedTransforms'
    plain_cfg = copy.deepcopy(cached_cfg)
    plain_cfg.pipeline = list(first['transforms']) + cached_cfg.pipeline[1:]
    cached, plain = DATASETS.build(cached_cfg), DATASETS.build(plain_cfg)
    order = list(range(len(plain))) * 3  # three epochs
    samples = {}
    for name, dataset in (('cached', cached), ('plain', plain)):
        np.random.seed(7)  # the flips draw from NumPy
        samples[name] = [dataset[i] for i in order]
    for ours, reference in zip(samples['cached'], samples['plain']):
        assert torch.equal(ours['inputs'], reference['inputs'])
        assert ours['data_samples'].flip == reference['data_samples'].flip
        assert ours['data_samples'].img_path == \
            reference['data_samples'].img_path
    assert len(cached.pipeline.transforms[0]) == len(plain)
    flips = [s['data_samples'].flip for s in samples['plain']]
    assert any(flips) and not all(flips)
