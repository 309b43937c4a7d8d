# The paper's baseline network (VGG19, 224 px, Adam 1e-4 for 30 epochs) on
# FracAtlas, for users with a GPU; on the 2-core CPU of the measured runs
# it would take days, so the page's figures come from the ResNetV1d-18
# configs next to this one (docs/models/fracatlas.md). Weights: what the
# paper fine-tunes, MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k), every
# backbone layer except the 2-way last layer (backbone.classifier.6), which
# stays initialised (configs/_base_/models/vgg19_mura.py). Pixels are
# normalised with ImageNet's statistics for them. Offline, a local file or
# from scratch (model.backbone.init_cfg=None): docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/vgg19_mura.py',
    '../_base_/datasets/fracatlas_bs16_224.py',
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
