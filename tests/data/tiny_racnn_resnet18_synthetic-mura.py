# The RA-CNN demo config made tiny for end-to-end tests: 64-px inputs,
# batch 4, no workers, one epoch (5 iterations) that visits every phase.
_base_ = ['../../configs/mura/racnn_resnet18_1xb16_8e_synthetic-mura.py']

input_size = 64
pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='PackInputs', meta_keys={{_base_.loc_meta_keys}}),
]
loader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=pipeline))
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader

model = dict(
    apn=dict(pool_size=2, hidden_channels=32),
    alternation=dict(
        classifier_warmup_iters=1,
        apn_init_iters=1,
        classifier_iters=1,
        apn_iters=1))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1000)
]
