# Late fusion on VGG19: the shared backbone runs on every view and the
# study's view features are pooled by attention (set
# model.neck.pooling='mean' or 'max' for the other poolings).
_base_ = [
    '../_base_/models/latefusion_vgg19_mura.py',
    '../_base_/datasets/mura_study_bs8_224.py',
    '../_base_/schedules/mura_adam_30e.py',
    '../_base_/default_runtime.py',
]
