"""The one-cycle baselines' schedule is PyTorch's one-cycle policy."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import PARAM_SCHEDULERS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [
    osp.join(ROOT, 'configs', 'mura',
             'baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000.py'),
    osp.join(ROOT, 'configs', 'fracatlas',
             'baseline_resnetv1d18_1xb16_10e_fracatlas.py'),
]


def _build_schedulers(cfg: Config, optim_wrapper, epoch_length: int):
    schedulers = []
    for scheduler_cfg in cfg.param_scheduler:
        scheduler_cfg = dict(scheduler_cfg)
        assert scheduler_cfg.pop('convert_to_iter_based')
        scheduler_type = PARAM_SCHEDULERS.get(scheduler_cfg.pop('type'))
        schedulers.append(
            scheduler_type.build_iter_from_epoch(
                optim_wrapper, **scheduler_cfg, epoch_length=epoch_length))
    return schedulers


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
@pytest.mark.parametrize('epoch_length', [161, 40])
def test_baseline_follows_torch_one_cycle(epoch_length, config):
    """Learning rate and Adam's beta1 at every step against
    ``torch.optim.lr_scheduler.OneCycleLR`` with its defaults (the recipe
    that learnt the small lesions). Torch ends its warm-up one step
    earlier than an epoch boundary, so beta1 may differ by one step's
    change."""
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    total_steps = cfg.train_cfg.max_epochs * epoch_length
    optim_wrapper = build_optim_wrapper(torch.nn.Linear(2, 2),
                                        cfg.optim_wrapper)
    schedulers = _build_schedulers(cfg, optim_wrapper, epoch_length)
    reference_optimizer = torch.optim.Adam(
        torch.nn.Linear(2, 2).parameters(), lr=1e-3)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        reference_optimizer, max_lr=1e-3, total_steps=total_steps,
        pct_start=0.1)
    # One step of beta1's cosine: at most pi/2 * 0.1 / steps of a phase.
    beta_tolerance = 0.1 * torch.pi / 2 / epoch_length * 1.01
    betas = []
    for _ in range(total_steps):
        group = optim_wrapper.optimizer.param_groups[0]
        expected = reference_optimizer.param_groups[0]
        assert group['lr'] == pytest.approx(expected['lr'], rel=1e-9)
        assert group['betas'][0] == pytest.approx(
            expected['betas'][0], abs=beta_tolerance)
        assert group['betas'][1] == expected['betas'][1]
        betas.append(group['betas'][0])
        reference_optimizer.step()
        reference.step()
        for scheduler in schedulers:
            scheduler.step()
    assert betas[0] == pytest.approx(0.95)
    assert min(betas) == pytest.approx(0.85, abs=1e-3)
    assert betas[-1] == pytest.approx(0.95, abs=1e-3)
