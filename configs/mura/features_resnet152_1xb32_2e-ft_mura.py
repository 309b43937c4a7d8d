# The paper's feature-extraction baseline (§IV-C, Table II): ResNet-152
# fine-tuned briefly on MURA; tools/feature_svm.py then replaces its
# classifier by bagged SVMs per body part. Weights: the backbone from
# MMPretrain's ImageNet ResNet-152 (resnet152_8xb32_in1k); the 2-way head
# does not load and stays initialised. Offline, a local file
# (--cfg-options model.backbone.init_cfg.checkpoint=/weights/<file>.pth) or
# from scratch: docs/pretrained_weights.md.
#
#   python tools/train.py configs/mura/features_resnet152_1xb32_2e-ft_mura.py \
#       --data-root /data/mura
#   python tools/feature_svm.py configs/mura/features_resnet152_1xb32_2e-ft_mura.py \
#       work_dirs/features_resnet152_1xb32_2e-ft_mura/epoch_2.pth \
#       --data-root /data/mura
_base_ = [
    '../_base_/models/resnet152_mura.py',
    '../_base_/datasets/mura_bs32_224.py',
    '../_base_/schedules/mura_adam_2e-ft.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/MURA'
