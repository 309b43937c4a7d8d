# SpineNet: VGG-M-1024 on 9-slice disc volumes, six tasks branching after
# conv5 (the paper's best); Pfirrmann 5-way, narrowing 4-way, four binary.
branch_point = 'conv5'
model = dict(
    type='SpineMultiTaskClassifier',
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
    backbone=dict(type='VGGM1024', in_channels=9, input_size=(112, 224)),
    branch_point=branch_point,
    # omega_t per task, in the order pfirrmann, narrowing, upper/lower
    # endplate, upper/lower marrow.
    task_weights=[1.0] * 6,
    tta=False,
    hotspot_cfg=dict(enabled=False, num_aug=32, target='pred'),
)
