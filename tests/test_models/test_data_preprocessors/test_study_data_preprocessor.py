import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


def test_studies_are_normalised_view_by_view():
    pre = MODELS.build(
        dict(type='StudyDataPreprocessor', num_classes=2,
             mean=[10., 20., 30.], std=[2., 4., 5.], to_rgb=True))
    studies = [
        torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
        for _ in range(2)
    ]
    samples = [DataSample(view_mask=torch.tensor([True, False, False]))
               .set_gt_label(1) for _ in range(2)]
    out = pre(dict(inputs=studies, data_samples=samples))
    assert out['inputs'].shape == (2, 3, 3, 8, 8)
    mean = torch.tensor([10., 20., 30.]).view(3, 1, 1)
    std = torch.tensor([2., 4., 5.]).view(3, 1, 1)
    for b in range(2):
        for v in range(3):
            # BGR -> RGB, then (x - mean) / std.
            expected = (studies[b][v].flip(0).float() - mean) / std
            torch.testing.assert_close(out['inputs'][b, v], expected)
    assert out['data_samples'][0].view_mask.tolist() == [True, False, False]


def test_errors():
    pre = MODELS.build(dict(type='StudyDataPreprocessor', num_classes=2))
    with pytest.raises(ValueError, match='same V'):
        pre(dict(inputs=[torch.zeros(2, 3, 4, 4), torch.zeros(3, 3, 4, 4)],
                 data_samples=None))
    with pytest.raises(ValueError, match='batch_augments'):
        MODELS.build(
            dict(type='StudyDataPreprocessor', num_classes=2,
                 batch_augments=dict(augments=dict(type='Mixup', alpha=1.))))
