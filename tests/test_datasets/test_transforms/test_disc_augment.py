"""Invertible disc augmentation and SpineNet's 54 test-time views."""
import numpy as np
import torch
import torch.nn.functional as F
from mmpretrain.registry import TRANSFORMS

from radplugins.datasets.transforms import (NUM_TTA_VIEWS, apply_disc_augment,
                                            disc_tta_views,
                                            invert_disc_augment,
                                            sample_disc_aug_params)


def smooth_volumes(n=3):
    torch.manual_seed(0)
    return F.avg_pool2d(torch.rand(n, 9, 112, 224), 9, 1, 4)


def test_augment_then_inverse_recovers_the_volume():
    x = smooth_volumes()
    params = sample_disc_aug_params(3, torch.Generator().manual_seed(1))
    y = apply_disc_augment(x, params)
    assert not torch.allclose(y, x, atol=0.05)
    back = invert_disc_augment(y, params, intensity=True)
    # Compare where every slice stayed inside the field of view: the
    # slices kept after the +-dz shift, a centre region in-plane.
    for i in range(3):
        dz = int(params['dz'][i])
        keep = slice(max(-dz, 0), 9 - max(dz, 0))
        flip = bool(params['flip'][i])
        ref, got = x[i], back[i]
        if flip:
            ref, got = ref.flip(0), got.flip(0)
        err = (got - ref)[keep, 40:72, 80:144].abs()
        assert err.max() < 0.06 and err.mean() < 0.01, (i, err.max())


def test_augment_moves_content_as_documented():
    x = torch.zeros(1, 9, 112, 224)
    x[0, 4, 50, 100] = 1
    params = dict(
        angle=torch.zeros(1),
        tx=torch.tensor([3.]),
        ty=torch.tensor([2.]),
        dz=torch.tensor([1]),
        scale=torch.ones(1),
        intensity=torch.zeros(1),
        flip=torch.tensor([True]))
    y = apply_disc_augment(x, params)
    # Flip: slice 4 -> 4; shift +1 -> 5; translate +3 x, +2 y.
    assert (y[0] == 1).nonzero().tolist() == [[5, 52, 103]]


def identity_params(flip, dz):
    n = len(flip)
    return dict(
        angle=torch.zeros(n),
        tx=torch.zeros(n),
        ty=torch.zeros(n),
        dz=torch.tensor(dz),
        scale=torch.ones(n),
        intensity=torch.zeros(n),
        flip=torch.tensor(flip))


def test_slice_flip_then_shift_by_hand():
    # Slice s holds the value s + 1 (0 marks a zero-filled slice).
    x = (torch.arange(9, dtype=torch.float32) + 1)[None, :, None,
                                                   None].expand(
                                                       1, 9, 8, 8)
    params = identity_params([True, False, True], [1, -2, 0])
    y = apply_disc_augment(x, params, source=torch.zeros(3,
                                                         dtype=torch.long))
    assert y.shape == (3, 9, 8, 8)
    got = y[:, :, 4, 4].tolist()
    # flipped 9..1, shifted down by one slice (the first is zero-filled)
    assert got[0] == [0, 9, 8, 7, 6, 5, 4, 3, 2]
    # not flipped, shifted up by two slices
    assert got[1] == [3, 4, 5, 6, 7, 8, 9, 0, 0]
    assert got[2] == [9, 8, 7, 6, 5, 4, 3, 2, 1]
    back = invert_disc_augment(y, params)[:, :, 4, 4].tolist()
    # Slices that left the volume come back as zeros, the rest in place.
    assert back[0] == [0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert back[1] == [0, 0, 3, 4, 5, 6, 7, 8, 9]
    assert back[2] == list(range(1, 10))


def test_summed_inverse_adds_each_copy_to_its_volume_by_hand():
    # Three copies of volume 0 and one of volume 1, slice s holding s + 1.
    x = (torch.arange(9, dtype=torch.float32) + 1)[None, :, None,
                                                   None].expand(
                                                       2, 9, 8, 8)
    params = identity_params([True, False, True, False], [1, -2, 0, 1])
    source = torch.tensor([0, 0, 0, 1])
    y = apply_disc_augment(x, params, source=source)
    summed = invert_disc_augment(y, params, target=source, num_targets=2)
    assert summed.shape == (2, 9, 8, 8)
    # Volume 0 gets back [0,2..9] + [0,0,3..9] + [1..9] (the slices that
    # left the volume are lost); volume 1's one copy, shifted by one
    # slice, lost its last slice.
    assert summed[0, :, 4, 4].tolist() == [
        1, 2 * 2, 3 * 3, 4 * 3, 5 * 3, 6 * 3, 7 * 3, 8 * 3, 9 * 3]
    assert summed[1, :, 4, 4].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 0]


