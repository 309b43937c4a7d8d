# The zoom demo's zoom stage on the 1,000-study small-lesion set: as in the
# paper (Fig. 2), the zoom model starts from the trained baseline
# (baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000.py; pass
# load_from=<its checkpoint>, as `make demo` does) and is fine-tuned with
# both scales' losses for one epoch, with the control's schedule
# (baseline_resnetv1d18_1xb16_1e-ft_synthetic-mura-1000.py). Model,
# input scaling and augmentation match that baseline's.
_base_ = ['./zoom_resnetv1d18_1xb16_3e-ft_synthetic-mura.py']

data_root = 'data/synthetic_mura_1000'

model = dict(
    backbone=dict(zero_init_residual=False),
    head=dict(init_cfg=None))
data_preprocessor = dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0])

train_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='KeepHighRes',
        max_long_side={{_base_.hr_long_side}},
        gray=True),
    dict(type='LetterboxResize', scale={{_base_.input_size}}),
    dict(
        type='PackInputs',
        algorithm_keys=('hr_img', ),
        meta_keys={{_base_.zoom_meta_keys}}),
]
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=1,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=1, val_interval=1)
