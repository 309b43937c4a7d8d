# Box-edge refiner for flags and implants (BoxEdgeRefiner): reads a window
# of twice a detected box's size at the radiograph's own resolution and
# moves each edge to where the object ends. The detectors see the image
# shrunk to 384 px and box a 45-px marker to within 1-2 px per edge; COCO's
# mAP over IoU 0.5-0.95 pays for each of those pixels. It learns from
# windows around jittered copies of the true boxes (SampleBoxEdgeWindows),
# so it trains apart from any detector, in about 25 min on the 2-core CPU
# for 30 epochs of the 1,080 flagged images of docs/models/detection.md.
# Used at test time by the *_box-edge-refined.py detection configs
# (tools/test.py --tta).
_base_ = [
    '../_base_/datasets/synthetic-flag-implant_detection.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['radplugins'], allow_failed_imports=False)

num_classes = 2  # flag, implant
window_size = 64
window_expand = 2.0
model = dict(
    type='BoxEdgeRefiner',
    num_classes=num_classes,
    size=window_size,
    expand=window_expand)

train_pipeline = [
    # The refiner reads gray levels; a colour image would be averaged.
    dict(
        type='LoadImageFromFile',
        color_type='grayscale',
        backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='SampleBoxEdgeWindows',
        size=window_size,
        expand=window_expand,
        num_per_box=8),
]
# Batches are images; each gives num_per_box windows per object (about 77
# windows per batch of 8 flagged radiographs).
train_dataloader = dict(
    batch_size=8,
    batch_sampler=None,
    dataset=dict(pipeline=train_pipeline))
# Judged through the detector it refines (tools/test.py --tta on a
# *_box-edge-refined.py config), not on its own.
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

max_epochs = 30
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=200),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        eta_min=1e-6,
        convert_to_iter_based=True),
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1),
    logger=dict(type='LoggerHook', interval=50))
