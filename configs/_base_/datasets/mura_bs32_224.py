# MURA-v1.1, one sample per image, letterboxed to 224 px.
# Point data_root at the folder that contains MURA-v1.1/ (or at MURA-v1.1/
# itself), e.g. --cfg-options data_root=/data/mura ... or in a child config.
data_root = 'data/MURA'
dataset_type = 'MuraDataset'
body_parts = None  # e.g. ['XR_WRIST', 'XR_HAND']; None keeps all seven
input_size = 224

data_preprocessor = dict(
    type='RadDataPreprocessor',
    num_classes=2,
    # ImageNet statistics, so ImageNet-initialised backbones see familiar
    # inputs; radiographs are gray, replicated to 3 channels.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

# Metainfo the study-level metric and the zoom models need.
meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'letterbox_offset',
             'study_id', 'body_part', 'patient_id', 'view_idx')

train_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    # The paper's intensity rescaling: normalise the exposure, then shrink or
    # expand it as augmentation.
    dict(
        type='RescaleIntensity',
        percentiles=(1.0, 99.0),
        exposure_range=(0.75, 1.25),
        prob=0.5),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', meta_keys=meta_keys),
]

test_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='PackInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        body_parts=body_parts,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='valid',
        body_parts=body_parts,
        test_mode=True,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='MuraKappa')

# MURA's public "valid" split is the test set of every published result.
test_dataloader = val_dataloader
test_evaluator = val_evaluator
