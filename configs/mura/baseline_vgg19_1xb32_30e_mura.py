# The paper's baseline (§III-B, Table I): VGG19 on MURA-v1.1, 2 classes,
# 224 px input, with the intensity rescaling of the dataset base.
_base_ = [
    '../_base_/models/vgg19_mura.py',
    '../_base_/datasets/mura_bs32_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]
