# Zoom-in classifier on the synthetic MURA set, sized for a CPU.
_base_ = [
    '../_base_/models/resnet18_mura.py',
    '../_base_/datasets/mura_zoom_bs32_224.py',
    '../_base_/schedules/mura_adam_8e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ZoomInClassifier',
    num_steps=1,
    entropy_cfg=dict(num_bins=16, window=9),
    roi_cfg=dict(method='otsu', region='largest', square=True),
    loss_weights=(1.0, 1.0),
    combine='mean_probs')

data_root = 'data/synthetic_mura'
batch_size = 16
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(data_root=data_root))
# The generator's box ground truth (MURA-v1.1/synthetic_ground_truth.json)
# lets ZoomLocalization score where the model zooms.
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(data_root=data_root, ground_truth='auto'))
test_dataloader = val_dataloader
val_evaluator = [dict(type='MuraKappa'), dict(type='ZoomLocalization')]
test_evaluator = val_evaluator

default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
