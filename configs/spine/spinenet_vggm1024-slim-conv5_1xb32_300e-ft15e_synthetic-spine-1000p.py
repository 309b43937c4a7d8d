# The 300-epoch spine model fine-tuned for 15 epochs on a five times larger
# synthetic training set (1,000 patients, a seed of its own; the generator
# and its settings unchanged). The 300-epoch run fits its 946 training discs
# (endplate training losses ~0.01) while the endplate validation accuracy
# stays at 0.87-0.90: it overfits, so more patients, not more epochs.
# About 30 minutes on an idle 2-core CPU. Generate the data with
#   python tools/dataset_converters/make_synthetic_spine.py \
#       --out data/synthetic_spine_1000p --num-patients 1000 --seed 2
# and train from the 300-epoch checkpoint (load_from stays None in the
# config, as everywhere: weights are a local file named on the command line):
#   python tools/train.py CONFIG \
#       --cfg-options load_from=work_dirs/spine-300e/epoch_300.pth
_base_ = ['./spinenet_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py']

data_root = 'data/synthetic_spine_1000p'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=30),
    dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.1),
]
train_cfg = dict(max_epochs=15, val_interval=5)
