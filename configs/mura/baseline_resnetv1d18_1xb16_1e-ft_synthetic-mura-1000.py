# The zoom demo's control on the 1,000-study small-lesion set: one more
# epoch of plain training from the trained baseline (pass
# load_from=<baseline checkpoint>, as `make demo` does), with the same
# schedule as zoom_resnetv1d18_1xb16_1e-ft_synthetic-mura-1000.py, so the
# two are compared at the same budget from the same weights.
_base_ = ['./baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000.py']

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=1,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=1, val_interval=1)
