"""Late fusion: pool the per-view features of a study (paper's future work)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

POOLING_MODES = ('mean', 'max', 'attention')


@MODELS.register_module()
class ViewFusionNeck(BaseModule):
    """Pool the features of a study's views into one study feature.

    The backbone runs on every view as on a single image; this neck takes
    its ``(B * V, D)`` or ``(B * V, D, H, W)`` features (the latter are
    averaged over space first), regroups them by study as ``(B, V, D)`` and
    pools the views whose ``view_mask`` is True:

    - ``'mean'``: the average of the valid views;
    - ``'max'``: the element-wise maximum of the valid views;
    - ``'attention'``: a weighted average whose weights are a softmax over
      the valid views of a learnt score ``w^T tanh(W h)`` per view
      (attention-based multiple-instance pooling).

    Every mode is invariant to the order of the views, and padded views
    (mask False) have no influence at all. With one view each mode returns
    that view's (pooled) feature, so ``V = 1`` is the single-view model.

    Args:
        pooling (str): ``'mean'``, ``'max'`` or ``'attention'``. Defaults to
            ``'mean'``.
        in_channels (int, optional): Feature size ``D``; required by
            ``'attention'``.
        attention_channels (int): Hidden size of the attention score.
            Defaults to 128.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 pooling: str = 'mean',
                 in_channels: Optional[int] = None,
                 attention_channels: int = 128,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pooling not in POOLING_MODES:
            raise ValueError(f'unknown view pooling {pooling!r}; expected '
                             f'one of {POOLING_MODES}')
        self.pooling = pooling
        if pooling == 'attention':
            if not in_channels:
                raise ValueError('attention pooling needs in_channels, got '
                                 f'{in_channels!r}')
            self.attention = nn.Sequential(
                nn.Linear(in_channels, attention_channels), nn.Tanh(),
                nn.Linear(attention_channels, 1))

    def pool(self, feats: torch.Tensor,
             view_mask: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, V, D)`` view features into ``(B, D)``.

        Args:
            feats (torch.Tensor): View features ``(B, V, D)``.
            view_mask (torch.Tensor): ``(B, V)``, True for real views.

        Returns:
            torch.Tensor: Study features ``(B, D)``.
        """
        mask = view_mask.to(device=feats.device, dtype=torch.bool)
        if not bool(mask.any(dim=1).all()):
            empty = (~mask.any(dim=1)).nonzero().flatten().tolist()
            raise ValueError(f'studies {empty} of the batch have no valid '
                             'view in view_mask')
        if self.pooling == 'mean':
            weights = mask.to(feats.dtype)
            weights = weights / weights.sum(dim=1, keepdim=True)
        elif self.pooling == 'attention':
            scores = self.attention(feats).squeeze(-1)
            scores = scores.masked_fill(~mask, float('-inf'))
            weights = scores.softmax(dim=1)
        else:
            # torch.where, not multiplication: a padded view's features must
            # not leak in even as 0 * inf = nan.
            filled = torch.where(mask[..., None], feats,
                                 torch.finfo(feats.dtype).min)
            return filled.amax(dim=1)
        # Zero weights times a padded view's features must stay zero even if
        # those features are not finite.
        feats = torch.where(mask[..., None], feats, torch.zeros_like(feats))
        return torch.einsum('bv,bvd->bd', weights, feats)

    def forward(self, inputs: Tuple[torch.Tensor, ...],
                view_mask: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Fuse the views of every study.

        Args:
            inputs (tuple[torch.Tensor]): Backbone outputs, each
                ``(B * V, D)`` or ``(B * V, D, H, W)``, views of a study
                consecutive.
            view_mask (torch.Tensor): ``(B, V)``, True for real views.

        Returns:
            tuple[torch.Tensor]: One ``(B, D)`` study feature per input.
        """
        if isinstance(inputs, torch.Tensor):
            inputs = (inputs, )
        batch, views = view_mask.shape
        outs = []
        for feat in inputs:
            if feat.dim() == 4:
                feat = feat.mean(dim=(2, 3))
            if feat.dim() != 2 or feat.shape[0] != batch * views:
                raise ValueError(
                    f'expected ({batch} * {views}, D) or ({batch} * {views},'
                    f' D, H, W) view features, got {tuple(feat.shape)}')
            outs.append(self.pool(feat.view(batch, views, -1), view_mask))
        return tuple(outs)
