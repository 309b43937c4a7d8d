# Mask R-CNN ResNet-50-FPN for markers ("flags") and implants, as in the
# paper (§IV-B2): boxes and polygon masks, evaluated with COCO bbox and segm
# mAP. Same data and opt-in pretrained weights as
# faster-rcnn_r50_fpn_1x_flag-implant.py.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/synthetic-flag-implant_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['radplugins'], allow_failed_imports=False)

num_classes = 2  # flag, implant
model = dict(
    backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False),
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes),
        mask_head=dict(num_classes=num_classes)))

optim_wrapper = dict(optimizer=dict(lr=0.0025))
auto_scale_lr = dict(enable=False, base_batch_size=2)
load_from = None
# A COCO Mask R-CNN's class-specific layers do not fit the 2 classes and
# keep their initial values; anything else that does not fit is an error
# (radplugins.engine.CheckpointCheckedRunner).
load_from_allow_missing = [
    'roi_head.bbox_head.fc_cls.', 'roi_head.bbox_head.fc_reg.',
    'roi_head.mask_head.conv_logits.'
]
