# The paper's baseline (§III-B, Table I): VGG19 on MURA-v1.1, 2 classes,
# 224 px input, with the intensity rescaling of the dataset base.
# Weights: fine-tuned from MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k):
# every backbone layer loads except the 2-way last layer
# (backbone.classifier.6), which stays initialised
# (configs/_base_/models/vgg19_mura.py). Offline, a local file or from
# scratch (model.backbone.init_cfg=None): docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/vgg19_mura.py',
    '../_base_/datasets/mura_bs32_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]
