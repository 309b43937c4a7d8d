# Adam under PyTorch's one-cycle policy (OneCycleLR's defaults), 10 epochs:
# the learning rate climbs from 4e-5 to 1e-3 over the first epoch and
# anneals (cosine) to 4e-9, while Adam's beta1 goes 0.95 -> 0.85 -> 0.95.
# The beta1 cycle matters: without it the synthetic demo's from-scratch
# ResNet never learnt its small lesions (docs/models/zoom.md). Phase
# boundaries are computed from max_epochs here, so a child config that
# changes the length must restate param_scheduler.
max_epochs = 10
warmup_epochs = 1  # 10 % of the steps, as pct_start=0.1
beta1_max, beta1_min = 0.95, 0.85
optim_wrapper = dict(
    optimizer=dict(
        type='Adam', lr=1e-3, betas=(beta1_max, 0.999), weight_decay=0))
param_scheduler = [
    dict(
        type='OneCycleLR',
        eta_max=1e-3,
        pct_start=warmup_epochs / max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingMomentum',
        eta_min=beta1_min,
        T_max=warmup_epochs,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    # Cosine "annealing" towards a larger value: beta1 rises back.
    dict(
        type='CosineAnnealingMomentum',
        eta_min=beta1_max,
        T_max=max_epochs - warmup_epochs,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=16)