def test_summed_inverse_equals_the_per_copy_inverse_summed():
    x = smooth_volumes(2)
    params = sample_disc_aug_params(6, torch.Generator().manual_seed(3))
    source = torch.tensor([0, 1, 0, 1, 1, 0])
    y = apply_disc_augment(x, params, source=source)
    per_copy = invert_disc_augment(y, params)
    summed = invert_disc_augment(y, params, target=source, num_targets=2)
    for i in range(2):
        ref = per_copy[source == i].sum(0)
        torch.testing.assert_close(summed[i], ref, atol=1e-5, rtol=1e-5)


def test_analytic_grid_equals_affine_grid():
    from radplugins.datasets.transforms.disc_augment import (_affine_grid,
                                                             _affine_theta)
    params = sample_disc_aug_params(5, torch.Generator().manual_seed(4))
    for inverse in (False, True):
        theta = _affine_theta(params, 14, 30, inverse, 'cpu',
                              torch.float64)
        ref = F.affine_grid(theta, [5, 1, 14, 30], align_corners=False)
        torch.testing.assert_close(
            _affine_grid(theta, 14, 30), ref, atol=1e-12, rtol=0)


def test_tta_gives_54_views_in_order():
    x = torch.arange(2 * 9 * 112 * 224, dtype=torch.float32).view(
        2, 9, 112, 224)
    views = disc_tta_views(x)
    assert NUM_TTA_VIEWS == 54 and views.shape == (108, 9, 112, 224)
    per_sample = views.view(2, 54, 9, 112, 224)
    # View 26: dz 0, dy 0, dx 0, not flipped = the volume itself; 27 its
    # slice-wise reflection.
    assert torch.equal(per_sample[1, 26], x[1])
    assert torch.equal(per_sample[1, 27], x[1].flip(0))
    # View 0: dz -1, dy -16, dx -16: content from 16 px up/left, one slice
    # earlier, zero where it leaves the volume.
    v = per_sample[0, 0]
    assert torch.equal(v[1:, 16:, 16:], x[0, :-1, :-16, :-16])
    assert not v[0].any() and not v[:, :16].any()
    # All 54 distinct.
    flat = per_sample[0].reshape(54, -1)
    assert len({tuple(r[::997].tolist()) for r in flat}) == 54


def test_transform_records_its_parameters():
    np.random.seed(0)
    transform = TRANSFORMS.build(dict(type='RandomDiscAugment'))
    img = np.random.rand(112, 224, 9).astype(np.float32)
    out = transform(dict(img=img.copy()))
    assert out['img'].shape == (112, 224, 9)
    params = {
        k: torch.tensor([v]) for k, v in out['disc_aug'].items()
    }
    again = apply_disc_augment(
        torch.from_numpy(img.transpose(2, 0, 1))[None], params)[0]
    np.testing.assert_allclose(
        out['img'], again.numpy().transpose(1, 2, 0), atol=1e-6)
    assert abs(out['disc_aug']['angle']) <= 15
    assert abs(out['disc_aug']['dz']) <= 2
