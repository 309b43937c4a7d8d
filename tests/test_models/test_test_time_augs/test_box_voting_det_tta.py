import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from radplugins.models.test_time_augs import (find_voters, view_mean_scores,
                                              vote_boxes)


def boxes(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_voting_hand_computed():
    # Candidate 1 overlaps the kept box by 81/119 = 0.68 and votes;
    # candidate 2 (IoU 0.25, 25/100) does not; candidate 3 has the same
    # box but the other label.
    kept = boxes([0, 0, 10, 10])
    cands = boxes([0, 0, 10, 10], [1, 1, 11, 11], [5, 5, 10, 10],
                  [0, 0, 10, 10])
    scores = torch.tensor([0.6, 0.2, 0.9, 0.9])
    labels = torch.tensor([0, 0, 0, 1])
    voters = find_voters(kept, torch.tensor([0]), cands, labels, 0.5)
    assert voters.tolist() == [[True, True, False, False]]
    voted = vote_boxes(kept, cands, scores, voters)
    # (0.6 * 0 + 0.2 * 1) / 0.8 = 0.25 and (0.6 * 10 + 0.2 * 11) / 0.8
    expected = boxes([0.25, 0.25, 10.25, 10.25])
    torch.testing.assert_close(voted, expected)
    # A stricter threshold leaves the kept box alone.
    voters = find_voters(kept, torch.tensor([0]), cands, labels, 0.7)
    torch.testing.assert_close(vote_boxes(kept, cands, scores, voters), kept)


def test_zero_scores_keep_the_box_and_no_boxes_is_fine():
    kept = boxes([2, 2, 6, 6])
    voters = torch.tensor([[True]])
    torch.testing.assert_close(
        vote_boxes(kept, kept, torch.zeros(1), voters), kept)
    empty = torch.zeros(0, 4)
    none = find_voters(empty, torch.zeros(0, dtype=torch.long), kept,
                       torch.zeros(1, dtype=torch.long), 0.5)
    assert vote_boxes(empty, kept, torch.ones(1), none).shape == (0, 4)


def test_view_mean_scores_hand_computed():
    # Three views. Kept box 0 has voters 0.8 and 0.5 from view 0 and 0.4
    # from view 2: (0.8 + 0 + 0.4) / 3. Kept box 1 has one from view 1.
    scores = torch.tensor([0.8, 0.5, 0.4, 0.3])
    views = torch.tensor([0, 0, 2, 1])
    voters = torch.tensor([[True, True, True, False],
                           [False, False, False, True]])
    torch.testing.assert_close(
        view_mean_scores(scores, views, voters, 3),
        torch.tensor([1.2 / 3, 0.1]))


def view(bboxes, scores, labels, flip, width=100, height=80):
    sample = DetDataSample(
        metainfo=dict(ori_shape=(height, width), flip=flip,
                      flip_direction='horizontal' if flip else None))
    sample.pred_instances = InstanceData(
        bboxes=boxes(*bboxes), scores=torch.tensor(scores),
        labels=torch.tensor(labels))
    return sample


def build(**tta_cfg):
    cfg = dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=10)
    cfg.update(tta_cfg)
    return build_from(cfg)


class Detector(torch.nn.Module):
    """Stands in for a detector: the merge never calls it."""

    def test_step(self, data):
        raise AssertionError('the merge must not run the detector')


def build_from(tta_cfg):
    # Scoped: other tests leave MMPretrain as the default scope.
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(
            dict(type='BoxVotingDetTTAModel', module=Detector(),
                 tta_cfg=tta_cfg))


def test_merge_flips_back_and_averages_the_views():
    # The same flag seen unflipped at x 10-30 and, in the mirrored view of
    # a 100-px-wide image, at x 68-88, i.e. 12-32 once flipped back.
    # MMDetection's DetTTAModel would keep the 0.9 box as it is.
    plain = view([[10, 20, 30, 40]], [0.9], [0], flip=False)
    mirrored = view([[68, 20, 88, 40], [0, 0, 5, 5]], [0.6, 0.3], [0, 1],
                    flip=True)
    merged = build().merge_preds([[plain, mirrored]])[0].pred_instances
    # x1 = (0.9 * 10 + 0.6 * 12) / 1.5 = 10.8, x2 = 30.8
    torch.testing.assert_close(
        merged.bboxes, boxes([10.8, 20, 30.8, 40], [95, 0, 100, 5]))
    torch.testing.assert_close(merged.scores, torch.tensor([0.9, 0.3]))
    assert merged.labels.tolist() == [0, 1]

    plain = view([[10, 20, 30, 40]], [0.9], [0], flip=False)
    mirrored = view([[68, 20, 88, 40], [0, 0, 5, 5]], [0.6, 0.3], [0, 1],
                    flip=True)
    merged = build(score_mode='view_mean').merge_preds(
        [[plain, mirrored]])[0].pred_instances
    # The flag: (0.9 + 0.6) / 2; the other box only in one of two views.
    torch.testing.assert_close(merged.scores, torch.tensor([0.75, 0.15]))


def test_merge_without_boxes_and_bad_settings():
    empty = [view(torch.zeros(0, 4).tolist(), [], [], flip=f)
             for f in (False, True)]
    for sample in empty:
        sample.pred_instances.labels = torch.zeros(0, dtype=torch.long)
        sample.pred_instances.bboxes = torch.zeros(0, 4)
    merged = build().merge_preds([empty])[0].pred_instances
    assert len(merged) == 0
    with pytest.raises(ValueError, match="score_mode.*'sum'"):
        build(score_mode='sum')
    with pytest.raises(ValueError, match='vote_iou_thr.*1.5'):
        build(vote_iou_thr=1.5)
    with pytest.raises(ValueError, match='nms and max_per_img'):
        build_from(dict(nms=dict(type='nms', iou_threshold=0.5)))


def test_registered_in_mmdet():
    assert MODELS.get('BoxVotingDetTTAModel') is not None
