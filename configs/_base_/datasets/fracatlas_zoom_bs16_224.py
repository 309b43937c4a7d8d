# FracAtlas for zoom models: the letterboxed 224-px input plus a gray
# high-resolution copy the model crops its ROI from (the loaded image,
# itself at most load_long_side px), and the fracture boxes for
# ZoomLocalization.
_base_ = ['./fracatlas_bs16_224.py']

hr_long_side = {{_base_.load_long_side}}
zoom_meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                  'scale_factor', 'flip', 'flip_direction',
                  'letterbox_offset', 'hr_scale', 'img_id', 'study_id',
                  'body_part', 'view', 'hardware', 'gt_abnormal_boxes',
                  'gt_abnormal_kinds', 'gt_flag_boxes')

train_pipeline = [
    dict(
        type='LoadRadiograph',
        channels=3,
        max_long_side={{_base_.load_long_side}}),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    # Geometric augmentation before the copy, so copy and input agree.
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='KeepHighRes', max_long_side=hr_long_side, gray=True),
    dict(type='LetterboxResize', scale={{_base_.input_size}}),
    dict(
        type='PackInputs',
        algorithm_keys=('hr_img', ),
        meta_keys=zoom_meta_keys),
]
test_pipeline = [
    dict(
        type='LoadRadiograph',
        channels=3,
        max_long_side={{_base_.load_long_side}}),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='KeepHighRes', max_long_side=hr_long_side, gray=True),
    dict(type='LetterboxResize', scale={{_base_.input_size}}),
    dict(
        type='PackInputs',
        algorithm_keys=('hr_img', ),
        meta_keys=zoom_meta_keys),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = [
    dict(type='MuraKappa', levels=('image', )),
    dict(type='ZoomLocalization')
]
test_evaluator = val_evaluator
