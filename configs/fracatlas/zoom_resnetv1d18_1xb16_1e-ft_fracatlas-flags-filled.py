# The FracAtlas zoom (zoom_resnetv1d18_1xb16_1e-ft_fracatlas.py) with the
# detected L/R markers and logos filled in every split, started from the
# flags-filled baseline
# (baseline_resnetv1d18_1xb16_10e_fracatlas-flags-filled.py; pass
# load_from=<its checkpoint>). The flags are filled before the
# high-resolution copy is kept, so the zoom's crop has none either. The
# report: see the baseline's header. Results: docs/models/fracatlas.md.
_base_ = ['./zoom_resnetv1d18_1xb16_1e-ft_fracatlas.py']

flag_report = 'work_dirs/fracatlas_flags/removed_flags.json'
load_long_side = {{_base_.load_long_side}}
zoom_meta_keys = {{_base_.zoom_meta_keys}}
input_size = {{_base_.input_size}}
# The paper's ring mean, 2 px around each detected region; the same step in
# every split.
flag_fill = dict(type='FillFlagRegions', method='ring_mean', margin=2)

train_pipeline = [
    dict(type='LoadRadiograph', channels=3, max_long_side=load_long_side),
    flag_fill,
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='KeepHighRes', max_long_side=load_long_side, gray=True),
    dict(type='LetterboxResize', scale=input_size),
    dict(
        type='PackInputs',
        algorithm_keys=('hr_img', ),
        meta_keys=zoom_meta_keys),
]
test_pipeline = [
    dict(type='LoadRadiograph', channels=3, max_long_side=load_long_side),
    flag_fill,
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='KeepHighRes', max_long_side=load_long_side, gray=True),
    dict(type='LetterboxResize', scale=input_size),
    dict(
        type='PackInputs',
        algorithm_keys=('hr_img', ),
        meta_keys=zoom_meta_keys),
]
train_dataloader = dict(
    dataset=dict(flag_regions_file=flag_report, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(flag_regions_file=flag_report, pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(flag_regions_file=flag_report, pipeline=test_pipeline))
