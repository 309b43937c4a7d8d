# DenseNet-169, the MURA authors' baseline, with a 2-way classifier. The
# backbone starts from MMPretrain's ImageNet DenseNet-169
# (densenet169_3rdparty_in1k in MMPretrain's metafile, converted from
# torchvision); the 2-way head does not load (the file's head is
# ImageNet's 1,000-way) and keeps its own initialisation. Offline use, a
# local file or from scratch (init_cfg=None): docs/pretrained_weights.md.
imagenet_checkpoint = 'https://download.openmmlab.com/mmclassification/v0/densenet/densenet169_4xb256_in1k_20220426-a2889902.pth'  # noqa: E501
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DenseNet',
        arch='169',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=imagenet_checkpoint,
            prefix='backbone')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=1664,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
