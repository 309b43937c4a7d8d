# The FracAtlas baseline for a CPU: ResNetV1d-18 from scratch on the 70 %
# train split (about 2,800 real radiographs), 224 px, 10 epochs of the
# one-cycle recipe that learnt the synthetic demo's small lesions
# (configs/mura/baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000.py).
# Weights: none are loaded (MMPretrain publishes no ImageNet ResNetV1d-18;
# see configs/_base_/models/resnetv1d18_fracatlas.py).
# The checkpoint kept as best is the valid split's AUROC. Results, timings
# and what a GPU run would change: docs/models/fracatlas.md.
_base_ = [
    '../_base_/models/resnetv1d18_fracatlas.py',
    '../_base_/datasets/fracatlas_bs16_224.py',
    '../_base_/schedules/adam_onecycle_10e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(save_best='mura/image/auroc', rule='greater'))
randomness = dict(seed=0)
