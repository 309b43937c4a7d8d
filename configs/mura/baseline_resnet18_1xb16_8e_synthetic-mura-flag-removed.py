# The demo baseline trained and tested on flag-cleaned radiographs (paper
# §IV-B2): every image's detected markers are filled with the mean of their
# surroundings before anything else sees it. The regions come from the
# report of tools/remove_flags.py (a --dry-run is enough: the cleaning
# happens here, on the fly), e.g.
#   python tools/remove_flags.py \
#       configs/detection/faster-rcnn_r18_fpn_1xb4-384px_12e_synthetic-flag-implant.py \
#       DETECTOR.pth --input data/synthetic_flags \
#       --output data/synthetic_flags_detected --dry-run
# Alternatively, train the plain baseline with --data-root on the cleaned
# copy that remove_flags.py writes without --dry-run.
_base_ = ['./baseline_resnet18_1xb16_8e_synthetic-mura.py']

data_root = 'data/synthetic_flags'
flag_regions_file = 'data/synthetic_flags_detected/removed_flags.json'
flag_removal = dict(
    type='FillFlagRegions',
    method='ring_mean',
    margin=2,
    regions_file=flag_regions_file)

train_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    flag_removal,
    dict(
        type='RescaleIntensity',
        percentiles=(1.0, 99.0),
        exposure_range=(0.75, 1.25),
        prob=0.5),
    dict(type='LetterboxResize', scale={{_base_.input_size}}),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    flag_removal,
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale={{_base_.input_size}}),
    dict(type='PackInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
