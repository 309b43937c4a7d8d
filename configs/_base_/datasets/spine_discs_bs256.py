# Lumbar disc volumes (SpineDiscDataset): 9 slices x 112 x 224 per disc,
# six radiological scores, splits per patient in discs.csv. Point data_root
# at the folder holding discs.csv (--data-root on the tools).
data_root = 'data/spine'
dataset_type = 'SpineDiscDataset'
batch_size = 256

meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'patient',
             'level', 'num_slices', 'pad_slices', 'mask_path')

train_pipeline = [
    dict(type='LoadDiscVolume'),
    # Section 4: vertebral-body median -> 0.5, clip to [0, 1]; rows without
    # body boxes pass unchanged.
    dict(type='NormalizeDiscIntensity'),
    # Section 4's aggressive augmentation (recorded, invertible).
    dict(type='RandomDiscAugment'),
    dict(
        type='PackInputs',
        algorithm_keys=('task_labels', ),
        meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadDiscVolume'),
    dict(type='NormalizeDiscIntensity'),
    dict(
        type='PackInputs',
        algorithm_keys=('task_labels', ),
        meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline))
val_evaluator = dict(type='SpineGradingMetric')
test_evaluator = val_evaluator

# Class-balance weights alpha_c = 1 / freq(c), once, from the training set.
custom_hooks = [dict(type='SpineClassBalanceHook')]
