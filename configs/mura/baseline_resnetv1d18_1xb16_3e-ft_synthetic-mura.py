# The control on the 200-study small-lesion set: the same fine-tuning as
# zoom_resnetv1d18_1xb16_3e-ft_synthetic-mura.py (start from the trained
# baseline, Adam 2e-4, 3 epochs) without zooming, so the two are compared
# at the same number of epochs from the same weights.
_base_ = ['./baseline_resnetv1d18_1xb16_8e_synthetic-mura.py']

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1000)
]
train_cfg = dict(max_epochs=3, val_interval=3)
