# The control for the FracAtlas zoom: the trained baseline
# (baseline_resnetv1d18_1xb16_10e_fracatlas.py; pass load_from=<its
# checkpoint>) trained one more epoch without zooming, on the zoom
# fine-tune's schedule, so baseline and zoom get the same total budget.
_base_ = [
    '../_base_/models/resnetv1d18_fracatlas.py',
    '../_base_/datasets/fracatlas_bs16_224.py',
    '../_base_/schedules/adam_cosine_1e-ft.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(save_best='mura/image/auroc', rule='greater'))
randomness = dict(seed=0)
