# A zoom stage for ResNet-18: as in the paper (Fig. 2), the zoom model starts
# from the trained baseline (pass load_from=<baseline checkpoint>) and is
# fine-tuned with both scales' losses.
_base_ = ['./zoom_resnet18_1xb16_8e_synthetic-mura.py']

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1000)
]
train_cfg = dict(max_epochs=3, val_interval=3)
