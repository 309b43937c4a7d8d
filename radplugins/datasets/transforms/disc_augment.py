"""SpineNet's invertible disc augmentation and its 54 test-time views.

The training augmentation of SpineNet section 4 — rotation, translation in
x, y and slices, scaling, an intensity shift and a slice-wise flip — is a
batched function of explicit parameters, so the same parameters map a
saliency map computed on an augmented volume back to the original frame
(the evidence hotspots of section 3 average such maps).

Order of the forward transform: flip the slice axis, shift slices by
``dz`` (zero fill), warp each slice in-plane by ``p_aug = s R(angle)
(p - c) + c + (tx, ty)`` (bilinear, zero fill), add ``intensity``.
"""
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

AugParams = Dict[str, torch.Tensor]
TTA_SHIFT = 16
NUM_TTA_VIEWS = 54


def sample_disc_aug_params(num: int,
                           generator: Optional[torch.Generator] = None,
                           max_angle: float = 15.0,
                           max_shift: Tuple[float, float] = (32.0, 24.0),
                           max_slice_shift: int = 2,
                           scale_range: Tuple[float, float] = (0.9, 1.1),
                           max_intensity: float = 0.1,
                           flip_prob: float = 0.5) -> AugParams:
    """Draw ``num`` parameter sets uniformly in the paper's ranges.

    Returns:
        dict: ``angle`` (degrees), ``tx``, ``ty`` (pixels), ``dz`` (slices,
        int), ``scale``, ``intensity``, ``flip`` (bool); each ``(num,)``.
    """

    def uniform(low, high):
        return low + (high - low) * torch.rand(num, generator=generator)

    return dict(
        angle=uniform(-max_angle, max_angle),
        tx=uniform(-max_shift[0], max_shift[0]),
        ty=uniform(-max_shift[1], max_shift[1]),
        dz=torch.randint(
            -max_slice_shift, max_slice_shift + 1, (num, ),
            generator=generator),
        scale=uniform(*scale_range),
        intensity=uniform(-max_intensity, max_intensity),
        flip=torch.rand(num, generator=generator) < flip_prob)


def _affine_theta(params: AugParams, height: int, width: int,
                  inverse: bool, device, dtype) -> torch.Tensor:
    """``affine_grid`` matrices in normalised coordinates.

    ``affine_grid`` maps output coordinates to where they are sampled in
    the input. The forward warp samples the original at ``A^-1 (p - t)``;
    its inverse samples the augmented volume at ``A p + t``.
    """
    angle = torch.deg2rad(params['angle'].to(device, dtype))
    scale = params['scale'].to(device, dtype)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    a = torch.stack([torch.stack([cos, -sin], -1),
                     torch.stack([sin, cos], -1)], -2)  # (N, 2, 2)
    t = torch.stack([params['tx'], params['ty']], -1).to(device, dtype)
    half = torch.tensor([width / 2, height / 2], device=device, dtype=dtype)
    if inverse:
        m, offset = a, t
    else:
        m = torch.linalg.inv(a)
        offset = -(m @ t.unsqueeze(-1)).squeeze(-1)
    m = m * half[None, None, :] / half[None, :, None]  # D^-1 M D
    return torch.cat([m, (offset / half).unsqueeze(-1)], -1)


def _affine_grid(theta: torch.Tensor, height: int,
                 width: int) -> torch.Tensor:
    """``F.affine_grid(theta, (N, C, H, W), align_corners=False)``,
    computed as two broadcast planes.

    ``affine_grid`` multiplies an ``(N, H*W, 3)`` base grid by ``theta``
    with a batched matmul whose inner size is 3; on a CPU that is about ten
    times slower than ``x * a + y * b + c`` over the output, and the
    hotspot pass builds two such grids per augmented copy.

    Returns:
        torch.Tensor: ``(N, H, W, 2)`` sampling positions (x, y).
    """
    kwargs = dict(device=theta.device, dtype=theta.dtype)
    # Pixel centres in normalised coordinates (align_corners=False).
    xs = (torch.arange(width, **kwargs) * 2 + 1) / width - 1
    ys = (torch.arange(height, **kwargs) * 2 + 1) / height - 1
    grid = theta.new_empty((theta.shape[0], height, width, 2))
    for axis in range(2):
        row_part = theta[:, axis, 1, None] * ys + theta[:, axis, 2, None]
        torch.add(
            row_part[:, :, None],
            theta[:, axis, 0, None, None] * xs,
            out=grid[..., axis])
    return grid


def _forward_slice_sources(num_slices: int, flip: torch.Tensor,
                           dz: torch.Tensor, device) -> Tuple[torch.Tensor,
                                                              torch.Tensor]:
    """Which original slice each augmented slice comes from.

    Returns:
        tuple: ``src`` ``(N, S)`` with ``src[i, s] = f(s - dz_i)`` (``f``
        the flip where ``flip_i``), and ``valid`` ``(N, S)``, False where
        ``s - dz_i`` is outside the volume (the zero fill).
    """
    slices = torch.arange(num_slices, device=device)[None]
    shifted = slices - dz.to(device)[:, None]
    valid = (shifted >= 0) & (shifted < num_slices)
    src = torch.where(flip.to(device)[:, None], num_slices - 1 - shifted,
                      shifted)
    return src, valid


