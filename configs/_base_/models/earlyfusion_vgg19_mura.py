# Early fusion (paper §IV-E, Fig. 7): VGG19 whose first convolution takes
# the 6 views of a study stacked on the channel axis. A single-view
# checkpoint (e.g. the baseline's) initialises it through load_from: the
# first convolution's weights are replicated over the views and scaled.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='EarlyFusionBackbone',
        num_views=6,  # the dataset's num_views
        in_channels=3,
        backbone=dict(type='VGG', depth=19, num_classes=2, init_cfg=None)),
    neck=None,
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
