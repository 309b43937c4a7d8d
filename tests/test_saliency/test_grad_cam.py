import numpy as np
import pytest
import torch
import torch.nn as nn

from radplugins.saliency import grad_cam


class CamNet(nn.Module):
    """A convolution (the explained feature map) then global average
    pooling and one linear layer: the network of Zhou et al.'s CAM."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 3)

    def features(self, x):
        return torch.relu(self.bn(self.conv(x)))

    def head(self, feats):
        return self.fc(feats.mean(dim=(2, 3)))


def test_grad_cam_equals_class_activation_map_over_cells():
    net = CamNet()
    net.train()  # grad_cam must switch to eval and restore train mode
    x = torch.randn(2, 1, 8, 8)
    targets = torch.tensor([2, 0])
    maps, logits = grad_cam(net.features, net.head, net, x, targets)
    # Reference: CAM = ReLU(sum_k w_ck A_k) / (h w), with the eval-mode
    # feature map computed separately, in numpy.
    net.eval()
    with torch.no_grad():
        feats = net.features(x).numpy()
        ref_logits = net.head(net.features(x)).numpy()
    w = net.fc.weight.detach().numpy()
    for n, c in enumerate(targets.tolist()):
        cam = np.maximum(np.einsum('k,kij->ij', w[c], feats[n]), 0) / 64
        np.testing.assert_allclose(maps[n].numpy(), cam, rtol=1e-5,
                                   atol=1e-7)
    np.testing.assert_allclose(logits.numpy(), ref_logits, rtol=1e-5)


def test_grad_cam_restores_model_state_and_upsamples():
    net = CamNet()
    net.train()
    net.fc.weight.requires_grad_(True)

    def coarse(x):  # a stride-2 feature grid: 4x4 for an 8x8 input
        return net.features(x)[:, :, ::2, ::2]

    maps, _ = grad_cam(coarse, net.head, net, torch.randn(1, 1, 8, 8),
                       torch.tensor([1]))
    assert maps.shape == (1, 8, 8) and (maps >= 0).all()
    assert net.training and net.bn.training
    assert all(p.requires_grad for p in net.parameters())


def test_grad_cam_rejects_wrong_shapes():
    net = CamNet()
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        grad_cam(net.features, net.head, net, torch.randn(1, 8, 8),
                 torch.tensor([0]))
    with pytest.raises(ValueError, match=r'\(N, K, h, w\)'):
        grad_cam(lambda x: net.features(x).mean(dim=(2, 3)),
                 lambda f: net.fc(f), net, torch.randn(1, 1, 8, 8),
                 torch.tensor([0]))
