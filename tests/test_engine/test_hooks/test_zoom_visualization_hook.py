"""ZoomVisualizationHook: which samples it draws, where, and return_maps."""
import glob
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.runner import save_checkpoint
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = osp.join(ROOT, 'tests', 'data',
                  'tiny_zoom_resnet18_synthetic-mura.py')


class FakeModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.return_maps = False


class FakeDataset:
    metainfo = dict(classes=('negative', 'positive'))


class FakeLoader:
    dataset = FakeDataset()


class FakeRunner:
    """The attributes the hook reads."""

    def __init__(self, work_dir, epoch=1):
        self.work_dir = str(work_dir)
        self.timestamp = 'ts'
        self.epoch = epoch
        self.iter = 10
        self.model = FakeModel()
        self.val_dataloader = FakeLoader()
        self.test_dataloader = FakeLoader()
        self.logger = MMLogger.get_instance('test_zoom_vis_hook')


def make_batch(tmp_path, start, size, with_maps):
    """A batch as the val loop hands it to hooks (predictions filled in)."""
    samples = []
    for i in range(start, start + size):
        path = str(tmp_path / f'img{i}.png')
        cv2.imwrite(path, np.full((48, 64), 40 + i, np.uint8))
        s = DataSample(
            metainfo=dict(
                img_path=path,
                sample_idx=i,
                ori_shape=(48, 64),
                scale_factor=(0.5, 0.5),
                letterbox_offset=(0, 4)))
        s.set_gt_label(i % 2)
        s.set_pred_score(torch.tensor([0.4, 0.6]))
        s.set_field(torch.tensor([[8., 8., 40., 40.]]), 'zoom_boxes')
        s.set_field(torch.tensor([[20., 20.]]), 'saliency_peaks')
        s.set_field(torch.tensor([[0.4, 0.6], [0.5, 0.5]]), 'scale_scores')
        if with_maps:
            s.set_field(torch.rand(1, 3, 32, 32), 'saliency_maps')
            s.set_field(torch.rand(1, 32, 32), 'entropy_maps')
        samples.append(s)
    return dict(inputs=[torch.zeros(3, 32, 32)] * size, data_samples=samples)


def run_epoch(hook, runner, tmp_path, mode, num_batches=3, size=4):
    getattr(hook, f'before_{mode}_epoch')(runner)
    flags = []
    for b in range(num_batches):
        batch = make_batch(tmp_path, b * size, size, False)
        getattr(hook, f'before_{mode}_iter')(runner, b, batch)
        flags.append(runner.model.return_maps)
        # The model fills predictions (and maps if asked) into the samples.
        batch = make_batch(tmp_path, b * size, size, runner.model.return_maps)
        getattr(hook, f'after_{mode}_iter')(runner, b, batch,
                                            batch['data_samples'])
    getattr(hook, f'after_{mode}_epoch')(runner, {})
    return flags


@pytest.mark.parametrize('max_images,expected', [(10, [0, 5, 10]),
                                                 (2, [0, 5]), (0, [])])
def test_every_interval_samples_up_to_max_images(tmp_path, max_images,
                                                 expected):
    hook = HOOKS.build(
        dict(
            type='ZoomVisualizationHook',
            interval=5,
            max_images=max_images,
            tile_size=64))
    runner = FakeRunner(tmp_path / 'work', epoch=3)
    flags = run_epoch(hook, runner, tmp_path, 'val')
    files = sorted(glob.glob(str(tmp_path / 'work' / 'ts' / 'zoom_vis' /
                                 'epoch_3' / '*.png')))
    assert [osp.basename(f) for f in files] == sorted(
        f'img{i}_{i}.png' for i in expected)
    # Maps requested only for batches with a drawn sample (0-3, 4-7, 8-11),
    # and the model's own setting restored after the epoch.
    assert flags == [
        any(b * 4 <= i < b * 4 + 4 for i in expected) for b in range(3)
    ]
    assert runner.model.return_maps is False
    for f in files:
        panel = cv2.imread(f)
        # With maps: four tiles of 64 px side by side.
        assert panel.shape[1] == 4 * 64


def test_test_mode_folder_and_restores_user_setting(tmp_path):
    hook = HOOKS.build(
        dict(type='ZoomVisualizationHook', interval=1, max_images=1,
             tile_size=64))
    runner = FakeRunner(tmp_path / 'work')
    runner.model.return_maps = True
    run_epoch(hook, runner, tmp_path, 'test', num_batches=2)
    files = glob.glob(str(tmp_path / 'work' / 'ts' / 'zoom_vis' / 'test' /
                          '*.png'))
    assert [osp.basename(f) for f in files] == ['img0_0.png']
    assert runner.model.return_maps is True


def test_disabled_for_val_writes_nothing(tmp_path):
    hook = HOOKS.build(
        dict(type='ZoomVisualizationHook', interval=1, enable_val=False))
    runner = FakeRunner(tmp_path / 'work')
    run_epoch(hook, runner, tmp_path, 'val', num_batches=1)
    assert not osp.exists(tmp_path / 'work' / 'ts' / 'zoom_vis')


def test_unreadable_original_falls_back_to_the_network_input(tmp_path):
    hook = HOOKS.build(
        dict(type='ZoomVisualizationHook', interval=1, max_images=1,
             tile_size=64))
    runner = FakeRunner(tmp_path / 'work')
    hook.before_val_epoch(runner)
    batch = make_batch(tmp_path, 0, 1, True)
    hook.before_val_iter(runner, 0, batch)
    batch['data_samples'][0].set_metainfo(
        dict(img_path=str(tmp_path / 'gone.png')))
    hook.after_val_iter(runner, 0, batch, batch['data_samples'])
    hook.after_val_epoch(runner)
    assert osp.exists(tmp_path / 'work' / 'ts' / 'zoom_vis' / 'epoch_1' /
                      'gone_0.png')


def test_bad_arguments():
    with pytest.raises(ValueError, match='interval'):
        HOOKS.build(dict(type='ZoomVisualizationHook', interval=0))


def test_through_tools_test_on_a_real_zoom_model(tmp_path):
    """The hook in custom_hooks of a real test run writes real panels."""
    from radplugins.apis import init_model
    from tests.helpers import write_synthetic_mura
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    model = init_model(CONFIG)
    ckpt = str(tmp_path / 'model.pth')
    save_checkpoint(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=model.dataset_meta)), ckpt)
    work = tmp_path / 'work'
    # How a user enables it: the hook in custom_hooks of a child config.
    config = tmp_path / 'with_zoom_vis.py'
    config.write_text(
        f'_base_ = [{CONFIG!r}]\n'
        'custom_hooks = [dict(type="ZoomVisualizationHook", interval=4, '
        'max_images=3, tile_size=96)]\n')
    proc = subprocess.run([
        sys.executable, 'tools/test.py',
        str(config), ckpt, '--work-dir',
        str(work), '--data-root', data_root
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(glob.glob(str(work / '*' / 'zoom_vis' / 'test' / '*.png')))
    # 13 valid images: samples 0, 4 and 8 (max_images=3).
    assert [osp.basename(f).rsplit('_', 1)[1] for f in files] == \
        ['0.png', '4.png', '8.png']
    panel = cv2.imread(files[0])
    assert panel.shape == (2 * 16 + 96 + 16, 4 * 96, 3)
    assert 'wrote 3 zoom panel(s)' in proc.stdout + proc.stderr
