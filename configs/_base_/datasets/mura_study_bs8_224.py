# MURA-v1.1, one sample per study with num_views views of 224 px
# (paper §IV-E). Studies with fewer views are filled by repeating views
# under a random crop and mirroring (flagged in view_mask); studies with
# more are cut to a random subset in training, the first views in testing.
data_root = 'data/MURA'
dataset_type = 'MuraStudyDataset'
body_parts = None  # e.g. ['XR_WRIST', 'XR_HAND']; None keeps all seven
input_size = 224
num_views = 6

data_preprocessor = dict(
    type='StudyDataPreprocessor',
    num_classes=2,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

# Metainfo the study-level metric needs (MuraKappa).
meta_keys = ('sample_idx', 'img_paths', 'img_shape', 'study_id',
             'body_part', 'patient_id', 'num_study_views', 'view_sources')

train_view_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(
        type='RescaleIntensity',
        percentiles=(1.0, 99.0),
        exposure_range=(0.75, 1.25),
        prob=0.5),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
test_view_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
]
# The paper's "different preprocessing" of a repeated view: another crop
# region and mirroring.
fill_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=input_size,
        crop_ratio_range=(0.6, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]

train_pipeline = [
    dict(
        type='LoadStudyViews',
        num_views=num_views,
        view_pipeline=train_view_pipeline,
        fill_pipeline=fill_pipeline),
    dict(type='PackInputs', algorithm_keys=('view_mask', ),
         meta_keys=meta_keys),
]
test_pipeline = [
    dict(
        type='LoadStudyViews',
        num_views=num_views,
        view_pipeline=test_view_pipeline,
        fill_pipeline=fill_pipeline),
    dict(type='PackInputs', algorithm_keys=('view_mask', ),
         meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        body_parts=body_parts,
        num_views=num_views,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='valid',
        body_parts=body_parts,
        num_views=num_views,
        test_mode=True,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# One sample is one study: MuraKappa's study aggregation is the identity.
val_evaluator = dict(type='MuraKappa')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
