import numpy as np
import pytest
import torch

from radplugins.models.utils import attention_crop, compose_boxes


def test_crop_is_differentiable_in_the_box():
    torch.manual_seed(0)
    images = torch.rand(2, 1, 7, 7, dtype=torch.float64)
    # Box corners off the pixel-centre grid, so finite differences do not
    # straddle a kink of the bilinear interpolation.
    boxes = torch.tensor([[0.47, 0.53, 0.31], [0.38, 0.61, 0.27]],
                         dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda b: attention_crop(images, b, (3, 3)), (boxes, ),
        eps=1e-6, atol=1e-5)


def test_whole_frame_box_is_the_identity():
    images = torch.rand(1, 3, 8, 8)
    box = torch.tensor([[0.5, 0.5, 0.5]])
    assert torch.allclose(attention_crop(images, box, (8, 8)), images,
                          atol=1e-6)


def test_quadrant_at_half_resolution_averages_pixel_blocks():
    rng = np.random.default_rng(1)
    img = rng.random((8, 8))
    # Top-left quadrant (4x4 pixels) zoomed to 2x2: each output sample sits
    # between four pixel centres, so bilinear gives the 2x2 block mean.
    out = attention_crop(
        torch.tensor(img)[None, None], torch.tensor([[0.25, 0.25, 0.25]],
                                                    dtype=torch.float64),
        (2, 2))[0, 0].numpy()
    expected = img[:4, :4].reshape(2, 2, 2, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_quadrant_zoomed_twice_is_the_pixels():
    img = torch.arange(64.).view(1, 1, 8, 8)
    # Bottom-right quadrant at its own resolution: the pixels themselves.
    out = attention_crop(img, torch.tensor([[0.75, 0.75, 0.25]]), (4, 4))
    assert torch.allclose(out, img[..., 4:, 4:], atol=1e-4)


def test_compose_boxes_by_hand():
    outer = torch.tensor([[0.6, 0.4, 0.2]])  # spans [0.4, 0.8] x [0.2, 0.6]
    inner = torch.tensor([[0.25, 0.5, 0.25]])
    # centre 0.4 + 0.4 * 0.25 = 0.5, 0.2 + 0.4 * 0.5 = 0.4; half 0.4 * 0.25
    assert torch.allclose(compose_boxes(outer, inner),
                          torch.tensor([[0.5, 0.4, 0.1]]))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r'\(N, 3\)'):
        attention_crop(torch.zeros(2, 1, 4, 4), torch.zeros(2, 4), (2, 2))
    with pytest.raises(ValueError, match='N, C, H, W'):
        attention_crop(torch.zeros(1, 4, 4), torch.zeros(1, 3), (2, 2))
