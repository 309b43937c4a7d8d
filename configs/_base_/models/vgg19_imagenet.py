# MMPretrain's ImageNet VGG19 (vgg19_8xb32_in1k in MMPretrain's metafile),
# named once for every VGG19 model base (vgg19_mura, earlyfusion_vgg19_mura,
# latefusion_vgg19_mura, racnn_vgg19_mura), which say what of it loads.
# MMEngine reads the URL from the torch hub cache
# ($TORCH_HOME/hub/checkpoints/<file name>): docs/pretrained_weights.md.
imagenet_checkpoint = 'https://download.openmmlab.com/mmclassification/v0/vgg/vgg19_batch256_imagenet_20210208-e6920e4a.pth'  # noqa: E501
