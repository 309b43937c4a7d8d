# FracAtlas (real radiographs, image-level fracture labels, fracture boxes),
# one sample per image, letterboxed to 224 px. Point data_root at the folder
# holding dataset.csv (--data-root data/FracAtlas). The split is the
# dataset's own: all 4,083 images, 70/15/15 stratified by label x body part,
# seed 0 (docs/models/fracatlas.md). Valid is for every choice; test is
# scored once, at the end.
data_root = 'data/FracAtlas'
dataset_type = 'FracAtlasDataset'
body_parts = None  # e.g. ['hand', 'leg']; None keeps all five groups
input_size = 224
# Most FracAtlas images are 373x454 px; about 8 % are 2304x2880 or
# 1760x2140. Those are decoded at a reduced size (libjpeg DCT scaling) and
# shrunk to this long side, which bounds decoding time and the zoom's
# high-resolution copy alike.
load_long_side = 1024
# The copy of the release used here has 59 truncated JPEGs (all
# non-fractured); they are left out with a warning that lists them. Set
# False to make any unreadable file an error.
skip_corrupt = True
batch_size = 16

data_preprocessor = dict(
    type='RadDataPreprocessor',
    num_classes=2,
    # Pixels scaled to [0, 1]: the networks here train from scratch, and a
    # BatchNorm follows the first convolution.
    mean=[0.0, 0.0, 0.0],
    std=[255.0, 255.0, 255.0],
    to_rgb=True,
)

meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'letterbox_offset',
             'img_id', 'study_id', 'body_part', 'view', 'hardware')

train_pipeline = [
    dict(type='LoadRadiograph', channels=3, max_long_side=load_long_side),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadRadiograph', channels=3, max_long_side=load_long_side),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=input_size),
    dict(type='PackInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        body_parts=body_parts,
        skip_corrupt=skip_corrupt,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='valid',
        body_parts=body_parts,
        skip_corrupt=skip_corrupt,
        test_mode=True,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Every image is its own study, so image level is all there is.
val_evaluator = dict(type='MuraKappa', levels=('image', ))

test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
test_evaluator = val_evaluator
