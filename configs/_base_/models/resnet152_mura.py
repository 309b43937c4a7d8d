# ResNet-152 with a 2-way classifier: the feature network of the paper's
# feature-extraction baseline (§IV-C). Its pooled 2048-d features feed the
# bagged SVMs of tools/feature_svm.py. The backbone starts from
# MMPretrain's ImageNet ResNet-152 (resnet152_8xb32_in1k in MMPretrain's
# metafile); the 2-way head does not load and keeps its own
# initialisation. Offline use, a local file or from scratch
# (init_cfg=None): docs/pretrained_weights.md.
imagenet_checkpoint = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth'  # noqa: E501
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=152,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=imagenet_checkpoint,
            prefix='backbone')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
