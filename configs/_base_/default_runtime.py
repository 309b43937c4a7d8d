# Runtime shared by every radplugins config.
default_scope = 'mmpretrain'

# Registers radplugins' datasets, transforms, models and metrics.
custom_imports = dict(imports=['radplugins'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # LoggerHook that writes test metrics to the JSON log on rank 0 only.
    logger=dict(type='DistSafeLoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keep the best study-level kappa and the last few epochs.
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='mura/study/kappa',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
