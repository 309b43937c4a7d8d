# Flags and implants of a synthetic MURA set as COCO detection (boxes).
# The generator writes the COCO files next to the images
# (MURA-v1.1/annotations/flag_implant_{train,valid}.json, file names
# relative to data_root). For real radiographs, point data_root and the
# ann_files at your own COCO files with the same two classes.
dataset_type = 'CocoDataset'
data_root = 'data/synthetic_mura/'
metainfo = dict(
    classes=('flag', 'implant'), palette=[(220, 20, 60), (0, 128, 255)])
image_scale = (1333, 800)
backend_args = None
train_ann_file = 'MURA-v1.1/annotations/flag_implant_train.json'
val_ann_file = 'MURA-v1.1/annotations/flag_implant_valid.json'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    # Markers read L or R: a mirrored letter is still a marker to find.
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
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=train_ann_file,
        data_prefix=dict(img=''),
        # Images without a flag or implant teach nothing to the RPN's
        # positives; mmdet's default drops them from training.
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=val_ann_file,
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# tools/train.py and tools/test.py move this ann_file with --data-root.
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + val_ann_file,
    metric='bbox',
    classwise=True,
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
