"""Grad-CAM (Selvaraju et al., 2017): class evidence at a feature map.

Guided backprop answers "which input pixels would change the score"; it is
sharp but follows edges. Grad-CAM weights the channels of a late feature
map ``A`` by the spatial mean of the class score's gradient,
``alpha_k = mean_ij d y_c / d A_k(i, j)``, and keeps the positive part of
``sum_k alpha_k A_k``: coarse (one value per feature cell) but class
specific. For a network whose head is global average pooling and one
linear layer it equals the class activation map of Zhou et al. (2016),
``sum_k w_ck A_k``, divided by the number of cells. Here it is a second
opinion on where a classifier's evidence lies (see
``tools/analysis_tools/saliency_pointing.py``), not part of the zoom.
"""
from typing import Callable, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .guided_backprop import backward_rule, class_scores, saliency_mode


def grad_cam(features_fn: Callable[[torch.Tensor], torch.Tensor],
             head_fn: Callable[[torch.Tensor], torch.Tensor],
             model: nn.Module,
             inputs: torch.Tensor,
             targets: torch.Tensor,
             score: str = 'logit') -> Tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM maps of a batch, upsampled to the input size.

    Args:
        features_fn (callable): Maps ``(N, C, H, W)`` inputs to the
            ``(N, K, h, w)`` feature map explained, e.g. the last stage of
            the backbone.
        head_fn (callable): Maps that feature map to ``(N, num_classes)``
            logits.
        model (nn.Module): The module(s) both functions run, switched to
            eval mode with frozen parameters for the duration (the plain
            backward rule: Grad-CAM uses ordinary gradients).
        inputs (torch.Tensor): ``(N, C, H, W)`` batch.
        targets (torch.Tensor): ``(N,)`` class explained per sample.
        score (str): ``'logit'`` or ``'log_odds'``, as for
            :func:`~.guided_backprop.class_scores`.

    Returns:
        tuple: ``(maps (N, H, W), logits (N, num_classes))``; maps are
        non-negative, bilinearly upsampled from the feature grid.
    """
    if inputs.dim() != 4:
        raise ValueError(f'inputs must be (N, C, H, W), got shape '
                         f'{tuple(inputs.shape)}')
    with torch.enable_grad(), saliency_mode(model):
        features = features_fn(inputs.detach())
        if features.dim() != 4:
            raise ValueError(f'features_fn must give (N, K, h, w) maps, got '
                             f'shape {tuple(features.shape)}')
        features = features.detach().requires_grad_(True)
        logits = head_fn(features)
        chosen = class_scores(logits, targets.to(logits.device), score)
        with backward_rule('plain'):
            grads, = torch.autograd.grad(chosen.sum(), features)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    # float32 maps (at least), whatever autocast made of the features.
    dtype = torch.promote_types(features.dtype, torch.float32)
    cams = F.relu((weights.to(dtype) * features.detach().to(dtype)).sum(
        dim=1, keepdim=True))
    cams = F.interpolate(
        cams, size=inputs.shape[2:], mode='bilinear', align_corners=False)
    return cams[:, 0], logits.detach()
