# VGG19, the paper's baseline, with a 2-way (negative/positive) classifier.
# ImageNet initialisation is opt-in: set backbone.init_cfg to
# dict(type='Pretrained', checkpoint='/local/vgg19.pth', prefix='backbone')
# in a child config (nothing is downloaded at run time).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VGG', depth=19, num_classes=2, init_cfg=None),
    neck=None,
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
