# Faster R-CNN ResNet-50-FPN for markers ("flags") and implants, as in the
# paper (§IV-B2), on the synthetic set by default. Generate the data with
# tools/dataset_converters/make_synthetic_mura.py (it writes the COCO files).
#
# Weights: fine-tuned from MMDetection's COCO Faster R-CNN
# (faster-rcnn_r50_fpn_1x_coco in MMDetection's metafile), as the paper
# fine-tunes a COCO detector: backbone, FPN, RPN and the box head's shared
# layers load; the class-specific layers (roi_head.bbox_head.fc_cls and
# fc_reg: 2 classes here, COCO's 80 in the file) do not and keep their
# initialisation (load_from_allow_missing below). The backbone is trained
# as in the COCO recipe (stage 1 and BatchNorm statistics frozen; MMDetection's
# defaults). MMEngine reads the URL from the torch hub cache
# ($TORCH_HOME/hub/checkpoints/<file name>) and downloads it there the first
# time. Offline, a local file (--cfg-options load_from=/path/to/<file>.pth)
# or from scratch (load_from=None model.backbone.frozen_stages=-1
# model.backbone.norm_eval=False, as the r18 demo configs):
# docs/pretrained_weights.md.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/synthetic-flag-implant_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['radplugins'], allow_failed_imports=False)

num_classes = 2  # flag, implant
model = dict(
    # load_from replaces every backbone weight: no ImageNet file is read.
    backbone=dict(init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=num_classes)))

# One process, batch 2: the 1x schedule's lr (0.02 for 16 images) scaled
# linearly.
optim_wrapper = dict(optimizer=dict(lr=0.0025))
auto_scale_lr = dict(enable=False, base_batch_size=2)
load_from = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth'  # noqa: E501
# Parameters a load_from checkpoint may lack or hold with another shape
# (a COCO detector's class-specific layers); anything else that does not
# fit is an error (radplugins.engine.CheckpointCheckedRunner).
load_from_allow_missing = [
    'roi_head.bbox_head.fc_cls.', 'roi_head.bbox_head.fc_reg.'
]
