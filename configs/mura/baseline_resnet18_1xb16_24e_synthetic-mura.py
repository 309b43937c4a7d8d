# The demo baseline for three times as long (24 epochs, the same Adam and
# cosine decay stretched over them): long enough for a shortcut such as the
# flags of tools/dataset_converters/make_synthetic_mura.py
# --flag-label-correlation to be learnt, so that the raw vs flag-removed
# comparison of docs/models/detection.md can separate.
_base_ = ['./baseline_resnet18_1xb16_8e_synthetic-mura.py']

max_epochs = 24

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
         T_max=max_epochs - 1, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=2))
