# The paper's zoom-in model on MURA-v1.1: VGG19, 224-px input, crops from a
# copy of up to 1024 px. Initialise from a trained baseline as the paper
# does with load_from=work_dirs/baseline_vgg19_1xb32_30e_mura/epoch_30.pth
# (which replaces every weight; add model.backbone.init_cfg=None to skip
# the ImageNet file then). Without load_from it starts as the baseline
# does: MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k), all but the 2-way
# last layer (backbone.classifier.6). Offline: docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/zoom_vgg19_mura.py',
    '../_base_/datasets/mura_zoom_bs32_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]
