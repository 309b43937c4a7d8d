# A tiny, deterministic variant of the demo config for end-to-end tests:
# 64-px inputs, batch 4, no random augmentation, no workers, fixed seed, and
# a learning rate that does not depend on max_epochs (so a run stopped and
# resumed follows exactly the schedule of an uninterrupted one).
_base_ = ['../../configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py']

input_size = 64
pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='PackInputs', meta_keys={{_base_.meta_keys}}),
]
loader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=pipeline))
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9))
param_scheduler = [
    # An explicit end: MMEngine would otherwise end it at max_epochs.
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[1],
        gamma=0.5,
        begin=0,
        end=1000)
]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, max_keep_ckpts=-1, save_best=None))
randomness = dict(seed=0, deterministic=True)
