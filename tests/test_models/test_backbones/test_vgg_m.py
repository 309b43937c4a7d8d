"""VGG-M-1024 as SpineNet uses it."""
import pytest
import torch
from mmpretrain.registry import MODELS


def test_full_size_shapes():
    net = MODELS.build(dict(type='VGGM1024', out_indices=(4, 5, 6)))
    conv1 = net.stages[0][0]
    assert conv1.in_channels == 9 and conv1.kernel_size == (7, 7) \
        and conv1.stride == (2, 2) and conv1.out_channels == 96
    assert net.conv5_shape == (512, 3, 6)
    assert not any(
        isinstance(m, torch.nn.LocalResponseNorm) for m in net.modules())
    with torch.no_grad():
        c5, f6, f7 = net(torch.zeros(1, 9, 112, 224))
    assert c5.shape == (1, 512, 3, 6) and f6.shape == (1, 4096) \
        and f7.shape == (1, 1024)


def test_bad_widths():
    with pytest.raises(ValueError, match='must have 7 entries'):
        MODELS.build(dict(type='VGGM1024', widths=(8, 8)))
