# The FracAtlas baseline (baseline_resnetv1d18_1xb16_10e_fracatlas.py) with
# the L/R markers and logos filled before the network sees them, in every
# split, as the paper proposes for its flags (section IV-B2). The markers
# are those the synthetic-trained flag detector finds; make the report once
# with
#   python tools/remove_flags.py DETECTOR_CONFIG DETECTOR_CHECKPOINT \
#       --input data/FracAtlas --split all --dry-run \
#       --output work_dirs/fracatlas_flags
# and point flag_report at another file with
#   --cfg-options train_dataloader.dataset.flag_regions_file=FILE \
#       val_dataloader.dataset.flag_regions_file=FILE \
#       test_dataloader.dataset.flag_regions_file=FILE
# Only the report's `flag` regions are filled, never implants. Weights: none
# are loaded. Results: docs/models/fracatlas.md.
_base_ = ['./baseline_resnetv1d18_1xb16_10e_fracatlas.py']

flag_report = 'work_dirs/fracatlas_flags/removed_flags.json'
load_long_side = {{_base_.load_long_side}}
meta_keys = {{_base_.meta_keys}}
input_size = {{_base_.input_size}}
# The paper's ring mean, 2 px around each detected region; the same step in
# every split.
flag_fill = dict(type='FillFlagRegions', method='ring_mean', margin=2)

train_pipeline = [
    dict(type='LoadRadiograph', channels=3, max_long_side=load_long_side),
    # Right after loading: the regions are in file pixels, scaled by the
    # loader's load_scale.
    flag_fill,
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadRadiograph', channels=3, max_long_side=load_long_side),
    flag_fill,
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='PackInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    dataset=dict(flag_regions_file=flag_report, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(flag_regions_file=flag_report, pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(flag_regions_file=flag_report, pipeline=test_pipeline))
