# MURA-v1.1 for RA-CNN as the zoom paper ran it: letterboxed (padded) to
# 512 px and cropped to 448 px at the input, batch 8.
_base_ = ['./mura_bs32_224.py']

input_size = 448
pad_size = 512

train_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(
        type='RescaleIntensity',
        percentiles=(1.0, 99.0),
        exposure_range=(0.75, 1.25),
        prob=0.5),
    dict(type='LetterboxResize', scale=pad_size),
    dict(type='RandomCrop', crop_size=input_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', meta_keys={{_base_.meta_keys}}),
]
# At test time the whole radiograph is letterboxed straight to 448 px: a
# centre crop of the 512 canvas would cut the radiograph's border and the
# boxes could no longer be mapped back to the original's pixels.
test_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='PackInputs', meta_keys={{_base_.meta_keys}}),
]

train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
