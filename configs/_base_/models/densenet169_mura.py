# DenseNet-169, the MURA authors' baseline, with a 2-way classifier.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='DenseNet', arch='169', init_cfg=None),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=1664,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
