import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

MEAN = [10.0, 20.0, 30.0]
STD = [2.0, 4.0, 5.0]


def build():
    return MODELS.build(
        dict(type='RadDataPreprocessor', mean=MEAN, std=STD, to_rgb=True))


def sample_with_hr(h, w, seed):
    hr = np.random.default_rng(seed).integers(0, 255, (h, w, 3)).astype(
        np.uint8)
    ds = DataSample().set_gt_label(1)
    ds.set_field(hr, 'hr_img')
    return ds, hr


def test_high_res_copies_are_normalised_padded_and_batched():
    pre = build()
    (ds1, hr1), (ds2, hr2) = sample_with_hr(6, 9, 0), sample_with_hr(8, 5, 1)
    inputs = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    out = pre(dict(inputs=inputs, data_samples=[ds1, ds2]))
    assert out['inputs'].shape == (2, 3, 4, 4)
    batch = torch.stack([s.hr_img for s in out['data_samples']])
    assert batch.shape == (2, 3, 8, 9)
    assert out['data_samples'][0].hr_shape == (6, 9)
    assert out['data_samples'][1].hr_shape == (8, 5)
    # BGR -> RGB, then (x - mean) / std per channel, as for the inputs.
    for ds, hr, (h, w) in ((ds1, hr1, (6, 9)), (ds2, hr2, (8, 5))):
        rgb = hr[..., ::-1].astype(np.float64)
        expected = (rgb - np.array(MEAN)) / np.array(STD)
        got = ds.hr_img[:, :h, :w].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert torch.all(ds1.hr_img[:, 6:, :] == 0)
    assert torch.all(ds2.hr_img[:, :, 5:] == 0)
    assert pre.stack_high_res(out['data_samples']).shape == (2, 3, 8, 9)


def test_without_high_res_behaves_like_cls_preprocessor():
    pre = build()
    ref = MODELS.build(
        dict(type='ClsDataPreprocessor', mean=MEAN, std=STD, to_rgb=True))
    inputs = torch.randint(0, 255, (2, 3, 4, 4), dtype=torch.uint8)
    samples = [DataSample().set_gt_label(0), DataSample().set_gt_label(1)]
    out = pre(dict(inputs=inputs, data_samples=samples))
    expected = ref(dict(inputs=inputs, data_samples=samples))
    torch.testing.assert_close(out['inputs'], expected['inputs'])
    assert 'hr_img' not in out['data_samples'][0]


def test_mixed_batch_is_an_error():
    pre = build()
    ds1, _ = sample_with_hr(4, 4, 0)
    with pytest.raises(ValueError, match=r"samples \[1\].*'hr_img'"):
        pre(
            dict(
                inputs=torch.zeros(2, 3, 4, 4),
                data_samples=[ds1, DataSample().set_gt_label(0)]))


def test_samples_hold_views_of_one_batch_the_zoom_model_reuses():
    from radplugins.models.classifiers import ZoomInClassifier
    pre = build()
    samples = [sample_with_hr(6, 9, 0)[0], sample_with_hr(8, 5, 1)[0]]
    batch = pre.stack_high_res(samples)
    assert all(s.hr_img._base is batch for s in samples)
    assert ZoomInClassifier._high_res_batch(None, samples) is batch
    # Copies that are not views of one batch are stacked instead.
    loose = [DataSample(), DataSample()]
    for s, t in zip(loose, (torch.ones(3, 2, 2), torch.zeros(3, 2, 2))):
        s.set_field(t, 'hr_img')
    stacked = ZoomInClassifier._high_res_batch(None, loose)
    assert stacked.shape == (2, 3, 2, 2) and stacked[0].sum() == 12


def test_channel_mismatch_is_named():
    pre = build()
    ds1, _ = sample_with_hr(4, 4, 0)
    ds2 = DataSample()
    ds2.set_field(np.zeros((4, 4), np.uint8), 'hr_img')
    with pytest.raises(ValueError, match='sample 1 has a 1-channel hr_img'):
        pre.stack_high_res([ds1, ds2])


def test_gray_copies_of_colour_inputs_are_normalised_after_cropping():
    pre = build()
    gray = np.random.default_rng(3).integers(0, 255, (6, 7)).astype(np.uint8)
    ds = DataSample().set_gt_label(0)
    ds.set_field(gray, 'hr_img')
    inputs = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    out = pre(dict(inputs=inputs, data_samples=[ds]))
    # Kept as it is: one channel cannot hold three normalisations.
    np.testing.assert_array_equal(out['data_samples'][0].hr_img[0].numpy(),
                                  gray)
    crops = out['data_samples'][0].hr_img[None, :, 1:3, 2:5]
    finished = pre.finish_high_res_crops(crops, 3)
    expected = (gray[1:3, 2:5, None].astype(np.float64) -
                np.array(MEAN)) / np.array(STD)
    np.testing.assert_allclose(finished[0].permute(1, 2, 0).numpy(),
                               expected, rtol=1e-6)


def test_finishing_normalised_crops_changes_nothing():
    pre = build()
    crops = torch.randn(2, 3, 5, 5)
    assert pre.finish_high_res_crops(crops, 3) is crops
    with pytest.raises(ValueError, match='2-channel crops.*3-channel'):
        pre.finish_high_res_crops(torch.randn(2, 2, 5, 5), 3)
