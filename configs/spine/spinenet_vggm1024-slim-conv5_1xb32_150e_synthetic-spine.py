# The spine demo for 150 epochs (about 48 minutes on an idle 2-core CPU):
# the endplate notches, which the 20-epoch demo does not learn, start to
# fit after about 35 epochs and reach ~0.82 average per-class accuracy on
# the test split. Score its hotspots with the hotspot config of this folder
# (spinenet-hotspots_..._20e_synthetic-spine.py, same model):
#   python tools/test.py HOTSPOT_CONFIG work_dirs/spine-150e/epoch_150.pth \
#       --data-root data/synthetic_spine
_base_ = ['./spinenet_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py']

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=30),
    dict(type='MultiStepLR', by_epoch=True, milestones=[120], gamma=0.1),
]
train_cfg = dict(max_epochs=150, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
