# Late fusion demo: ResNet-18 from scratch on synthetic studies of up to 4
# views at 128 px, attention pooling over the real views. The set has the
# lesion of a positive study in only some of its views:
#   python tools/dataset_converters/make_synthetic_mura.py \
#       --out data/synthetic_mura_views --train-studies 240 \
#       --valid-studies 100 --body-parts XR_HAND XR_WRIST \
#       --long-side-range 200 320 --views-probs 0 0 0.5 0.5 \
#       --lesion-view-fraction 0.34 --positive-fraction 0.5
_base_ = [
    '../_base_/models/resnet18_mura.py',
    '../_base_/datasets/mura_study_bs8_224.py',
    '../_base_/schedules/mura_adam_8e.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/synthetic_mura_views'
num_views = 4
input_size = 128

model = dict(
    type='StudyClassifier',
    neck=dict(
        _delete_=True,
        type='ViewFusionNeck',
        pooling='attention',
        in_channels=512))

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
         meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(
        type='LoadStudyViews',
        num_views=num_views,
        view_pipeline=test_view_pipeline,
        fill_pipeline=fill_pipeline),
    dict(type='PackInputs', algorithm_keys=('view_mask', ),
         meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root, num_views=num_views, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root, num_views=num_views, pipeline=test_pipeline))
test_dataloader = val_dataloader

default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
