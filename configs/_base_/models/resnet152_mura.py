# ResNet-152 with a 2-way classifier: the feature network of the paper's
# feature-extraction baseline (§IV-C). Its pooled 2048-d features feed the
# bagged SVMs of tools/feature_svm.py.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=152,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        init_cfg=None),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
