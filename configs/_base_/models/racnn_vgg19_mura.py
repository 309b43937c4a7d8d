# RA-CNN (Fu et al., CVPR 2017) with the paper's VGG19 at every scale, for
# 2 classes (negative/positive). Three scales, each its own VGG19 conv
# stack, global pooling and softmax classifier; two attention proposal
# networks; the inter-scale ranking loss with margin 0.05; the fused score
# is a linear layer on the three pooled features. As in RA-CNN, the three
# VGG19s start from ImageNet: MMPretrain's VGG19 (vgg19_8xb32_in1k in
# MMPretrain's metafile), its convolutions into each scale; the file's
# fully connected layers (backbone.classifier.*) are not used, and the
# heads, the attention proposal networks and the fusion layer keep their
# own initialisation. Offline use, a local file or from scratch
# (init_cfg=None; then set classifier_warmup_iters below back to about an
# epoch): docs/pretrained_weights.md.
_base_ = ['./vgg19_imagenet.py']

model = dict(
    type='RACNNClassifier',
    num_scales=3,
    backbone=dict(
        type='VGG',
        depth=19,
        num_classes=-1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint={{_base_.imagenet_checkpoint}},
            prefix='backbone',
            allow_unexpected=['classifier.'])),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    apn=dict(
        type='AttentionProposalNetwork',
        in_channels=512,
        pool_size=4,
        hidden_channels=1024,
        # Each scale zooms 2x to 4x: the box side is a quarter to a half of
        # the current side, so it can neither collapse nor take everything.
        side_range=(0.25, 0.5)),
    rank_loss=dict(type='InterScaleRankingLoss', margin=0.05),
    fusion='concat',
    # Phase lengths in iterations; the paper alternates "until
    # convergence", these are ours.
    alternation=dict(
        # 0: the subnetworks start from ImageNet weights, as in the paper;
        # from scratch, about one MURA epoch at batch 8 (4600).
        classifier_warmup_iters=0,
        apn_init_iters=500,
        classifier_iters=1000,
        apn_iters=250,
        apn_init_side=0.5))

# Distributed runs alternate the phases like a single process does.
model_wrapper_cfg = dict(type='RACNNDistributedDataParallel')
