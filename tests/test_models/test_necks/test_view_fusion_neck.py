import pytest
import torch
from mmpretrain.registry import MODELS


def build(pooling, **kwargs):
    return MODELS.build(
        dict(type='ViewFusionNeck', pooling=pooling, **kwargs)).eval()


MASK = torch.tensor([[True, True, False, True], [True, False, False, False]])


@pytest.mark.parametrize('pooling', ['mean', 'max', 'attention'])
def test_order_invariant_and_padding_ignored(pooling):
    torch.manual_seed(0)
    neck = build(pooling, in_channels=8, attention_channels=5)
    feats = torch.randn(2 * 4, 8, 3, 3)
    (out, ) = neck((feats, ), MASK)
    assert out.shape == (2, 8)
    # Permute the views of each study (the mask with them).
    perm = torch.tensor([3, 0, 2, 1])
    per_study = feats.view(2, 4, 8, 3, 3)[:, perm].reshape(8, 8, 3, 3)
    (permuted, ) = neck((per_study, ), MASK[:, perm])
    torch.testing.assert_close(permuted, out)
    # Padded views may hold anything, even inf and nan.
    garbage = feats.clone().view(2, 4, 8, 3, 3)
    garbage[~MASK] = torch.tensor(float('nan'))
    garbage[0, 2] = float('inf')
    (ignored, ) = neck((garbage.view(8, 8, 3, 3), ), MASK)
    torch.testing.assert_close(ignored, out)
    # A real view does matter.
    changed = feats.clone()
    changed[1] += 1
    assert not torch.allclose(neck((changed, ), MASK)[0], out)


def test_mean_and_max_match_a_hand_computation():
    feats = torch.arange(2 * 4 * 3, dtype=torch.float32).view(8, 3)
    feats[5] = -100  # padded view of study 1 with the lowest values
    feats[2] = 100  # padded view of study 0 with the highest values
    mean = build('mean')((feats, ), MASK)[0]
    mx = build('max')((feats, ), MASK)[0]
    expected_mean0 = (feats[0] + feats[1] + feats[3]) / 3
    torch.testing.assert_close(mean[0], expected_mean0)
    torch.testing.assert_close(mean[1], feats[4])
    torch.testing.assert_close(
        mx[0], torch.maximum(torch.maximum(feats[0], feats[1]), feats[3]))
    torch.testing.assert_close(mx[1], feats[4])


def test_attention_weights_are_a_masked_softmax():
    torch.manual_seed(1)
    neck = build('attention', in_channels=4, attention_channels=3)
    feats = torch.randn(8, 4)
    out = neck((feats, ), MASK)[0]
    scores = neck.attention(feats).view(2, 4)
    w0 = torch.softmax(scores[0, [0, 1, 3]], dim=0)
    expected = w0[0] * feats[0] + w0[1] * feats[1] + w0[2] * feats[3]
    torch.testing.assert_close(out[0], expected)
    torch.testing.assert_close(out[1], feats[4])


def test_one_view_is_the_view_itself():
    feats = torch.randn(3, 6, 2, 2)
    mask = torch.ones(3, 1, dtype=torch.bool)
    for pooling in ('mean', 'max', 'attention'):
        out = build(pooling, in_channels=6)((feats, ), mask)[0]
        torch.testing.assert_close(out, feats.mean(dim=(2, 3)))


def test_errors():
    with pytest.raises(ValueError, match="unknown view pooling 'sum'"):
        build('sum')
    with pytest.raises(ValueError, match='attention pooling needs'):
        build('attention')
    with pytest.raises(ValueError, match=r'no valid view'):
        build('mean')((torch.randn(4, 3), ),
                      torch.tensor([[True, False], [False, False]]))
    with pytest.raises(ValueError, match=r'got \(5, 3\)'):
        build('mean')((torch.randn(5, 3), ), torch.ones(2, 2, dtype=bool))
