# A brief fine-tuning of an (ImageNet-)initialised network on MURA, as the
# paper does before extracting features: Adam 1e-4, two epochs, no decay.
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = dict(type='ConstantLR', factor=1.0, by_epoch=True)

train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=32)
