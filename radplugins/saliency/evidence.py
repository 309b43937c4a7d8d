"""Evidence hotspots (SpineNet section 3): saliency averaged over random
augmentations, each mapped back to the original frame.

For a task ``t`` and class ``c`` the hotspot of a volume ``x`` with ``z``
slices is ``M_z = |d y_c / d x_z|`` kept per slice (not maxed over
channels as for RGB images), averaged over ``K`` augmented copies of
``x``, each map warped back by the inverse of its augmentation. All ``K``
copies of a chunk of volumes go through the network in one batched forward
pass; each task then costs one input backward pass.

``attribution='gradient_x_input'`` multiplies each copy's gradient by the
copy before the absolute value (first-order contribution of each voxel
against an all-zero volume). Not the paper's hotspot: gradient magnitude
says where a change would move the score, so a model that looks for a
lesion anywhere along a structure is sensitive along all of it; weighting
by the input keeps what is there.
"""
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn as nn

from .guided_backprop import class_score_gradients, saliency_mode

ATTRIBUTIONS = ('gradient', 'gradient_x_input')


def evidence_hotspots(logits_fn: Callable[[torch.Tensor],
                                          Sequence[torch.Tensor]],
                      model: nn.Module,
                      volumes: torch.Tensor,
                      targets: torch.Tensor,
                      tasks: Sequence[int],
                      num_aug: int = 32,
                      aug_kwargs: Optional[Dict] = None,
                      generator: Optional[torch.Generator] = None,
                      chunk_size: int = 64,
                      rule: str = 'plain',
                      attribution: str = 'gradient') -> torch.Tensor:
    """Evidence hotspots of a batch of volumes for several tasks.

    Args:
        logits_fn (callable): ``(B, S, H, W) -> [logits of task 0, ...]``,
            each ``(B, K_t)``.
        model (nn.Module): Module(s) ``logits_fn`` runs, put in eval mode
            with frozen parameters for the duration.
        volumes (torch.Tensor): ``(N, S, H, W)`` on the model's device.
        targets (torch.Tensor): ``(N, len(tasks))`` class explained per
            sample and task.
        tasks (Sequence[int]): Indices into the list ``logits_fn`` returns.
        num_aug (int): ``K`` augmented copies per volume; 0 = the volume
            itself only (plain saliency).
        aug_kwargs (dict, optional): Ranges for
            :func:`sample_disc_aug_params`; the paper's by default.
        generator (torch.Generator, optional): Draws the augmentations.
        chunk_size (int): Copies per forward pass (memory bound).
        rule (str): ``'plain'`` (the paper: Simonyan) or ``'guided'``.
        attribution (str): ``'gradient'`` (the paper: ``|dy/dx|``) or
            ``'gradient_x_input'`` (``|x * dy/dx|`` per copy, in the
            units of ``volumes``).

    Returns:
        torch.Tensor: ``(N, len(tasks), S, H, W)`` non-negative maps.
    """
    from ..datasets.transforms.disc_augment import (apply_disc_augment,
                                                     invert_disc_augment,
                                                     sample_disc_aug_params)
    if attribution not in ATTRIBUTIONS:
        raise ValueError(f'unknown hotspot attribution {attribution!r}; '
                         f'expected one of {ATTRIBUTIONS}')
    n = volumes.shape[0]
    if targets.shape != (n, len(tasks)):
        raise ValueError(f'targets of shape {tuple(targets.shape)}; '
                         f'expected ({n}, {len(tasks)})')
    copies = max(num_aug, 1)
    per_chunk = max(1, chunk_size // copies)
    out = volumes.new_zeros((n, len(tasks)) + tuple(volumes.shape[1:]))
    with torch.enable_grad(), saliency_mode(model):
        for start in range(0, n, per_chunk):
            vol = volumes[start:start + per_chunk].detach()
            b = vol.shape[0]
            params = None
            if num_aug > 0:
                params = sample_disc_aug_params(b * copies, generator,
                                                **(aug_kwargs or {}))
                # Each copy is read straight from its volume.
                source = torch.arange(
                    b, device=vol.device).repeat_interleave(copies)
                rep = apply_disc_augment(vol, params, source=source)
            else:
                rep = vol
            x = rep.detach().requires_grad_(True)
            logits = logits_fn(x)
            for j, t in enumerate(tasks):
                tgt = targets[start:start + b, j].repeat_interleave(copies)
                grad = class_score_gradients(
                    logits[t], x, tgt.to(x.device), rule,
                    retain_graph=j < len(tasks) - 1)
                if attribution == 'gradient_x_input':
                    grad = grad.mul_(x.detach())
                grad = grad.abs_()
                if params is None:
                    out[start:start + b, j] = grad
                else:
                    summed = invert_disc_augment(
                        grad, params, target=source, num_targets=b)
                    out[start:start + b, j] = summed.div_(copies)
    return out
