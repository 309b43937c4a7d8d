# Early fusion demo (paper Fig. 7): the late-fusion demo's data, the 4
# views of a study stacked in ResNet-18's first convolution. Padded slots
# hold the repeated, re-cropped and mirrored views, as in the paper.
_base_ = ['./latefusion_resnet18_1xb8_8e_synthetic-mura.py']

model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(
        type='EarlyFusionBackbone',
        num_views={{_base_.num_views}},
        in_channels=3,
        backbone=dict(
            type='ResNet',
            depth=18,
            num_stages=4,
            out_indices=(3, ),
            style='pytorch',
            init_cfg=None)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
