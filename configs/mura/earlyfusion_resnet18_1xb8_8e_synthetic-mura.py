# Early fusion demo: ResNet-18 from scratch on synthetic studies, the 4
# views of a study stacked in its first convolution (paper Fig. 7).
# Generate a set whose lesion shows in only some views of a positive
# study, e.g.
#   tools/dataset_converters/make_synthetic_mura.py --preset demo \
#       --lesion-view-fraction 0.34 --out data/synthetic_mura_views
_base_ = [
    '../_base_/models/resnet18_mura.py',
    '../_base_/datasets/mura_study_bs8_224.py',
    '../_base_/schedules/mura_adam_8e.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/synthetic_mura_views'
num_views = 4

model = dict(
    backbone=dict(
        _delete_=True,
        type='EarlyFusionBackbone',
        num_views=num_views,
        in_channels=3,
        backbone={{_base_.model.backbone}}))

# The base's pipelines were built for its num_views: rebuild them.
train_pipeline = [
    dict(
        type='LoadStudyViews',
        num_views=num_views,
        view_pipeline={{_base_.train_view_pipeline}},
        fill_pipeline={{_base_.fill_pipeline}}),
    dict(type='PackInputs', algorithm_keys=('view_mask', ),
         meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(
        type='LoadStudyViews',
        num_views=num_views,
        view_pipeline={{_base_.test_view_pipeline}},
        fill_pipeline={{_base_.fill_pipeline}}),
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
