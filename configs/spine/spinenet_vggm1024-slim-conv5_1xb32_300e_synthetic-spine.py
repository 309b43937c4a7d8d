# The spine demo for 300 epochs (about 96 minutes on an idle 2-core CPU).
# The 150-epoch schedule cuts the learning rate at epoch 120 while the
# endplate accuracy is still rising; this one keeps lr 1e-3 until epoch 250.
# On 709 held-out discs (docs/models/spinenet.md) it grades the endplates
# at 0.86 against 0.84 for 150 epochs; endplate pointing 0.86 / 0.85.
# Score its hotspots with the hotspot config of this folder (same model):
#   python tools/test.py \
#       configs/spine/spinenet-hotspots_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py \
#       work_dirs/spine-300e/epoch_300.pth --data-root data/synthetic_spine
_base_ = ['./spinenet_vggm1024-slim-conv5_1xb32_150e_synthetic-spine.py']

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=30),
    dict(type='MultiStepLR', by_epoch=True, milestones=[250], gamma=0.1),
]
train_cfg = dict(max_epochs=300, val_interval=10)
