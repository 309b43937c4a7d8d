# The single-view twin of the fusion demos: ResNet-18 on each view of the
# same synthetic set at 128 px, each view carrying its study's label;
# MuraKappa averages the views' probabilities per study (mean aggregation).
_base_ = ['./baseline_resnet18_1xb16_8e_synthetic-mura.py']

data_root = 'data/synthetic_mura_views'
input_size = 128

train_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(
        type='RescaleIntensity',
        percentiles=(1.0, 99.0),
        exposure_range=(0.75, 1.25),
        prob=0.5),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='PackInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
