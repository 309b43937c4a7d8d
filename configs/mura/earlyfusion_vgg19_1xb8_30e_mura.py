# The paper's study-level model (§IV-E, Fig. 7): 6 views fused in VGG19's
# first layer. Start from the single-view baseline with
# --cfg-options load_from=work_dirs/baseline_vgg19_1xb32_30e_mura/epoch_30.pth
_base_ = [
    '../_base_/models/earlyfusion_vgg19_mura.py',
    '../_base_/datasets/mura_study_bs8_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]
