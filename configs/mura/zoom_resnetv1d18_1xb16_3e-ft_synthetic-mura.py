# The zoom stage on ResNetV1d-18 for the 200-study small-lesion set (see
# baseline_resnetv1d18_1xb16_8e_synthetic-mura.py for why): as in the paper
# (Fig. 2), the zoom model starts from the trained baseline (pass
# load_from=<baseline checkpoint>) and is fine-tuned with both scales'
# losses.
_base_ = ['./zoom_resnet18_1xb16_3e-ft_synthetic-mura.py']

# With dense saliency, Otsu keeps most of the bone and the ROI becomes the
# whole radiograph; the top 1 % of the entropy over 15-px windows is a
# region. Chosen on the demo's validation split (docs/models/zoom.md).
model = dict(
    backbone=dict(type='ResNetV1d'),
    entropy_cfg=dict(num_bins=16, window=15),
    roi_cfg=dict(method='percentile', value=99.0))
