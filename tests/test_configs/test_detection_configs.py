"""The flag/implant detection configs parse, build and compute losses."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'detection', '*.py')))


def test_detection_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    assert {
        'faster-rcnn_r50_fpn_1x_flag-implant.py',
        'mask-rcnn_r50_fpn_1x_flag-implant.py',
        'faster-rcnn_r18_fpn_1xb4-384px_12e_synthetic-flag-implant.py',
        'faster-rcnn_r18_fpn_1xb4-384px_24e_synthetic-flag-implant.py',
        'faster-rcnn_r18_fpn_1xb4-320px-crop_24e_synthetic-flag-implant.py',
        'mask-rcnn_r18_fpn_1xb4-384px_12e_synthetic-flag-implant.py'
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_detection_config_builds_and_computes_losses(path):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.registry import DefaultScope
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(
        imports=['radplugins'], allow_failed_imports=False)
    # Pretrained weights are opt-in: nothing may be fetched by default.
    assert cfg.load_from is None
    assert 'http' not in str(cfg.model) and '://' not in str(cfg.model)
    assert tuple(cfg.train_dataloader.dataset.metainfo.classes) == (
        'flag', 'implant')
    assert cfg.model.roi_head.bbox_head.num_classes == 2
    metrics = cfg.val_evaluator.metric
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    is_mask = 'mask_head' in cfg.model.roi_head
    assert metrics == (['bbox', 'segm'] if is_mask else ['bbox'])
    assert cfg.val_evaluator.type == 'CocoMetric'

    torch.manual_seed(0)
    # Scoped: the rest of the session builds from MMPretrain's registries.
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.train()
    inputs = [torch.randint(0, 256, (3, 96, 128), dtype=torch.uint8)
              for _ in range(2)]
    samples = []
    for i in range(2):
        sample = DetDataSample(
            metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128),
                          pad_shape=(96, 128), batch_input_shape=(96, 128),
                          scale_factor=(1.0, 1.0)))
        gt = InstanceData()
        gt.bboxes = torch.tensor([[10.0, 12.0, 40.0, 50.0],
                                  [70.0, 20.0, 90.0, 36.0]])
        gt.labels = torch.tensor([0, 1])
        if is_mask:
            masks = torch.zeros(2, 96, 128, dtype=torch.uint8)
            masks[0, 12:50, 10:40] = 1
            masks[1, 20:36, 70:90] = 1
            gt.masks = BitmapMasks(masks.numpy(), 96, 128)
        sample.gt_instances = gt
        samples.append(sample)
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), True)
    losses = model(**data, mode='loss')
    expected = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'}
    if is_mask:
        expected.add('loss_mask')
    assert expected <= set(losses)
    for key in expected:
        value = losses[key]
        value = sum(value) if isinstance(value, list) else value
        assert torch.isfinite(value).all(), key


def test_crop_config_trains_on_native_crops_and_tests_unresized(tmp_path):
    import cv2
    import numpy as np
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'detection',
                 'faster-rcnn_r18_fpn_1xb4-320px-crop_24e_'
                 'synthetic-flag-implant.py'))
    image = np.random.default_rng(0).integers(0, 256, (500, 700),
                                              dtype=np.uint8)
    path = str(tmp_path / 'image.png')
    cv2.imwrite(path, image)
    marker = [600.0, 40.0, 640.0, 90.0]

    def results():
        return dict(img_path=path, img_id=0,
                    instances=[dict(bbox=marker, bbox_label=0,
                                    ignore_flag=0)])

    with DefaultScope.overwrite_default_scope('mmdet'):
        train = Compose(cfg.train_pipeline)
        test = Compose(cfg.test_pipeline)
    np.random.seed(0)
    kept = []
    for _ in range(40):
        out = train(results())
        if out is None:  # no object in the crop: the dataset refetches
            continue
        h, w = out['inputs'].shape[1:]
        assert (h, w) == (320, 320)
        boxes = out['data_samples'].gt_instances.bboxes.numpy()
        assert len(boxes) == 1
        bw, bh = boxes[0, 2:] - boxes[0, :2]
        # At the native scale: a crop never resizes the marker, it can only
        # cut it (to no less than 4 px).
        assert 4 <= bw <= 40 and 4 <= bh <= 50
        kept.append(out)
    assert 0 < len(kept) < 40
    out = test(results())
    assert tuple(out['inputs'].shape[1:]) == (500, 700)
    assert tuple(out['data_samples'].scale_factor) == (1.0, 1.0)
