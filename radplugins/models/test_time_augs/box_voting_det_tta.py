"""Detection test-time augmentation that averages the views' boxes."""
from typing import List, Optional

import torch
from mmcv.ops import batched_nms
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

SCORE_MODES = ('max', 'view_mean')


def find_voters(kept_boxes: Tensor, kept_labels: Tensor, boxes: Tensor,
                labels: Tensor, iou_thr: float) -> Tensor:
    """Which candidate boxes vote for which kept box.

    Args:
        kept_boxes (Tensor): (K, 4) boxes that survived NMS, x1y1x2y2.
        kept_labels (Tensor): (K,) their labels.
        boxes (Tensor): (N, 4) all candidate boxes, kept ones included.
        labels (Tensor): (N,) their labels.
        iou_thr (float): Least IoU with a kept box to vote for it.

    Returns:
        Tensor: (K, N) bool, True where candidate n has kept box k's label
        and overlaps it by at least ``iou_thr``.
    """
    overlaps = bbox_overlaps(kept_boxes, boxes)
    return (overlaps >= iou_thr) & (kept_labels[:, None] == labels[None])


def vote_boxes(kept_boxes: Tensor, boxes: Tensor, scores: Tensor,
               voters: Tensor) -> Tensor:
    """Replace each kept box by the score-weighted mean of its voters.

    Box voting (Gidaris and Komodakis, 2015): each coordinate of a kept
    box becomes the mean of its voters' (:func:`find_voters`), weighted
    by their scores. A kept box is among the candidates and votes for
    itself (IoU 1), so no box is left without voters.

    Args:
        kept_boxes (Tensor): (K, 4) boxes that survived NMS, x1y1x2y2.
        boxes (Tensor): (N, 4) all candidate boxes.
        scores (Tensor): (N,) their scores, non-negative.
        voters (Tensor): (K, N) bool, from :func:`find_voters`.

    Returns:
        Tensor: (K, 4) the voted boxes.
    """
    weights = voters.to(scores.dtype) * scores[None]
    total = weights.sum(dim=1, keepdim=True)
    # Voters that all scored 0 carry no weight: the box keeps its place.
    voted = weights @ boxes / total.clamp(min=torch.finfo(total.dtype).tiny)
    return torch.where(total > 0, voted, kept_boxes)


def view_mean_scores(scores: Tensor, views: Tensor, voters: Tensor,
                     num_views: int) -> Tensor:
    """Mean over the views of each view's best voter score.

    Args:
        scores (Tensor): (N,) the candidates' scores, non-negative.
        views (Tensor): (N,) long, the view each candidate came from.
        voters (Tensor): (K, N) bool, from :func:`find_voters`.
        num_views (int): How many views there were (a view without a
            voter counts as 0).

    Returns:
        Tensor: (K,) the scores.
    """
    voter_scores = torch.where(voters, scores[None], scores.new_zeros(()))
    best = scores.new_zeros(voters.shape[0], num_views)
    best.scatter_reduce_(1, views[None].expand_as(voter_scores),
                         voter_scores, reduce='amax')
    return best.mean(dim=1)


@MODELS.register_module()
class BoxVotingDetTTAModel(DetTTAModel):
    """Merge the views of a detection TTA by NMS, then box voting.

    MMDetection's ``DetTTAModel`` keeps, of the boxes of all views, those
    that survive NMS: each merged box is one view's box, with that view's
    error. Here each survivor is replaced by the score-weighted mean of
    the boxes of every view that overlap it (:func:`vote_boxes`), so
    independent edge errors of the views average out; that is what a
    tight-box metric such as COCO's mAP over IoU 0.5-0.95 rewards.

    Args:
        tta_cfg (dict): ``nms`` (an mmcv ``batched_nms`` config, e.g.
            ``dict(type='nms', iou_threshold=0.5)``), ``max_per_img``,
            ``vote_iou_thr`` (least IoU to vote, default 0.5; a higher
            one keeps loose boxes out of the mean, and 0.7 scored best
            on the synthetic flags) and ``score_mode``:
            ``'max'`` keeps the NMS survivor's score, ``'view_mean'``
            averages over the views each view's best score among the
            voters (0 for a view without one), so a box that only one of
            many views found ranks lower.
        **kwargs: ``module`` and the rest of ``BaseTTAModel``'s arguments.
    """

    def __init__(self, tta_cfg: Optional[dict] = None, **kwargs) -> None:
        super().__init__(tta_cfg=tta_cfg, **kwargs)
        if tta_cfg is None or 'nms' not in tta_cfg \
                or 'max_per_img' not in tta_cfg:
            raise ValueError('BoxVotingDetTTAModel needs tta_cfg with nms '
                             f'and max_per_img, got {tta_cfg!r}')
        self.vote_iou_thr = float(tta_cfg.get('vote_iou_thr', 0.5))
        if not 0.0 < self.vote_iou_thr <= 1.0:
            raise ValueError('vote_iou_thr must be in (0, 1], got '
                             f'{self.vote_iou_thr!r}')
        self.score_mode = tta_cfg.get('score_mode', 'max')
        if self.score_mode not in SCORE_MODES:
            raise ValueError(f'score_mode must be one of {SCORE_MODES}, '
                             f'got {self.score_mode!r}')

    def _merge_single_sample(
            self, data_samples: List[DetDataSample]) -> DetDataSample:
        """Merge one image's views into one prediction."""
        if data_samples[0].pred_instances.get('masks', None) is not None:
            raise ValueError('BoxVotingDetTTAModel merges boxes only; '
                             'the model predicted masks')
        boxes, scores = self.merge_aug_bboxes(
            [s.pred_instances.bboxes for s in data_samples],
            [s.pred_instances.scores for s in data_samples],
            [s.metainfo for s in data_samples])
        labels = torch.cat([s.pred_instances.labels for s in data_samples])
        views = torch.cat([
            torch.full_like(s.pred_instances.labels, i)
            for i, s in enumerate(data_samples)
        ])
        merged = data_samples[0]
        if boxes.numel() == 0:
            return merged
        dets, keep = batched_nms(boxes, scores, labels, self.tta_cfg['nms'])
        keep = keep[:self.tta_cfg['max_per_img']]
        kept_scores = dets[:self.tta_cfg['max_per_img'], -1]
        kept_labels = labels[keep]
        voters = find_voters(boxes[keep], kept_labels, boxes, labels,
                             self.vote_iou_thr)
        voted = vote_boxes(boxes[keep], boxes, scores, voters)
        if self.score_mode == 'view_mean':
            kept_scores = view_mean_scores(scores, views, voters,
                                           len(data_samples))
            order = kept_scores.argsort(descending=True, stable=True)
            voted, kept_scores, kept_labels = (voted[order],
                                               kept_scores[order],
                                               kept_labels[order])
        results = InstanceData()
        results.bboxes = voted
        results.scores = kept_scores
        results.labels = kept_labels
        merged.pred_instances = results
        return merged
