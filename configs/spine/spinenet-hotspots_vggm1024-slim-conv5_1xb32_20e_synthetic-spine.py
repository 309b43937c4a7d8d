# Test-time variant of the spine demo that also computes evidence hotspots
# (K = 32 inverted augmentations drawn from the training ranges,
# explaining the positive class of each binary task) and scores them
# against the generator's lesion masks:
#   python tools/test.py THIS_CONFIG CHECKPOINT --data-root ...
_base_ = ['./spinenet_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py']

model = dict(
    hotspot_cfg=dict(
        enabled=True,
        num_aug=32,
        tasks=('upper_endplate', 'lower_endplate', 'upper_marrow',
               'lower_marrow'),
        target='positive',
        aug_kwargs={{_base_.demo_augment}}))
test_pipeline = [
    dict(type='LoadDiscVolume', with_masks=True),
    dict(type='NormalizeDiscIntensity'),
    dict(
        type='PackInputs',
        algorithm_keys=('task_labels', 'gt_masks'),
        meta_keys={{_base_.meta_keys}}),
]
test_dataloader = dict(
    batch_size=8, dataset=dict(pipeline=test_pipeline))
test_evaluator = [
    dict(type='SpineGradingMetric'),
    dict(type='SpineHotspotLocalization'),
]
