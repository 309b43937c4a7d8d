# Zoom from network response on FracAtlas: as in the paper (Fig. 2) the zoom
# model starts from the trained baseline
# (baseline_resnetv1d18_1xb16_10e_fracatlas.py; pass load_from=<its
# checkpoint>) and is fine-tuned one epoch with both scales' losses, on the
# plain control's schedule (baseline_resnetv1d18_1xb16_1e-ft_fracatlas.py).
# Saliency, entropy and ROI settings are the synthetic demo's
# (configs/mura/zoom_resnetv1d18_1xb16_3e-ft_synthetic-mura.py); the crop
# comes from the loaded radiograph (long side <= 1,024 px), and
# ZoomLocalization scores the ROI against the fracture boxes.
_base_ = [
    '../_base_/models/resnetv1d18_fracatlas.py',
    '../_base_/datasets/fracatlas_zoom_bs16_224.py',
    '../_base_/schedules/adam_cosine_1e-ft.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ZoomInClassifier',
    num_steps=1,
    entropy_cfg=dict(num_bins=16, window=15),
    roi_cfg=dict(
        method='percentile', value=99.0, region='largest', square=True),
    loss_weights=(1.0, 1.0),
    combine='mean_probs')

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(save_best='mura/image/auroc', rule='greater'))
randomness = dict(seed=0)
