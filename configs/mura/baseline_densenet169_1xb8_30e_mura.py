# MURA's official baseline: DenseNet-169, 320 px input, batch 8, Adam 1e-4.
# Weights: the backbone from MMPretrain's ImageNet DenseNet-169
# (densenet169_3rdparty_in1k), as the MURA authors start from ImageNet; the
# 2-way head (head.fc) does not load and stays initialised. Offline, a
# local file or from scratch (model.backbone.init_cfg=None):
# docs/pretrained_weights.md.
_base_ = [
    '../_base_/models/densenet169_mura.py',
    '../_base_/datasets/mura_bs32_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]

input_size = 320
batch_size = 8

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
    batch_size=batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

auto_scale_lr = dict(base_batch_size=batch_size)
