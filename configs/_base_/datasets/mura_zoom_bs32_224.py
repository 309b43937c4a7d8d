# MURA-v1.1 for zoom models: the letterboxed 224-px input plus a
# high-resolution copy (long side <= 1024) the model crops its ROI from,
# kept in one channel: radiographs are gray, and RadDataPreprocessor
# normalises the crops per network channel.
_base_ = ['./mura_bs32_224.py']

hr_long_side = 1024
# The gt_* keys exist only with MuraDataset(ground_truth=...) (synthetic
# data) and feed ZoomLocalization; PackInputs skips keys a sample lacks.
zoom_meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                  'scale_factor', 'flip', 'flip_direction',
                  'letterbox_offset', 'hr_scale', 'study_id', 'body_part',
                  'patient_id', 'view_idx', 'gt_abnormal_boxes',
                  'gt_abnormal_kinds', 'gt_flag_boxes')

train_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(
        type='RescaleIntensity',
        percentiles=(1.0, 99.0),
        exposure_range=(0.75, 1.25),
        prob=0.5),
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
    dict(type='LoadRadiograph', channels=3),
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
test_dataloader = val_dataloader
