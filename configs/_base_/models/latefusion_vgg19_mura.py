# Late fusion (the paper's future work): VGG19's convolutional features of
# every view, averaged over space, pooled over the study's real views
# (mean, max or attention), then a linear classifier.
model = dict(
    type='StudyClassifier',
    backbone=dict(type='VGG', depth=19, num_classes=-1, init_cfg=None),
    neck=dict(type='ViewFusionNeck', pooling='attention', in_channels=512),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
