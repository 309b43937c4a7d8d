# The zoom demo's baseline (ResNetV1d-18, see
# baseline_resnetv1d18_1xb16_8e_synthetic-mura.py) for three times as long:
# after 8 epochs the small lesions of the demo set are barely learnt (AUROC
# about 0.6) and the saliency cannot point at what the network has not
# learnt. Start the zoom fine-tuning from this checkpoint to measure the
# zoom on a better classifier (docs/models/zoom.md).
_base_ = ['./baseline_resnet18_1xb16_24e_synthetic-mura.py']

model = dict(backbone=dict(type='ResNetV1d'))
