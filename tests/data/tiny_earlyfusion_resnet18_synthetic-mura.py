# The early-fusion demo config made tiny for end-to-end tests: 3 views of
# 64 px a study, batch 2, no workers, one epoch.
_base_ = ['../../configs/mura/earlyfusion_resnet18_1xb8_8e_synthetic-mura.py']

input_size = 64
num_views = 3
view_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
]
pipeline = [
    dict(
        type='LoadStudyViews',
        num_views=num_views,
        view_pipeline=view_pipeline,
        fill_pipeline=[
            dict(type='RandomResizedCrop', scale=input_size,
                 crop_ratio_range=(0.6, 1.0)),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        ]),
    dict(type='PackInputs', algorithm_keys=('view_mask', ),
         meta_keys={{_base_.meta_keys}}),
]
loader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(num_views=num_views, pipeline=pipeline))
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader

train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
# One epoch: the base warm-up + cosine needs at least two.
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1000)
]
model = dict(backbone=dict(num_views=num_views))
