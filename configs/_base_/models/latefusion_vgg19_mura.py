# Late fusion (the paper's future work): VGG19's convolutional features of
# every view, averaged over space, pooled over the study's real views
# (mean, max or attention), then a linear classifier. The convolutions
# start from MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k in MMPretrain's
# metafile); the file's fully connected layers (backbone.classifier.*) are
# not used, and the fusion neck and the 2-way head keep their own
# initialisation. Offline use, a local file or from scratch
# (init_cfg=None): docs/pretrained_weights.md.
_base_ = ['./vgg19_imagenet.py']

model = dict(
    type='StudyClassifier',
    backbone=dict(
        type='VGG',
        depth=19,
        num_classes=-1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint={{_base_.imagenet_checkpoint}},
            prefix='backbone',
            allow_unexpected=['classifier.'])),
    neck=dict(type='ViewFusionNeck', pooling='attention', in_channels=512),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
