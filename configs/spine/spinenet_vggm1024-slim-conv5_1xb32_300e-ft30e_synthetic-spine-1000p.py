# The 15-epoch fine-tune on the 1,000-patient set, twice as long: its
# endplate validation accuracy was still rising when it stopped (upper
# 0.82 -> 0.91 -> 0.94 at epochs 5, 10, 15), and the hotspots can only
# point at notches the grader detects. About 41 minutes on an idle 2-core
# CPU; train from a 150- or 300-epoch checkpoint:
#   python tools/train.py CONFIG \
#       --cfg-options load_from=work_dirs/spine-150e/epoch_150.pth
_base_ = ['./spinenet_vggm1024-slim-conv5_1xb32_300e-ft15e_synthetic-spine-1000p.py']

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=30),
    dict(type='MultiStepLR', by_epoch=True, milestones=[20], gamma=0.1),
]
train_cfg = dict(max_epochs=30, val_interval=5)
