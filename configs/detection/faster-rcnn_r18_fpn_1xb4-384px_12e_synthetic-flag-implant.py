# The fast variant for the CPU demo and tests: Faster R-CNN with a
# ResNet-18-FPN of 128 channels, images shrunk to 384 px, small anchors
# (markers are 10-30 px there), 12 epochs from scratch. The detector
# tools/remove_flags.py uses in the README's experiment.
_base_ = ['./faster-rcnn_r50_fpn_1x_flag-implant.py']

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
        bbox_head=dict(in_channels=channels, fc_out_channels=256)))

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Test-time augmentation (tools/test.py --tta): every image at three
# scales around the training one, each also mirrored (six views); box
# voting replaces each box that survives NMS by the score-weighted mean of
# the views' boxes that overlap it by IoU >= 0.7, scored by the mean over
# the views of each view's best. docs/models/detection.md has the
# measurements (a few points of mAP; MMDetection's plain NMS merge gains
# nothing).
tta_scales = [(352, 352), image_scale, (416, 416)]
tta_model = dict(
    type='BoxVotingDetTTAModel',
    tta_cfg=dict(
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100,
        vote_iou_thr=0.7,
        score_mode='view_mean'))
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=scale, keep_ratio=True)
             for scale in tta_scales],
            [dict(type='RandomFlip', prob=1.),
             dict(type='RandomFlip', prob=0.)],
            # One transform per list: each list is a set of alternatives.
            [dict(type='LoadAnnotations', with_bbox=True)],
            [
                dict(
                    type='PackDetInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape',
                               'img_shape', 'scale_factor', 'flip',
                               'flip_direction'))
            ],
        ])
]

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# Batch 4 from scratch: a larger lr than the R50 config's, a short warmup.
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
