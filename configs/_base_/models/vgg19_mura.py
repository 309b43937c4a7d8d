# VGG19, the paper's baseline, with a 2-way (negative/positive) classifier.
# It starts from MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k in
# MMPretrain's metafile): the convolutions and the first two fully
# connected layers load; the last one (backbone.classifier.6: 2 outputs
# here, ImageNet's 1,000 in the file) does not and keeps its PyTorch
# initialisation. MMEngine reads the URL from the torch hub cache
# ($TORCH_HOME/hub/checkpoints/<file name>) and downloads it there the first
# time; offline, a local file instead, or from scratch (init_cfg=None):
# docs/pretrained_weights.md.
_base_ = ['./vgg19_imagenet.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VGG',
        depth=19,
        num_classes=2,
        init_cfg=dict(
            type='Pretrained',
            checkpoint={{_base_.imagenet_checkpoint}},
            prefix='backbone',
            # The 2-class last layer is the head: it stays initialised.
            allow_missing=['classifier.6.'])),
    neck=None,
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
