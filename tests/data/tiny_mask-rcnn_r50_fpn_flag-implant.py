# A tiny variant of the Mask R-CNN flag/implant config for end-to-end
# tests: 128-px images, the first 4 images of each split, no workers, one
# epoch. From scratch and offline: no COCO file, BatchNorm learns.
_base_ = ['../../configs/detection/mask-rcnn_r50_fpn_1x_flag-implant.py']

load_from = None
model = dict(backbone=dict(frozen_stages=-1, norm_eval=False))

image_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(indices=4, pipeline=train_pipeline))
test_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(indices=4, pipeline=test_pipeline))
# tools/test.py evaluates; no validation while training.
val_dataloader = None
val_evaluator = None
val_cfg = None

train_cfg = dict(max_epochs=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)
]
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
