# The spine demo: a slim VGG-M-1024 (a quarter of the widths) branching
# after conv5, trained from scratch on the synthetic spine set on a CPU.
# Generate the data with
#   python tools/dataset_converters/make_synthetic_spine.py \
#       --out data/synthetic_spine --num-patients 200
_base_ = [
    '../_base_/models/spinenet_vggm1024.py',
    '../_base_/datasets/spine_discs_bs256.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/synthetic_spine'
batch_size = 32
widths = (24, 64, 128, 128, 128, 256, 128)

model = dict(backbone=dict(widths=widths, dropout=0.3))

loader = dict(batch_size=batch_size, dataset=dict(data_root=data_root))
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=30),
    dict(type='MultiStepLR', by_epoch=True, milestones=[9], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=3)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        interval=3,
        save_best='spine/mean_avg_class_acc',
        rule='greater',
        max_keep_ckpts=2))
randomness = dict(seed=0)
