# Early fusion (paper §IV-E, Fig. 7): VGG19 whose first convolution takes
# the 6 views of a study stacked on the channel axis. It starts from
# MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k in MMPretrain's metafile):
# the single-view first convolution of the file is inflated to the views
# (its weight tiled over them and divided by 6, EarlyFusionBackbone's rule),
# the other convolutions and the first two fully connected layers load as
# they are; the last layer (classifier.6, 2 outputs here, 1,000 in the
# file) keeps its initialisation. A single-view checkpoint (e.g. the
# baseline's) initialises it the same way through load_from. Offline use, a
# local file or from scratch (init_cfg=None): docs/pretrained_weights.md.
_base_ = ['./vgg19_imagenet.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='EarlyFusionBackbone',
        num_views=6,  # the dataset's num_views
        in_channels=3,
        backbone=dict(
            type='VGG',
            depth=19,
            num_classes=2,
            init_cfg=dict(
                type='Pretrained',
                checkpoint={{_base_.imagenet_checkpoint}},
                prefix='backbone',
                allow_missing=['classifier.6.']))),
    neck=None,
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
