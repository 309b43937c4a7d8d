# The paper's zoom-in model (VGG19, guided backprop, local entropy, ROI
# crop, both scales' losses) on FracAtlas, for users with a GPU. Start it
# from the trained VGG19 baseline as the paper does:
# load_from=work_dirs/baseline_vgg19_1xb32_30e_fracatlas/best_*.pth
# (it replaces every weight; add model.backbone.init_cfg=None to skip the
# ImageNet file then). Without load_from it starts from MMPretrain's
# ImageNet VGG19 (vgg19_8xb32_in1k), all but the 2-way last layer
# (backbone.classifier.6). Offline: docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/zoom_vgg19_mura.py',
    '../_base_/datasets/fracatlas_zoom_bs16_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]

data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
batch_size = 32
train_dataloader = dict(batch_size=batch_size, num_workers=8)
val_dataloader = dict(batch_size=batch_size, num_workers=8)
test_dataloader = dict(batch_size=batch_size, num_workers=8)

default_hooks = dict(
    checkpoint=dict(save_best='mura/image/auroc', rule='greater'))
randomness = dict(seed=0)
