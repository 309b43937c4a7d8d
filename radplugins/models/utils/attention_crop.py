"""Differentiable square crop-and-zoom for the attention proposal network."""
from typing import Tuple

import torch
import torch.nn.functional as F


def compose_boxes(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """Express a box given inside a crop in the frame the crop came from.

    Boxes are ``(cx, cy, half)``: centre and half side as fractions of the
    frame's width and height (``[0, 1]`` spans the frame). A point ``u`` of
    the crop of ``outer`` lies at ``outer_origin + 2 * outer_half * u`` in
    the outer frame, so the composition is affine and differentiable in both
    boxes.

    Args:
        outer (torch.Tensor): ``(N, 3)`` box of the crop in the base frame.
        inner (torch.Tensor): ``(N, 3)`` box inside that crop.

    Returns:
        torch.Tensor: ``(N, 3)`` the inner box in the base frame.
    """
    side = 2 * outer[:, 2:3]
    origin = outer[:, :2] - outer[:, 2:3]
    centre = origin + side * inner[:, :2]
    return torch.cat([centre, side * inner[:, 2:3]], dim=1)


def attention_crop(images: torch.Tensor, boxes: torch.Tensor,
                   out_size: Tuple[int, int]) -> torch.Tensor:
    """Crop ``(cx, cy, half)`` boxes and zoom them to ``out_size``.

    The crop is an affine ``grid_sample`` (bilinear, zero outside the
    image), not RA-CNN's boxcar mask of logistic functions. Reasons: the
    sampled crop comes out at the next scale's input size in one operation
    (the mask needs a full-size masked image and a separate resize); its
    derivative with respect to ``(cx, cy, half)`` is the image's spatial
    gradient at every sampled point, so it is dense and well scaled,
    whereas a steep logistic mask only passes gradient through a thin band
    at the box border (and a soft one leaks context into the crop). The
    sampling grid is a linear function of the box, so the crop is
    differentiable everywhere except on the measure-zero set where a
    sample point crosses a pixel centre.

    Args:
        images (torch.Tensor): ``(N, C, H, W)`` source images.
        boxes (torch.Tensor): ``(N, 3)`` centre and half side, as fractions
            of the image's width (x) and height (y); a square box in pixels
            needs a square image.
        out_size (tuple[int, int]): Output ``(height, width)``.

    Returns:
        torch.Tensor: ``(N, C, out_h, out_w)`` zoomed crops.
    """
    if images.dim() != 4:
        raise ValueError(f'images must be (N, C, H, W), got shape '
                         f'{tuple(images.shape)}')
    if boxes.dim() != 2 or boxes.shape != (images.shape[0], 3):
        raise ValueError(f'boxes must be (N, 3) = (cx, cy, half) with '
                         f'N={images.shape[0]}, got {tuple(boxes.shape)}')
    n, c = images.shape[:2]
    # grid_sample's normalised frame is [-1, 1] with align_corners=False,
    # so frame fraction f maps to 2f - 1 and a half side h spans 2h.
    zero = torch.zeros_like(boxes[:, 0])
    theta = torch.stack([
        torch.stack([2 * boxes[:, 2], zero, 2 * boxes[:, 0] - 1], 1),
        torch.stack([zero, 2 * boxes[:, 2], 2 * boxes[:, 1] - 1], 1),
    ], 1).to(images.dtype)
    grid = F.affine_grid(theta, [n, c, *out_size], align_corners=False)
    return F.grid_sample(images, grid, mode='bilinear', padding_mode='zeros',
                         align_corners=False)
