# The fast Mask R-CNN for the CPU demo: the same ResNet-18-FPN of 128
# channels, 384-px images, small anchors and schedule as
# faster-rcnn_r18_fpn_1xb4-384px_12e_synthetic-flag-implant.py, plus a mask
# head of 128 channels. Reports COCO bbox and segm mAP; tools/remove_flags.py
# fills its predicted masks instead of whole boxes.
_base_ = ['./mask-rcnn_r50_fpn_1x_flag-implant.py']

image_scale = (384, 384)
batch_size = 4
channels = 128
# From scratch, as every synthetic demo (the measured figures are): no
# COCO file (the R50 parent's load_from) and no ImageNet file, and the
# BatchNorm statistics and the first stage learn.
load_from = None
model = dict(
    backbone=dict(
        depth=18, init_cfg=None, frozen_stages=-1, norm_eval=False),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=channels),
    rpn_head=dict(
        in_channels=channels,
        feat_channels=channels,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=channels),
        mask_head=dict(in_channels=channels, conv_out_channels=channels)))

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[9, 11],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=max_epochs))
randomness = dict(seed=0)