def _permute_slices(x: torch.Tensor,
                    flip: torch.Tensor,
                    dz: torch.Tensor,
                    inverse: bool,
                    source: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The slice flip and shift of each sample as one slice gather.

    Forward: ``out[i, s] = x[src_i, f(s - dz_i)]`` with ``f`` the flip
    (``S - 1 - j``) where ``flip_i``; inverse: ``out[i, s] = x[i, f(s) +
    dz_i]``; zero where the source slice is outside the volume. One
    ``index_select`` of whole slices is several times faster on a CPU than
    a ``gather`` with a broadcast index, and lets many augmented copies be
    read from one volume without repeating it first.

    Args:
        x (torch.Tensor): ``(B, S, H, W)``.
        flip (torch.Tensor): ``(N,)`` bool.
        dz (torch.Tensor): ``(N,)`` int slice shifts.
        inverse (bool): Undo the forward permutation instead.
        source (torch.Tensor, optional): ``(N,)`` row of ``x`` each output
            sample reads; ``arange(N)`` (then ``B == N``) by default.

    Returns:
        torch.Tensor: ``(N, S, H, W)``.
    """
    _, num_slices, h, w = x.shape
    device = x.device
    if inverse:
        slices = torch.arange(num_slices, device=device)[None]
        src = torch.where(
            flip.to(device)[:, None], num_slices - 1 - slices,
            slices) + dz.to(device)[:, None]
        valid = (src >= 0) & (src < num_slices)
    else:
        src, valid = _forward_slice_sources(num_slices, flip, dz, device)
    if source is None:
        source = torch.arange(flip.shape[0], device=device)
    rows = source.to(device)[:, None] * num_slices + src.clamp(
        0, num_slices - 1)
    out = x.reshape(-1, h, w).index_select(0, rows.reshape(-1))
    invalid = ~valid.reshape(-1)
    if invalid.any():
        out[invalid] = 0
    return out.view(rows.shape[0], num_slices, h, w)


def _sum_unpermuted_slices(x: torch.Tensor, flip: torch.Tensor,
                           dz: torch.Tensor, target: torch.Tensor,
                           num_targets: int) -> torch.Tensor:
    """The inverse slice flip and shift of each sample, summed per target.

    Slice ``r`` of augmented sample ``i`` came from original slice
    ``f(r - dz_i)`` (the flip ``f`` is its own inverse), so it is added to
    that slice of output row ``target_i``; slices that came from outside
    the volume (the forward zero fill) go to a discarded spare row. One
    ``index_add_`` replaces an inverse gather of every copy followed by a
    mean over the copies.

    Args:
        x (torch.Tensor): ``(N, S, H, W)`` arrays in the augmented slice
            order.
        flip (torch.Tensor): ``(N,)`` bool.
        dz (torch.Tensor): ``(N,)`` int slice shifts.
        target (torch.Tensor): ``(N,)`` output row of each sample.
        num_targets (int): Output rows.

    Returns:
        torch.Tensor: ``(num_targets, S, H, W)`` sums.
    """
    _, num_slices, h, w = x.shape
    dest, valid = _forward_slice_sources(num_slices, flip, dz, x.device)
    rows = target.to(x.device)[:, None] * num_slices + dest
    spare = num_targets * num_slices
    rows = torch.where(valid, rows, spare)
    out = x.new_zeros((spare + 1, h, w))
    out.index_add_(0, rows.reshape(-1), x.reshape(-1, h, w))
    return out[:spare].view(num_targets, num_slices, h, w)


def apply_disc_augment(volumes: torch.Tensor,
                       params: AugParams,
                       intensity: bool = True,
                       source: Optional[torch.Tensor] = None
                       ) -> torch.Tensor:
    """Augment ``(N, S, H, W)`` volumes with per-sample ``params``.

    Args:
        volumes (torch.Tensor): ``(B, S, H, W)``.
        params (dict): ``N`` parameter sets
            (:func:`sample_disc_aug_params`).
        intensity (bool): Also add the intensity shift.
        source (torch.Tensor, optional): ``(N,)`` volume each parameter set
            augments (e.g. ``K`` copies of each volume without repeating
            it); ``arange(N)`` by default (then ``B == N``).

    Returns:
        torch.Tensor: ``(N, S, H, W)``.
    """
    x = _permute_slices(volumes, params['flip'], params['dz'], False,
                        source)
    n, _, h, w = x.shape
    theta = _affine_theta(params, h, w, False, x.device, x.dtype)
    x = F.grid_sample(x, _affine_grid(theta, h, w), align_corners=False)
    if intensity:
        x.add_(params['intensity'].to(x)[:, None, None, None])
    return x


def invert_disc_augment(volumes: torch.Tensor,
                        params: AugParams,
                        intensity: bool = False,
                        target: Optional[torch.Tensor] = None,
                        num_targets: Optional[int] = None) -> torch.Tensor:
    """Map ``(N, S, H, W)`` arrays of the augmented frame (volumes or
    saliency maps) back to the original frame; the inverse of
    :func:`apply_disc_augment` up to interpolation and what left the
    field of view.

    Args:
        volumes (torch.Tensor): ``(N, S, H, W)``.
        params (dict): The ``N`` parameter sets that augmented them.
        intensity (bool): Also undo the intensity shift (volumes; saliency
            maps have none).
        target (torch.Tensor, optional): ``(N,)``: sum the mapped-back
            arrays into these rows of a ``(num_targets, S, H, W)`` result
            (e.g. the ``K`` copies of each volume, the reverse of
            :func:`apply_disc_augment`'s ``source``). By default each array
            is returned on its own.
        num_targets (int, optional): Rows of the summed result; required
            with ``target``.

    Returns:
        torch.Tensor: ``(N, S, H, W)``, or ``(num_targets, S, H, W)`` sums
        with ``target``.
    """
    x = volumes
    if intensity:
        x = x - params['intensity'].to(x)[:, None, None, None]
    h, w = x.shape[2:]
    theta = _affine_theta(params, h, w, True, x.device, x.dtype)
    x = F.grid_sample(x, _affine_grid(theta, h, w), align_corners=False)
    if target is None:
        return _permute_slices(x, params['flip'], params['dz'], True)
    if num_targets is None:
        raise ValueError('invert_disc_augment: target given without '
                         'num_targets')
    return _sum_unpermuted_slices(x, params['flip'], params['dz'], target,
                                  num_targets)


def disc_tta_views(volumes: torch.Tensor,
                   shift: int = TTA_SHIFT) -> torch.Tensor:
    """SpineNet's 54 test-time views of each ``(N, S, H, W)`` volume.

    The centre patch and the eight patches ``shift`` pixels away (zero
    fill), each also reflected slice-wise, each seen through the slice
    window moved by -1, 0 and +1 slices: 9 x 2 x 3 = 54 views.

    Returns:
        torch.Tensor: ``(N * 54, S, H, W)``, the 54 views of sample ``i`` at
        rows ``54 i ... 54 i + 53``.
    """
    n, s, h, w = volumes.shape
    padded = F.pad(volumes, (shift, shift, shift, shift, 1, 1))
    views = []
    for dz in (-1, 0, 1):
        for dy in (-shift, 0, shift):
            for dx in (-shift, 0, shift):
                view = padded[:, 1 + dz:1 + dz + s,
                              shift + dy:shift + dy + h,
                              shift + dx:shift + dx + w]
                views.append(view)
                views.append(view.flip(1))
    return torch.stack(views, 1).reshape(n * NUM_TTA_VIEWS, s, h, w)


@TRANSFORMS.register_module()
class RandomDiscAugment(BaseTransform):
    """SpineNet's training augmentation of a disc volume, recorded.

    Required keys: ``img`` (``(H, W, S)`` float).

    Modified keys: ``img``.

    Added keys: ``disc_aug`` (dict of the drawn parameters, floats), so
    :func:`invert_disc_augment` can undo it.

    Args:
        max_angle (float): Rotation range in degrees (+-).
        max_shift (tuple): x, y translation range in pixels (+-).
        max_slice_shift (int): Slice translation range (+-).
        scale_range (tuple): Scale factor range.
        max_intensity (float): Additive intensity range (+-).
        flip_prob (float): Probability of the slice-wise flip.
    """

    def __init__(self,
                 max_angle: float = 15.0,
                 max_shift: Tuple[float, float] = (32.0, 24.0),
                 max_slice_shift: int = 2,
                 scale_range: Tuple[float, float] = (0.9, 1.1),
                 max_intensity: float = 0.1,
                 flip_prob: float = 0.5):
        self.kwargs = dict(
            max_angle=max_angle,
            max_shift=tuple(max_shift),
            max_slice_shift=max_slice_shift,
            scale_range=tuple(scale_range),
            max_intensity=max_intensity,
            flip_prob=flip_prob)

    def transform(self, results: dict) -> dict:
        # Seeded from numpy so MMEngine's worker seeding makes it
        # reproducible.
        generator = torch.Generator().manual_seed(
            int(np.random.randint(0, 2**31 - 1)))
        params = sample_disc_aug_params(1, generator, **self.kwargs)
        volume = torch.from_numpy(
            np.ascontiguousarray(results['img'].transpose(2, 0, 1)))[None]
        out = apply_disc_augment(volume.float(), params)[0]
        results['img'] = np.ascontiguousarray(
            out.numpy().transpose(1, 2, 0))
        results['disc_aug'] = {k: v.item() for k, v in params.items()}
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())
        return f'{self.__class__.__name__}({args})'
