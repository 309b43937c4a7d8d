"""Detection test-time augmentation whose merged boxes are edge-refined."""
import os.path as osp
from typing import List, Optional

import torch
from mmcv.ops import batched_nms
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

from radplugins.utils.checkpoint_loading import load_model_checkpoint

from .box_voting_det_tta import BoxVotingDetTTAModel


@MODELS.register_module()
class EdgeRefinedDetTTAModel(BoxVotingDetTTAModel):
    """Box voting over the views, then each box refined at full resolution.

    The views are merged as :class:`BoxVotingDetTTAModel` merges them;
    then a :class:`~radplugins.models.box_refiners.BoxEdgeRefiner` moves
    each merged box's edges to where the object ends, reading the image
    at the resolution the boxes are reported in (the detector itself saw
    it shrunk to its input size). With a one-view ``tta_pipeline`` this is
    refinement alone.

    The image comes from the views' metainfo: put ``mmpretrain.KeepHighRes``
    (``gray=True``, a ``max_long_side`` at least the images' long side)
    before the resize and pack ``hr_img`` and ``hr_scale`` with
    ``PackDetInputs(meta_keys=(..., 'hr_img', 'hr_scale'))``.

    Args:
        refiner (dict): ``BoxEdgeRefiner`` config.
        refiner_checkpoint (str, optional): Its trained weights (a local
            checkpoint written by ``tools/train.py`` on the refiner's
            config). None leaves it as built, which is only useful in
            tests.
        refine_rounds (int): Refine the refined boxes again this many
            times in all. Defaults to 1.
        confidence_power (float): Rescore each refined box as its score
            times ``BoxEdgeRefiner.edge_confidence ** confidence_power``,
            so that among boxes the detector is equally sure of, those
            whose edges the refiner finds sharply rank first (what an mAP
            over high IoU thresholds rewards). 0 keeps the detector's
            scores. Defaults to 0.
        duplicate_iou_thr (float, optional): After refinement (and
            rescoring), drop a box whose IoU with a higher-scored box of
            its class is above this: boxes the detector gave for parts of
            one object are often moved onto the same outline, and COCO's
            evaluation counts all but one of them as false positives.
            Set it high, so that only boxes the refinement made the same
            box are merged (two markers side by side stay two). None
            keeps every box. Defaults to None.
        **kwargs: ``tta_cfg``, ``module`` and the rest of
            ``BoxVotingDetTTAModel``'s arguments.
    """

    def __init__(self,
                 refiner: dict,
                 refiner_checkpoint: Optional[str] = None,
                 refine_rounds: int = 1,
                 confidence_power: float = 0.0,
                 duplicate_iou_thr: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if refine_rounds < 1:
            raise ValueError(
                f'refine_rounds must be >= 1, got {refine_rounds!r}')
        if confidence_power < 0:
            raise ValueError('confidence_power must be >= 0, got '
                             f'{confidence_power!r}')
        if duplicate_iou_thr is not None and not 0 < duplicate_iou_thr <= 1:
            raise ValueError('duplicate_iou_thr must be in (0, 1] or None, '
                             f'got {duplicate_iou_thr!r}')
        self.confidence_power = float(confidence_power)
        self.duplicate_iou_thr = duplicate_iou_thr
        self.refiner = MODELS.build(refiner)
        if refiner_checkpoint is not None:
            if not osp.isfile(refiner_checkpoint):
                raise FileNotFoundError(
                    f'refiner_checkpoint {refiner_checkpoint!r} does not '
                    'exist: train the refiner first (configs/detection/'
                    'box-edge-refiner_*.py) or point tta_model.'
                    'refiner_checkpoint at its checkpoint')
            # Its weights only: a checkpoint of another refiner (or of the
            # detector) is an error naming the file and the keys.
            load_model_checkpoint(self.refiner, refiner_checkpoint)
        self.refiner.eval()
        self.refine_rounds = refine_rounds

    def _merge_single_sample(
            self, data_samples: List[DetDataSample]) -> DetDataSample:
        """Merge one image's views, then refine the merged boxes."""
        merged = super()._merge_single_sample(data_samples)
        meta = data_samples[0].metainfo
        if 'hr_img' not in meta:
            raise KeyError(
                'EdgeRefinedDetTTAModel needs the full-resolution image as '
                "'hr_img' in the views' metainfo (KeepHighRes before the "
                f"resize, packed in meta_keys); {meta.get('img_path')!r} "
                'has none')
        pred = merged.pred_instances
        if len(pred) == 0:
            return merged
        scale = float(meta.get('hr_scale', 1.0))
        image = torch.as_tensor(meta['hr_img']).float()
        if image.dim() == 3:
            image = image.permute(2, 0, 1)
        refined = self.refiner.refine(image, pred.bboxes * scale,
                                      pred.labels, self.refine_rounds)
        pred.bboxes = refined / scale
        if self.confidence_power > 0:
            confidence = self.refiner.edge_confidence(image, refined,
                                                      pred.labels)
            pred.scores = pred.scores * confidence.to(
                pred.scores)**self.confidence_power
            pred = pred[pred.scores.argsort(descending=True, stable=True)]
        if self.duplicate_iou_thr is not None:
            _, keep = batched_nms(
                pred.bboxes, pred.scores, pred.labels,
                dict(type='nms', iou_threshold=self.duplicate_iou_thr))
            pred = pred[keep]
        merged.pred_instances = pred
        return merged
