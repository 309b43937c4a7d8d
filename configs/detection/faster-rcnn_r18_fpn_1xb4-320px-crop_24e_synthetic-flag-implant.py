# The 24-epoch fast Faster R-CNN, trained on 320 x 320 crops at the
# radiograph's own resolution and tested on the whole image, unresized.
# Shrinking a 400-1,000 px radiograph to 384 px leaves a marker 11-31 px
# tall, where one pixel of box error costs a quarter of the IoU; at the
# native resolution a marker is 23-92 px tall (median 45). A crop of
# 320 x 320 costs a training step what a 384-px image does; the network is
# convolutional, so it tests on the whole image at the scale it learnt.
_base_ = ['./faster-rcnn_r18_fpn_1xb4-384px_24e_synthetic-flag-implant.py']

crop_size = (320, 320)
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    # A crop without an object is refetched as another image: markers sit
    # near the border and cover about 1 % of an image, so most crops of a
    # marked image would otherwise hold nothing to learn the box from.
    dict(type='RandomCrop', crop_size=crop_size, allow_negative_crop=False),
    # A marker the crop cuts to a sliver is not a box to regress on.
    dict(type='FilterAnnotations', min_gt_bbox_wh=(4, 4), keep_empty=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    # The native resolution; the resize only records scale_factor 1.
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
