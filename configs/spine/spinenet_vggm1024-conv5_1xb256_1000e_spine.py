# SpineNet as in the paper: VGG-M-1024 branching after conv5, batch 256,
# SGD with a plateau drop, ~1000 epochs, 54-view test-time augmentation.
# Real data: --data-root pointing at a folder written in SpineDiscDataset's
# format (tools/dataset_converters/extract_disc_volumes.py).
_base_ = [
    '../_base_/models/spinenet_vggm1024.py',
    '../_base_/datasets/spine_discs_bs256.py',
    '../_base_/schedules/spine_sgd_plateau.py',
    '../_base_/default_runtime.py',
]

model = dict(tta=True)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        save_best='spine/mean_avg_class_acc', rule='greater',
        max_keep_ckpts=3))
