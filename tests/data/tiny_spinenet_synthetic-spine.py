# A tiny variant of the spine demo for end-to-end tests: very slim widths,
# batch 4, no workers, two epochs, fixed seed.
_base_ = [
    '../../configs/spine/spinenet_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py'  # noqa: E501
]

model = dict(backbone=dict(widths=(4, 8, 8, 8, 8, 16, 16)))
loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.5)
]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, max_keep_ckpts=-1))
randomness = dict(seed=0, deterministic=True)
