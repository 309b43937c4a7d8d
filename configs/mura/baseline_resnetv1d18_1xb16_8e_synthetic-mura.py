# The zoom baseline on the 200-study small-lesion set: ResNetV1d-18 (deep
# stem, average-pool shortcuts) from scratch. The zoom's guided backprop needs
# the average-pool shortcuts: ResNet's stride-2 1x1 shortcut convolutions
# see only every other pixel, so in a trained ResNet-18 the guided signal
# reaches the input as a lattice of spots every 32 px (its total stride)
# and the entropy ROI lands on a lattice point; average pooling spreads the
# signal over every pixel.
_base_ = ['./baseline_resnet18_1xb16_8e_synthetic-mura.py']

model = dict(backbone=dict(type='ResNetV1d'))
