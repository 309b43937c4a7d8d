# ResNet-18 from scratch on the 200-study synthetic MURA set, on a CPU in a
# few minutes; the base of the other synthetic demos. Generate the data with
# tools/dataset_converters/make_synthetic_mura.py --preset small-lesion (or
# --preset demo) --out data/synthetic_mura.
_base_ = [
    '../_base_/models/resnet18_mura.py',
    '../_base_/datasets/mura_bs32_224.py',
    '../_base_/schedules/mura_adam_8e.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/synthetic_mura'
batch_size = 16

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
