"""A user's own plugin package, outside radplugins, driven by a config.

This is what docs/extending.md promises: a backbone and a metric defined in
a package of the user's, registered into MMPretrain's registries, imported
through ``custom_imports`` by a config that inherits one of ours, and
trained through tools/train.py without editing radplugins.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_CONFIG = osp.join(ROOT, 'tests', 'data',
                       'tiny_resnet18_synthetic-mura.py')

PACKAGE_INIT = '''\
from .acme_tiny_net import AcmeTinyNet
from .acme_positive_rate import AcmePositiveRate

__all__ = ['AcmeTinyNet', 'AcmePositiveRate']
'''

BACKBONE = '''\
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS


@MODELS.register_module()
class AcmeTinyNet(BaseBackbone):
    """Two strided convolutions; returns a tuple as MMPretrain expects."""

    def __init__(self, width=8, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.acme_conv1 = nn.Conv2d(3, width, 3, stride=2, padding=1)
        self.acme_conv2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.acme_conv1(x))
        return (self.relu(self.acme_conv2(x)), )
'''

METRIC = '''\
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS


@METRICS.register_module()
class AcmePositiveRate(BaseMetric):
    """Share of images predicted positive, and how many were seen."""

    default_prefix = 'acme'

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(int(sample['pred_label'].item()))

    def compute_metrics(self, results):
        return dict(
            positive_rate=sum(results) / len(results),
            num_images=float(len(results)))
'''

CONFIG = '''\
_base_ = [{base!r}]

custom_imports = dict(
    imports=['radplugins', 'acme_radiology'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, type='AcmeTinyNet', width=8),
    head=dict(in_channels=16))
val_evaluator = [dict(type='MuraKappa'), dict(type='AcmePositiveRate')]
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1)
'''


def test_external_backbone_and_metric_train_through_tools(tmp_path):
    from tests.helpers import write_synthetic_mura
    data_root = write_synthetic_mura(str(tmp_path / 'data'))

    package = tmp_path / 'user_code' / 'acme_radiology'
    package.mkdir(parents=True)
    (package / '__init__.py').write_text(PACKAGE_INIT)
    (package / 'acme_tiny_net.py').write_text(BACKBONE)
    (package / 'acme_positive_rate.py').write_text(METRIC)
    config = tmp_path / 'user_code' / 'acme_tiny_synthetic-mura.py'
    config.write_text(CONFIG.format(base=BASE_CONFIG))
    assert not osp.exists(osp.join(ROOT, 'radplugins', 'acme_radiology'))

    work_dir = tmp_path / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    # The user's package is importable the usual way: on PYTHONPATH (or
    # pip-installed); radplugins is not edited.
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path / 'user_code'), ROOT])
    proc = subprocess.run([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(work_dir), '--data-root', data_root
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]

    ckpt = torch.load(work_dir / 'epoch_1.pth', map_location='cpu')
    weights = ckpt['state_dict']
    assert weights['backbone.acme_conv1.weight'].shape == (8, 3, 3, 3)
    assert weights['backbone.acme_conv2.weight'].shape == (16, 8, 3, 3)
    assert weights['head.fc.weight'].shape == (2, 16)
    assert not any(k.startswith('backbone.layer') for k in weights)

    logs = glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json')) + \
        glob.glob(str(work_dir / '*' / '*.json'))
    records = []
    for path in logs:
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    val = [r for r in records if 'acme/positive_rate' in r]
    assert val, f'the user metric was not logged:\n{log[-3000:]}'
    assert val[-1]['acme/num_images'] == 13  # the fixture's valid images
    assert 0.0 <= val[-1]['acme/positive_rate'] <= 1.0
    assert 'mura/study/kappa' in val[-1]
