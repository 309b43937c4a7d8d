# ResNetV1d-18 with a 2-way head for FracAtlas, from scratch with PyTorch's
# default initialisation (the recipe that learnt the synthetic demo's small
# lesions). It stays from scratch: MMPretrain's metafile has no ImageNet
# ResNetV1d-18 (its ResNetV1d weights are for depths 50, 101 and 152), and
# the measured figures of docs/models/fracatlas.md are from scratch; the
# FracAtlas configs that fine-tune ImageNet weights are the VGG19 ones.
# About 17 % of FracAtlas is fractured; the positive class is
# weighted by the train split's not-fractured / fractured ratio, so the 0.5
# threshold that kappa, sensitivity and specificity use sits near the
# balanced operating point (AUROC does not depend on it).
_base_ = ['./resnet18_mura.py']

# 2,311 / 501 training images (44 truncated files left out).
positive_weight = 4.61
model = dict(
    backbone=dict(
        type='ResNetV1d', zero_init_residual=False, init_cfg=None),
    head=dict(
        init_cfg=None,
        loss=dict(
            type='CrossEntropyLoss',
            loss_weight=1.0,
            class_weight=[1.0, positive_weight])))
