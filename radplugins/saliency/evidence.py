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

``attribution='integrated_gradients'`` measures the evidence against a
reference volume ``b`` instead of against zero: copy ``k`` of ``K`` is
evaluated at ``b + alpha_k (a - b)`` on the straight path from the
reference to the augmented copy ``a``, with ``alpha_k`` stratified over
``[0, 1]`` (one uniform draw in each ``1/K`` interval), and contributes
``(a - b) * d y_c / d z``, where ``b`` is the volume's reference
augmented like the copy. Mapped back and averaged before the absolute
value, the ``K`` copies are a Monte Carlo estimate of integrated gradients
(Sundararajan et al., 2017) averaged over the augmentations at the cost of
the plain hotspot; without augmentation the signed maps sum to
``y_c(x) - y_c(b)``. The reference is a constant (e.g. 0.5, the vertebral
body median after ``NormalizeDiscIntensity``: a voxel counts by how far it
is from body tissue) or the volume blurred (``dict(type='blur',
sigma=...)``: a voxel counts by how far it is from its surroundings).

``score`` chooses what is differentiated: the class logit ``y_c`` (the
paper) or the log-odds of the class against the others
(:func:`~.guided_backprop.class_scores`), which for a two-way softmax is
``y_c - y_other`` and drops the part of the logit the softmax ignores.
"""
from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from torchvision.transforms.functional import gaussian_blur

from .guided_backprop import SCORES, class_score_gradients, saliency_mode

ATTRIBUTIONS = ('gradient', 'gradient_x_input', 'integrated_gradients')


def smooth_in_plane(volumes: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur every slice of ``(..., S, H, W)`` volumes with a Gaussian of
    ``sigma`` pixels, truncated at ``3 sigma`` and reflected at the border
    (``scipy.ndimage.gaussian_filter(..., sigma=(0, sigma, sigma),
    mode='mirror', truncate=3)``); slices do not mix."""
    if not (isinstance(sigma, (int, float)) and not isinstance(sigma, bool)
            and sigma > 0):
        raise ValueError(f'in-plane blur needs a number sigma > 0, got '
                         f'{sigma!r}')
    radius = int(3 * sigma + 0.5)
    if radius == 0:
        return volumes.clone()
    flat = volumes.reshape((-1, ) + tuple(volumes.shape[-3:]))
    return gaussian_blur(flat, [2 * radius + 1] * 2,
                         [sigma, sigma]).reshape(volumes.shape)


def reference_volumes(volumes: torch.Tensor,
                      baseline: Union[float, dict]) -> torch.Tensor:
    """The reference of integrated gradients for ``(N, S, H, W)`` volumes.

    Args:
        volumes (torch.Tensor): The volumes the path ends at.
        baseline (float | dict): A constant, or ``dict(type='blur',
            sigma=...)``: each slice blurred with a Gaussian of ``sigma``
            pixels (reflected at the border).

    Returns:
        torch.Tensor: ``(N, S, H, W)``, without gradient.
    """
    # bool is an int subclass, and True is no intensity.
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full_like(volumes, float(baseline))
    if isinstance(baseline, dict) and baseline.get('type') == 'blur':
        sigma = float(baseline.get('sigma', 0))
        if not sigma > 0:
            raise ValueError(f'hotspot baseline {baseline!r}: the blur '
                             'needs sigma > 0')
        return smooth_in_plane(volumes.detach(), sigma)
    raise ValueError(f'hotspot baseline {baseline!r}: expected a number or '
                     "dict(type='blur', sigma=...)")


def stratified_path_points(num_volumes: int, copies: int,
                           generator: Optional[torch.Generator] = None
                           ) -> torch.Tensor:
    """``(num_volumes * copies,)`` points in ``[0, 1]``: for every volume
    one uniform draw in each of the ``copies`` intervals
    ``[k / copies, (k + 1) / copies)``, in order."""
    offsets = torch.rand(num_volumes * copies, generator=generator)
    k = torch.arange(copies, dtype=offsets.dtype).repeat(num_volumes)
    return (k + offsets) / copies


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
                      attribution: str = 'gradient',
                      baseline: Union[float, dict] = 0.0,
                      score: str = 'logit',
                      smooth_sigma: float = 0.0) -> torch.Tensor:
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
        attribution (str): ``'gradient'`` (the paper: ``|dy/dx|``),
            ``'gradient_x_input'`` (``|x * dy/dx|`` per copy, in the
            units of ``volumes``) or ``'integrated_gradients'`` (against
            ``baseline``, one path point per copy; needs ``num_aug >= 1``).
        baseline (float | dict): The reference of integrated gradients
            (:func:`reference_volumes`), in the units of ``volumes``.
        score (str): ``'logit'`` (the paper's ``y_c``) or ``'log_odds'``
            (:func:`~.guided_backprop.class_scores`).
        smooth_sigma (float): Blur each slice of the finished map with a
            Gaussian of this many pixels (:func:`smooth_in_plane`); 0, the
            paper, keeps the map as it is.

    Returns:
        torch.Tensor: ``(N, len(tasks), S, H, W)`` non-negative maps.
    """
    from ..datasets.transforms.disc_augment import (apply_disc_augment,
                                                     invert_disc_augment,
                                                     sample_disc_aug_params)
    if attribution not in ATTRIBUTIONS:
        raise ValueError(f'unknown hotspot attribution {attribution!r}; '
                         f'expected one of {ATTRIBUTIONS}')
    if score not in SCORES:
        raise ValueError(f'unknown hotspot score {score!r}; expected one '
                         f'of {SCORES}')
    if isinstance(smooth_sigma, bool) or not isinstance(
            smooth_sigma, (int, float)) or not smooth_sigma >= 0:
        raise ValueError(f'hotspot smooth_sigma must be a number >= 0, got '
                         f'{smooth_sigma!r}')
    integrated = attribution == 'integrated_gradients'
    if integrated and num_aug < 1:
        raise ValueError(
            f'integrated_gradients evaluates one path point per copy; '
            f'num_aug={num_aug} gives none (for the path alone, keep '
            'num_aug and pass aug_kwargs with zero ranges)')
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
            if integrated:
                # The reference of the volume, warped and shifted like the
                # copy: the copy's difference from it is the volume's,
                # augmented (the intensity shift cancels, and what left the
                # field of view is no evidence), and a blur runs once per
                # volume rather than once per copy.
                ref = reference_volumes(vol, baseline)
                if params is not None:
                    ref = apply_disc_augment(ref, params, source=source)
                delta = rep - ref
                alpha = stratified_path_points(b, copies, generator).to(rep)
                rep = ref + alpha[:, None, None, None] * delta
            x = rep.detach().requires_grad_(True)
            logits = logits_fn(x)
            for j, t in enumerate(tasks):
                tgt = targets[start:start + b, j].repeat_interleave(copies)
                grad = class_score_gradients(
                    logits[t], x, tgt.to(x.device), rule,
                    retain_graph=j < len(tasks) - 1, score=score)
                if attribution == 'gradient_x_input':
                    grad = grad.mul_(x.detach())
                if integrated:
                    # Signed until averaged: the path's contributions
                    # cancel where the score rises and falls again.
                    grad = grad.mul_(delta)
                else:
                    grad = grad.abs_()
                if params is None:
                    out[start:start + b, j] = grad
                else:
                    summed = invert_disc_augment(
                        grad, params, target=source, num_targets=b)
                    out[start:start + b, j] = summed.div_(copies)
    if integrated:
        out.abs_()
    return smooth_in_plane(out, smooth_sigma) if smooth_sigma > 0 else out
