# Adam as in the MURA baseline (lr 1e-4), decayed by 10x twice.
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[20, 27], gamma=0.1)

train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Scales the lr with --auto-scale-lr when the total batch differs.
auto_scale_lr = dict(base_batch_size=32)
