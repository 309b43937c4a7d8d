# The zoom demo config made tiny for end-to-end tests: 64-px inputs, crops
# from a 256-px copy, batch 4, no workers.
_base_ = ['../../configs/mura/zoom_resnet18_1xb16_8e_synthetic-mura.py']

input_size = 64
pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='KeepHighRes', max_long_side=256, gray=True),
    dict(type='LetterboxResize', scale=input_size),
    dict(
        type='PackInputs',
        algorithm_keys=('hr_img', ),
        meta_keys={{_base_.zoom_meta_keys}}),
]
loader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=pipeline))
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader

model = dict(entropy_cfg=dict(num_bins=8, window=5))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
# One epoch: the base warm-up + cosine needs at least two.
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1000)
]
