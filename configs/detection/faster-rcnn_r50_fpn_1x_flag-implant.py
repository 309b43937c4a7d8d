# Faster R-CNN ResNet-50-FPN for markers ("flags") and implants, as in the
# paper (§IV-B2), on the synthetic set by default. Generate the data with
# tools/dataset_converters/make_synthetic_mura.py (it writes the COCO files).
#
# Random initialisation by default (nothing is downloaded). To start from a
# COCO-pretrained detector, pass a local checkpoint:
#   --cfg-options load_from=/path/to/faster_rcnn_r50_fpn_1x_coco.pth
# (its 80-class classifier and box regressor do not fit the 2 classes and
# keep their initial values: load_from_allow_missing below), and freeze BN
# statistics again: model.backbone.norm_eval=True.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/synthetic-flag-implant_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['radplugins'], allow_failed_imports=False)

num_classes = 2  # flag, implant
model = dict(
    backbone=dict(
        # From scratch: no ImageNet download, and BN must learn its
        # statistics.
        init_cfg=None,
        frozen_stages=-1,
        norm_eval=False),
    roi_head=dict(bbox_head=dict(num_classes=num_classes)))

# One process, batch 2: the 1x schedule's lr (0.02 for 16 images) scaled
# linearly.
optim_wrapper = dict(optimizer=dict(lr=0.0025))
auto_scale_lr = dict(enable=False, base_batch_size=2)
load_from = None
# Parameters a load_from checkpoint may lack or hold with another shape
# (a COCO detector's class-specific layers); anything else that does not
# fit is an error (radplugins.engine.CheckpointCheckedRunner).
load_from_allow_missing = [
    'roi_head.bbox_head.fc_cls.', 'roi_head.bbox_head.fc_reg.'
]
