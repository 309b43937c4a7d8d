import pytest
import torch
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

RESNET = dict(type='ResNet', depth=18, out_indices=(3, ))
HEAD = dict(
    type='LinearClsHead',
    num_classes=2,
    in_channels=512,
    loss=dict(type='CrossEntropyLoss'))


def classifier(backbone):
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=HEAD))


def early(num_views=3, **kwargs):
    return dict(
        type='EarlyFusionBackbone', backbone=RESNET, num_views=num_views,
        **kwargs)


def test_shapes_and_the_fused_first_conv():
    model = MODELS.build(early(num_views=4))
    assert model.first_conv_name == 'conv1'
    assert model.backbone.conv1.weight.shape == (64, 12, 7, 7)
    (out, ) = model(torch.randn(2, 4, 3, 64, 64))
    assert out.shape == (2, 512, 2, 2)
    vgg = MODELS.build(
        dict(type='EarlyFusionBackbone', num_views=6,
             backbone=dict(type='VGG', depth=11, num_classes=-1)))
    assert vgg.first_conv_name == 'features.0.conv'
    assert vgg.backbone.features[0].conv.in_channels == 18
    assert vgg(torch.randn(1, 6, 3, 32, 32))[0].shape == (1, 512, 1, 1)
    with pytest.raises(ValueError, match=r'expects \(B, 4, 3, H, W\)'):
        model(torch.randn(2, 3, 3, 64, 64))
    with pytest.raises(ValueError, match='takes 3 channels'):
        MODELS.build(early(in_channels=1))


def test_single_view_checkpoint_initialises_the_first_conv(tmp_path):
    torch.manual_seed(0)
    single = classifier(RESNET).eval()
    path = str(tmp_path / 'single.pth')
    torch.save(dict(state_dict=single.state_dict()), path)

    fused = classifier(early(num_views=3)).eval()
    before = fused.backbone.backbone.conv1.weight.clone()
    load_checkpoint(fused, path, map_location='cpu', strict=True)
    weight = fused.backbone.backbone.conv1.weight
    assert not torch.allclose(weight, before)
    reference = single.backbone.conv1.weight
    for v in range(3):
        torch.testing.assert_close(weight[:, 3 * v:3 * v + 3], reference / 3)
    # Identical views: the early-fusion model is the single-view model.
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            fused(image[:, None].expand(-1, 3, -1, -1, -1).contiguous()),
            single(image),
            rtol=1e-4,
            atol=1e-4)
        # Different views give a different answer.
        assert not torch.allclose(
            fused(torch.randn(2, 3, 3, 64, 64)), single(image), atol=1e-3)

    # The same through the inner backbone's init_cfg.
    torch.save(
        dict(state_dict={
            k[len('backbone.'):]: v
            for k, v in single.state_dict().items()
            if k.startswith('backbone.')
        }), str(tmp_path / 'backbone.pth'))
    inner = dict(
        RESNET,
        init_cfg=dict(type='Pretrained',
                      checkpoint=str(tmp_path / 'backbone.pth')))
    wrapped = MODELS.build(early(num_views=2) | dict(backbone=inner))
    wrapped.init_weights()
    torch.testing.assert_close(wrapped.backbone.conv1.weight,
                               reference.repeat(1, 2, 1, 1) / 2)
    torch.testing.assert_close(wrapped.backbone.layer4[1].conv2.weight,
                               single.backbone.layer4[1].conv2.weight)

    # Its own (fused) checkpoints load unchanged.
    own = str(tmp_path / 'fused.pth')
    torch.save(dict(state_dict=fused.state_dict()), own)
    again = classifier(early(num_views=3))
    load_checkpoint(again, own, map_location='cpu', strict=True)
    torch.testing.assert_close(again.backbone.backbone.conv1.weight, weight)
