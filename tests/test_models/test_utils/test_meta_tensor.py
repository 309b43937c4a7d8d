"""A metainfo field of a batch as one tensor, and its error."""
import pytest
import torch
from mmpretrain.structures import DataSample

from radplugins.models.utils import meta_tensor


def test_stacks_the_field_as_float32():
    samples = [DataSample(metainfo=dict(scale_factor=(0.5, 0.25))),
               DataSample(metainfo=dict(scale_factor=(2, 1)))]
    out = meta_tensor(samples, 'scale_factor', 'cpu', 'X', 'hint')
    assert out.dtype == torch.float32
    assert out.tolist() == [[0.5, 0.25], [2.0, 1.0]]


def test_names_the_owner_the_key_the_sample_and_the_remedy():
    samples = [DataSample(metainfo=dict(ori_shape=(4, 5))),
               DataSample(metainfo=dict(img_path='b.png'))]
    with pytest.raises(KeyError, match=r"ZoomInClassifier needs 'ori_shape' "
                       r'in the data samples \(sample 1: b.png\); use X'):
        meta_tensor(samples, 'ori_shape', 'cpu', 'ZoomInClassifier', 'use X')
