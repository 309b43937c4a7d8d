# Mask R-CNN ResNet-50-FPN for markers ("flags") and implants, as in the
# paper (§IV-B2): boxes and polygon masks, evaluated with COCO bbox and segm
# mAP. Same data as faster-rcnn_r50_fpn_1x_flag-implant.py.
#
# Weights: fine-tuned from MMDetection's COCO Mask R-CNN
# (mask-rcnn_r50_fpn_1x_coco in MMDetection's metafile): backbone, FPN, RPN,
# the box head's shared layers and the mask head's convolutions load; the
# class-specific layers (roi_head.bbox_head.fc_cls, fc_reg and
# roi_head.mask_head.conv_logits: 2 classes here, COCO's 80 in the file) do
# not and keep their initialisation. Stage 1 and BatchNorm statistics are
# frozen as in the COCO recipe. Offline, a local file or from scratch:
# docs/pretrained_weights.md.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/synthetic-flag-implant_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['radplugins'], allow_failed_imports=False)

num_classes = 2  # flag, implant
model = dict(
    # load_from replaces every backbone weight: no ImageNet file is read.
    backbone=dict(init_cfg=None),
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes),
        mask_head=dict(num_classes=num_classes)))

optim_wrapper = dict(optimizer=dict(lr=0.0025))
auto_scale_lr = dict(enable=False, base_batch_size=2)
load_from = 'https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/mask_rcnn_r50_fpn_1x_coco/mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth'  # noqa: E501
# A COCO Mask R-CNN's class-specific layers do not fit the 2 classes and
# keep their initial values; anything else that does not fit is an error
# (radplugins.engine.CheckpointCheckedRunner).
load_from_allow_missing = [
    'roi_head.bbox_head.fc_cls.', 'roi_head.bbox_head.fc_reg.',
    'roi_head.mask_head.conv_logits.'
]
