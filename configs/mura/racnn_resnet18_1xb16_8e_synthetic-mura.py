# RA-CNN on the synthetic MURA set, sized for a CPU: ResNet-18 at three
# scales, 224-px letterboxed inputs, batch 16. The generator's boxes let
# ZoomLocalization score each scale's attended region (step 0: the box
# scale 1 classifies, step 1: scale 2's).
_base_ = [
    '../_base_/datasets/mura_bs32_224.py',
    '../_base_/schedules/mura_adam_8e.py',
    '../_base_/default_runtime.py',
]

# From scratch with PyTorch's default initialisation, as in the measured
# runs (docs/models/racnn.md; until RACNNClassifier passed init_weights on
# to its parts, their init_cfg was not applied): no Kaiming/zero-residual
# init of the ResNets, no Normal init of the heads.
model = dict(
    type='RACNNClassifier',
    num_scales=3,
    backbone=dict(
        type='ResNet',
        depth=18,
        out_indices=(3, ),
        init_cfg=None,
        zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        init_cfg=None),
    apn=dict(
        type='AttentionProposalNetwork',
        in_channels=512,
        pool_size=4,
        hidden_channels=512,
        side_range=(0.25, 0.5)),
    rank_loss=dict(type='InterScaleRankingLoss', margin=0.05),
    fusion='concat',
    # About 33 iterations an epoch on the small-lesion set: two epochs of
    # classifier warm-up, then the APN initialisation, then alternation.
    alternation=dict(
        classifier_warmup_iters=66,
        apn_init_iters=10,
        classifier_iters=25,
        apn_iters=8,
        apn_init_side=0.5))

optim_wrapper = dict(
    _delete_=True,
    constructor='RACNNOptimWrapperConstructor',
    classifier=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3, weight_decay=0)),
    apn=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, weight_decay=0)))

data_root = 'data/synthetic_mura'
batch_size = 16
# The gt_* keys exist only with MuraDataset(ground_truth=...) (synthetic
# data) and feed ZoomLocalization; PackInputs skips keys a sample lacks.
loc_meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                 'scale_factor', 'flip', 'flip_direction', 'letterbox_offset',
                 'study_id', 'body_part', 'patient_id', 'view_idx',
                 'gt_abnormal_boxes', 'gt_abnormal_kinds', 'gt_flag_boxes')
test_pipeline = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale={{_base_.input_size}}),
    dict(type='PackInputs', meta_keys=loc_meta_keys),
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root, ground_truth='auto', pipeline=test_pipeline))
test_dataloader = val_dataloader
# Fused and per-scale kappa; where scale 1 (step 0) and scale 2 (step 1)
# look.
val_evaluator = [
    dict(type='MuraKappa'),
    dict(type='ScaleMuraKappa', scale=0),
    dict(type='ScaleMuraKappa', scale=1),
    dict(type='ScaleMuraKappa', scale=2),
    dict(type='ZoomLocalization', step=0, prefix='loc_s1'),
    dict(type='ZoomLocalization', step=1, prefix='loc_s2'),
]
test_evaluator = val_evaluator

default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)

# Distributed runs alternate the phases like a single process does.
model_wrapper_cfg = dict(type='RACNNDistributedDataParallel')
