# The 24-epoch demo baseline on flag-cleaned radiographs: the pipelines of
# baseline_resnet18_1xb16_8e_synthetic-mura-flag-removed.py (markers filled
# on the fly from tools/remove_flags.py's report) with the schedule of
# baseline_resnet18_1xb16_24e_synthetic-mura.py.
_base_ = ['./baseline_resnet18_1xb16_8e_synthetic-mura-flag-removed.py']

max_epochs = 24

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
         T_max=max_epochs - 1, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=2))
