# The paper's zoom (§III-C): VGG19, GBP of the predicted class, local
# entropy, ROI >= the input size in original pixels, crop, classify again;
# both scales' losses summed.
_base_ = ['./vgg19_mura.py']

model = dict(
    type='ZoomInClassifier',
    num_steps=1,
    saliency_rule='guided',
    train_target='pred',
    entropy_cfg=dict(num_bins=16, window=9),
    roi_cfg=dict(method='otsu', region='largest', square=True),
    loss_weights=(1.0, 1.0),
    combine='mean_probs')
