# The demo's zoom stage on ResNetV1d-18 (see
# baseline_resnetv1d18_1xb16_8e_synthetic-mura.py for why): as in the paper
# (Fig. 2), the zoom model starts from the trained baseline (pass
# load_from=<baseline checkpoint>, as `make demo` does) and is fine-tuned
# with both scales' losses.
_base_ = ['./zoom_resnet18_1xb16_3e-ft_synthetic-mura.py']

model = dict(backbone=dict(type='ResNetV1d'))
