import pytest
import torch
from mmpretrain.registry import MODELS

from radplugins.models.heads.attention_proposal_network import \
    boxes_in_bounds


def build(**kwargs):
    cfg = dict(type='AttentionProposalNetwork', in_channels=8, pool_size=2,
               hidden_channels=16, side_range=(0.25, 0.5))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_side_and_box_stay_in_bounds_for_any_output():
    apn = build()
    raw = torch.cat([
        torch.randn(256, 3) * 50,
        torch.tensor([[1e4, 1e4, 1e4], [-1e4, -1e4, -1e4],
                      [1e4, -1e4, 0.0], [0.0, 0.0, -1e4]])
    ])
    boxes = apn.bound(raw)
    assert boxes_in_bounds(boxes, (0.25, 0.5))
    side = 2 * boxes[:, 2]
    assert side.min() >= 0.25 - 1e-6 and side.max() <= 0.5 + 1e-6
    # The extremes are reached: the range is really used.
    assert side.min() < 0.26 and side.max() > 0.49


def test_forward_on_features_with_huge_weights_stays_in_bounds():
    apn = build(side_range=(0.3, 0.6))
    torch.nn.init.normal_(apn.fc2.weight, std=100.0)
    boxes = apn(torch.randn(16, 8, 5, 5) * 10)
    assert boxes.shape == (16, 3)
    assert boxes_in_bounds(boxes, (0.3, 0.6))


def test_zero_initialised_output_is_a_centred_middle_box():
    apn = build(side_range=(0.2, 0.6))
    boxes = apn(torch.randn(3, 8, 4, 4))
    assert torch.allclose(boxes, torch.tensor([[0.5, 0.5, 0.2]] * 3))


def test_unbound_inverts_bound():
    apn = build()
    boxes = torch.tensor([[0.5, 0.5, 0.2], [0.2, 0.8, 0.15],
                          [0.75, 0.3, 0.24]])
    assert torch.allclose(apn.bound(apn.unbound(boxes)), boxes, atol=1e-5)


def test_response_box_is_centred_on_the_peak_and_kept_inside():
    feats = torch.zeros(2, 4, 8, 8)
    feats[0, 1, 2, 5] = 3.0  # row 2, column 5
    feats[1, :, 7, 0] = 1.0  # bottom-left corner
    boxes = build().response_boxes(feats, side=0.5)
    assert torch.allclose(boxes[0], torch.tensor([5.5 / 8, 2.5 / 8, 0.25]))
    # The corner cell's centre would put the box outside: moved in.
    assert torch.allclose(boxes[1], torch.tensor([0.25, 0.75, 0.25]))


@pytest.mark.parametrize('side_range', [(0.0, 0.5), (0.6, 0.5), (0.5, 1.2)])
def test_bad_side_range_is_named(side_range):
    with pytest.raises(ValueError, match='side_range'):
        build(side_range=side_range)
