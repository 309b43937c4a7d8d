# Late fusion on VGG19: the shared backbone runs on every view and the
# study's view features are pooled by attention (set
# model.neck.pooling='mean' or 'max' for the other poolings).
# Weights: the convolutions from MMPretrain's ImageNet VGG19
# (vgg19_8xb32_in1k); the file's fully connected layers are not used, the
# fusion neck and the 2-way head stay initialised. Offline, a local file or
# from scratch (model.backbone.init_cfg=None): docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/latefusion_vgg19_mura.py',
    '../_base_/datasets/mura_study_bs8_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]
