# RA-CNN on MURA-v1.1 as the zoom paper tried it (§IV-D): VGG19 at three
# scales, 2 classes, images padded to 512 and cropped to 448, batch 8 for
# training and 2 for testing. The paper does not give the optimiser; SGD
# with momentum for the classifiers and a smaller rate for the APNs are our
# choice. Weights: each scale's convolutions from MMPretrain's ImageNet VGG19
# (vgg19_8xb32_in1k), so there is no classifier warm-up; the file's fully
# connected layers are not used, the heads, APNs and fusion layer stay
# initialised. Offline, a local file or from scratch (then also a warm-up):
# docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/racnn_vgg19_mura.py',
    '../_base_/datasets/mura_racnn_bs8_448.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(
    _delete_=True,
    constructor='RACNNOptimWrapperConstructor',
    classifier=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4)),
    apn=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=1e-4, momentum=0.9)))
auto_scale_lr = dict(base_batch_size=8)
