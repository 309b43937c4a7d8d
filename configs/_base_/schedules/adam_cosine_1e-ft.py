# One fine-tuning epoch from a trained baseline (pass load_from=...): Adam
# 2e-4, cosine to 1e-5. The same schedule serves the plain control and the
# zoom fine-tune, so the two differ only in zooming.
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
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=16)
