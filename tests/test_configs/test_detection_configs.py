"""The flag/implant detection configs parse, build and compute losses."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALL_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'detection', '*.py')))
# The box-edge refiner is trained beside the detectors, not as one.
REFINER_CONFIGS = [p for p in ALL_CONFIGS
                   if osp.basename(p).startswith('box-edge-refiner_')]
CONFIGS = [p for p in ALL_CONFIGS if p not in REFINER_CONFIGS]


def test_detection_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    assert {
        'faster-rcnn_r50_fpn_1x_flag-implant.py',
        'mask-rcnn_r50_fpn_1x_flag-implant.py',
        'faster-rcnn_r18_fpn_1xb4-384px_12e_synthetic-flag-implant.py',
        'faster-rcnn_r18_fpn_1xb4-384px_24e_synthetic-flag-implant.py',
        'cascade-rcnn_r18_fpn_1xb4-384px_24e_synthetic-flag-implant.py',
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
    # The R50 configs start from COCO weights (load_from, checked in
    # test_pretrained_weights.py); the backbone reads no ImageNet file.
    assert '://' not in str(cfg.model)
    assert tuple(cfg.train_dataloader.dataset.metainfo.classes) == (
        'flag', 'implant')
    bbox_heads = cfg.model.roi_head.bbox_head
    cascade = isinstance(bbox_heads, list)
    if cascade:
        assert cfg.model.roi_head.num_stages == len(bbox_heads) == len(
            cfg.model.train_cfg.rcnn)
    else:
        bbox_heads = [bbox_heads]
    assert all(head.num_classes == 2 for head in bbox_heads)
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
    expected = {'loss_rpn_cls', 'loss_rpn_bbox'}
    if cascade:  # every stage's own losses, prefixed s0., s1., ...
        expected |= {f's{i}.{name}' for i in range(len(bbox_heads))
                     for name in ('loss_cls', 'loss_bbox')}
    else:
        expected |= {'loss_cls', 'loss_bbox'}
    if is_mask:
        expected.add('loss_mask')
    assert expected <= set(losses)
    for key in expected:
        value = losses[key]
        value = sum(value) if isinstance(value, list) else value
        assert torch.isfinite(value).all(), key


REFINED_CONFIGS = [p for p in CONFIGS if p.endswith('_box-edge-refined.py')]
FAST_BOX_CONFIGS = [p for p in CONFIGS if '_r18_' in p and
                    'mask-rcnn' not in p and p not in REFINED_CONFIGS]


@pytest.mark.parametrize('path', FAST_BOX_CONFIGS, ids=osp.basename)
def test_fast_box_configs_tta_views_and_model(path, tmp_path):
    import cv2
    import numpy as np
    from mmdet.registry import MODELS
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(path)
    image = tmp_path / 'radiograph.png'
    cv2.imwrite(str(image), np.full((500, 800), 90, np.uint8))
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = Compose(cfg.tta_pipeline)
        views = pipeline(
            dict(img_path=str(image), img_id=0, instances=[
                dict(bbox=[10, 20, 50, 60], bbox_label=0, ignore_flag=0)
            ]))
        model = MODELS.build(dict(**cfg.tta_model, module=cfg.model))
    metas = [sample.metainfo for sample in views['data_samples']]
    # Every scale plain and mirrored, each resized like the test
    # pipeline's and carrying what the merge needs to flip boxes back.
    assert len(metas) == 2 * len(cfg.tta_scales)
    assert sorted(m['flip'] for m in metas) == sorted(
        [False, True] * len(cfg.tta_scales))
    assert all(m['ori_shape'] == (500, 800) for m in metas)
    assert max(max(m['img_shape']) for m in metas) == max(
        max(s) for s in cfg.tta_scales)
    assert type(model).__name__ == 'BoxVotingDetTTAModel'


@pytest.mark.parametrize('path', REFINED_CONFIGS, ids=osp.basename)
def test_refined_configs_pass_the_full_resolution_image(path, tmp_path):
    import cv2
    import numpy as np
    from mmdet.registry import MODELS
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(path)
    image = tmp_path / 'radiograph.png'
    pixels = np.random.default_rng(0).integers(0, 256, (500, 800), np.uint8)
    cv2.imwrite(str(image), pixels)
    with DefaultScope.overwrite_default_scope('mmdet'):
        views = Compose(cfg.tta_pipeline)(
            dict(img_path=str(image), img_id=0, instances=[
                dict(bbox=[10, 20, 50, 60], bbox_label=0, ignore_flag=0)
            ]))
        # The shipped checkpoint path is a training output: left out here.
        model = MODELS.build(
            dict(cfg.tta_model, module=cfg.model, refiner_checkpoint=None))
    (meta, ) = [sample.metainfo for sample in views['data_samples']]
    # The refiner reads the original pixels, while the detector gets the
    # test pipeline's resize.
    np.testing.assert_array_equal(meta['hr_img'], pixels)
    assert meta['hr_scale'] == 1.0 and meta['flip'] is False
    assert max(meta['img_shape']) == max(cfg.image_scale)
    assert type(model).__name__ == 'EdgeRefinedDetTTAModel'
    assert model.refine_rounds == 2 and model.confidence_power == 2.0
    assert model.duplicate_iou_thr == 0.9
    assert cfg.tta_model.refiner.size == 64
    refiner_cfg = Config.fromfile(REFINER_CONFIGS[0])
    for key in ('num_classes', 'size', 'expand'):
        assert cfg.tta_model.refiner[key] == refiner_cfg.model[key], key
    assert cfg.tta_model.refiner_checkpoint.endswith('/epoch_30.pth')
    # Averaging over flips and transposes needs a refiner trained on them.
    assert model.refiner.test_symmetries == 8
    (windows, ) = [t for t in refiner_cfg.train_dataloader.dataset.pipeline
                   if t.type == 'SampleBoxEdgeWindows']
    assert windows.get('augment', True)


@pytest.mark.parametrize('path', REFINER_CONFIGS, ids=osp.basename)
def test_refiner_config_builds_windows_and_losses(path, tmp_path):
    import cv2
    import numpy as np
    from mmdet.registry import MODELS
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and cfg.load_from is None
    assert tuple(cfg.train_dataloader.dataset.metainfo.classes) == (
        'flag', 'implant')
    image = tmp_path / 'radiograph.png'
    pixels = np.full((300, 200, 3), 40, np.uint8)
    pixels[100:140, 50:90] = 200
    cv2.imwrite(str(image), pixels)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
        items = [pipeline(dict(img_path=str(image), img_id=0, instances=[
            dict(bbox=[50, 100, 90, 140], bbox_label=1, ignore_flag=0)
        ])) for _ in range(2)]
        model = MODELS.build(cfg.model)
    per_box = cfg.train_dataloader.dataset.pipeline[-1].num_per_box
    size = cfg.model.size
    assert items[0]['inputs'].shape == (per_box, 1, size, size)
    data = model.data_preprocessor(pseudo_collate(items), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_edge'])
    losses['loss_edge'].backward()
