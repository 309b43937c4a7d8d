# The paper's schedule: SGD, momentum 0.9, weight decay 5e-4, lr 1e-3 cut
# by 10 when the validation score plateaus; about 1000 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(
        type='ReduceOnPlateauLR',
        monitor='spine/mean_avg_class_acc',
        rule='greater',
        factor=0.1,
        patience=20,
        by_epoch=True)
]
train_cfg = dict(by_epoch=True, max_epochs=1000, val_interval=1)
val_cfg = dict()
test_cfg = dict()
