# The paper's study-level model (§IV-E, Fig. 7): 6 views fused in VGG19's
# first layer. Weights: MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k), its
# first convolution inflated to the 6 views (tiled, divided by 6), every
# other backbone layer as it is except the 2-way last layer
# (backbone.backbone.classifier.6), which stays initialised. To start from
# the single-view baseline instead (its weights replace ImageNet's), add
# --cfg-options load_from=work_dirs/baseline_vgg19_1xb32_30e_mura/epoch_30.pth
# (and model.backbone.backbone.init_cfg=None to skip the ImageNet file).
# Offline or from scratch: docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/earlyfusion_vgg19_mura.py',
    '../_base_/datasets/mura_study_bs8_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]
