# The fast Cascade R-CNN with its boxes edge-refined at test time
# (tools/test.py CONFIG DETECTOR.pth --tta): each box the detector finds at
# 384 px is read again at the radiograph's own resolution by a trained
# BoxEdgeRefiner (configs/detection/box-edge-refiner_*.py), twice, the
# second time from the first's box, each time in the window's 8 flips and
# transposes; then rescored by how sharply it finds their edges, and
# boxes moved onto one outline are merged. Training is the cascade
# config's; only the test changes. One view: six views (tta_scales x
# flip) with box voting before the refinement scored the same on average
# over the two synthetic sets of docs/models/detection.md, at six times
# the cost. Flag / implant bbox mAP with the cascade trained 12 epochs on
# the flagged set: 0.921 / 0.931 (demo valid), 0.899 / 0.927 (held-out).
#
# The refiner's weights are a separate checkpoint:
#   --cfg-options tta_model.refiner_checkpoint=/path/to/refiner.pth
_base_ = ['./cascade-rcnn_r18_fpn_1xb4-384px_24e_synthetic-flag-implant.py']

refiner_checkpoint = ('work_dirs/box-edge-refiner_1xb8-64px_30e_'
                      'synthetic-flag-implant/epoch_30.pth')
tta_model = dict(
    type='EdgeRefinedDetTTAModel',
    # Each window read in all 8 of its flips and transposes and the edge
    # distributions averaged: one refiner pass each, equivariant boxes.
    refiner=dict(
        type='BoxEdgeRefiner',
        num_classes=2,
        size=64,
        expand=2.0,
        test_symmetries=8),
    refiner_checkpoint=refiner_checkpoint,
    refine_rounds=2,
    # Rank boxes also by how sharply the refiner finds their edges: score
    # x confidence^2 (0, 0.5, 1, 2 and 4 tried on the demo valid split:
    # flag mAP 0.880, 0.888, 0.890, 0.894, 0.895; 2 and 4 tied overall).
    confidence_power=2.0,
    # Boxes the refinement moved onto one outline (IoU > 0.9) are one
    # detection: the lower-scored copies would count as false positives.
    duplicate_iou_thr=0.9,
    # IoU 1.0: no box votes for another, so one view's boxes pass as the
    # detector gave them.
    tta_cfg=dict(
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100,
        vote_iou_thr=1.0,
        score_mode='max'))
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    # The full-resolution gray image the refiner reads (metainfo, not the
    # network input); 8192 px keeps any radiograph whole.
    dict(type='mmpretrain.KeepHighRes', max_long_side=8192, gray=True),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale={{_base_.image_scale}},
                  keep_ratio=True)],
            # Sets flip=False, which the views' merge reads.
            [dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [
                dict(
                    type='PackDetInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape',
                               'img_shape', 'scale_factor', 'flip',
                               'flip_direction', 'hr_img', 'hr_scale'))
            ],
        ])
]
