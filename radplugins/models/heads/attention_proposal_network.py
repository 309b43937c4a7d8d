"""RA-CNN's attention proposal network (APN)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class AttentionProposalNetwork(BaseModule):
    """From a scale's last conv features to a square box ``(tx, ty, tl)``.

    Two fully connected layers, as in RA-CNN, on the feature map pooled to
    a small grid (so the layer size does not depend on the input size and
    the location information survives). The outputs are squashed so the
    box is valid by construction:

    - the side ``2 * tl`` is ``side_range[0] + (side_range[1] -
      side_range[0]) * sigmoid(a)`` of the current scale's side, so it can
      neither collapse to a point nor grow to the whole image (the failure
      of an unbounded side);
    - the centre is ``tl + (1 - 2 * tl) * sigmoid(b)``, so the box always
      lies inside the current scale's frame.

    Boxes are fractions of the current input's width and height (``[0, 1]``
    spans it).

    Args:
        in_channels (int): Channels of the last conv feature map.
        pool_size (int): The feature map is average-pooled to
            ``pool_size x pool_size`` first. Defaults to 4.
        hidden_channels (int): Width of the hidden layer. Defaults to 512.
        side_range (Sequence[float]): ``(min, max)`` box side as a fraction
            of the current side, ``0 < min <= max <= 1``. Defaults to
            ``(0.25, 0.5)``.
        init_cfg (dict, optional): Initialisation config. By default the
            last layer starts at zero: a centred box of middle size.
    """

    def __init__(self,
                 in_channels: int,
                 pool_size: int = 4,
                 hidden_channels: int = 512,
                 side_range: Sequence[float] = (0.25, 0.5),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        side_range = tuple(float(v) for v in side_range)
        if len(side_range) != 2 or not 0 < side_range[0] <= side_range[1] \
                <= 1:
            raise ValueError(f'side_range must be (min, max) with 0 < min '
                             f'<= max <= 1, got {side_range}')
        if in_channels < 1 or pool_size < 1 or hidden_channels < 1:
            raise ValueError(
                f'in_channels, pool_size and hidden_channels must be >= 1, '
                f'got {in_channels}, {pool_size}, {hidden_channels}')
        self.side_range = side_range
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc1 = nn.Linear(in_channels * pool_size * pool_size,
                             hidden_channels)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(hidden_channels, 3)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def bound(self, raw: torch.Tensor) -> torch.Tensor:
        """Map unbounded ``(N, 3)`` outputs to ``(cx, cy, half)`` boxes."""
        lo, hi = self.side_range
        half = 0.5 * (lo + (hi - lo) * torch.sigmoid(raw[:, 2]))
        centre = half[:, None] + (1 - 2 * half[:, None]) * torch.sigmoid(
            raw[:, :2])
        return torch.cat([centre, half[:, None]], dim=1)

    def unbound(self, boxes: torch.Tensor, eps: float = 1e-4
                ) -> torch.Tensor:
        """Inverse of :meth:`bound` (targets clamped into the valid range).

        Args:
            boxes (torch.Tensor): ``(N, 3)`` ``(cx, cy, half)`` boxes.
            eps (float): Margin kept from the sigmoid's asymptotes.

        Returns:
            torch.Tensor: ``(N, 3)`` raw outputs that :meth:`bound` maps to
            the (clamped) boxes.
        """
        lo, hi = self.side_range
        if hi > lo:
            s = ((2 * boxes[:, 2] - lo) / (hi - lo)).clamp(eps, 1 - eps)
            raw_side = torch.logit(s)
        else:
            raw_side = torch.zeros_like(boxes[:, 2])
        half = 0.5 * (lo + (hi - lo) * torch.sigmoid(raw_side))
        span = (1 - 2 * half).clamp(min=eps)
        c = ((boxes[:, :2] - half[:, None]) / span[:, None]).clamp(
            eps, 1 - eps)
        return torch.cat([torch.logit(c), raw_side[:, None]], dim=1)

    def forward_raw(self, feats: torch.Tensor) -> torch.Tensor:
        """Unbounded ``(N, 3)`` outputs of the two layers."""
        if feats.dim() != 4:
            raise ValueError(f'AttentionProposalNetwork needs (N, C, H, W) '
                             f'features, got shape {tuple(feats.shape)}')
        return self.fc2(self.act(self.fc1(self.pool(feats).flatten(1))))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Boxes ``(N, 3)`` = ``(cx, cy, half)`` in the current frame.

        Args:
            feats (torch.Tensor): ``(N, C, H, W)`` last conv features.

        Returns:
            torch.Tensor: ``(N, 3)`` centre and half side, as fractions of
            the current input's side.
        """
        return self.bound(self.forward_raw(feats))

    @staticmethod
    def response_boxes(feats: torch.Tensor, side: float) -> torch.Tensor:
        """Box of ``side`` centred on the strongest conv response.

        RA-CNN pre-trains the APN on a square around the region of highest
        response of the last conv layer. The response is the channel sum of
        the (post-ReLU) feature map; the box is moved inside the frame.

        Args:
            feats (torch.Tensor): ``(N, C, H, W)`` last conv features.
            side (float): Box side as a fraction of the frame, in (0, 1].

        Returns:
            torch.Tensor: ``(N, 3)`` ``(cx, cy, half)`` boxes.
        """
        if not 0 < side <= 1:
            raise ValueError(f'side must be in (0, 1], got {side}')
        n, _, h, w = feats.shape
        idx = feats.detach().sum(1).flatten(1).argmax(1)
        cx = ((idx % w).to(feats.dtype) + 0.5) / w
        cy = ((idx // w).to(feats.dtype) + 0.5) / h
        half = side / 2
        centre = torch.stack([cx, cy], 1).clamp(half, 1 - half)
        return torch.cat(
            [centre, centre.new_full((n, 1), half)], dim=1)

    def extra_repr(self) -> str:
        return f'side_range={self.side_range}'


def boxes_in_bounds(boxes: torch.Tensor, side_range: Tuple[float, float],
                    atol: float = 1e-6) -> bool:
    """Whether ``(cx, cy, half)`` boxes respect ``side_range`` and the frame.
    """
    half = boxes[:, 2]
    lo, hi = side_range
    ok_side = (2 * half >= lo - atol) & (2 * half <= hi + atol)
    ok_lo = (boxes[:, :2] - half[:, None] >= -atol).all(1)
    ok_hi = (boxes[:, :2] + half[:, None] <= 1 + atol).all(1)
    return bool((ok_side & ok_lo & ok_hi).all())
