"""Study-level classifier: shared backbone on every view, fused by a neck."""
from typing import List, Optional, Tuple

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class StudyClassifier(ImageClassifier):
    """Late fusion of a study's views (the paper's future work, §V).

    The inputs are studies, ``(B, V, C, H, W)`` (see
    :class:`StudyDataPreprocessor`). The backbone runs once on all
    ``B * V`` views as on single images, the neck (e.g.
    :class:`ViewFusionNeck`) pools each study's view features using the
    data samples' ``view_mask`` (padded views ignored), and the head
    classifies the study. With ``V = 1`` the model computes exactly the
    single-view classifier built from the same backbone and head.

    Args:
        backbone (dict): Backbone config (any single-view backbone).
        neck (dict): A neck taking ``(feats, view_mask)``, e.g.
            ``dict(type='ViewFusionNeck', pooling='attention',
            in_channels=512)``.
        head (dict): Head config.
        **kwargs: Other arguments of :class:`ImageClassifier`.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict,
                 **kwargs) -> None:
        if neck is None:
            raise ValueError('StudyClassifier needs a fusion neck such as '
                             "dict(type='ViewFusionNeck')")
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)

    @staticmethod
    def view_mask(inputs: torch.Tensor,
                  data_samples: Optional[List[DataSample]]) -> torch.Tensor:
        """The ``(B, V)`` mask of real views; all True without samples.

        Args:
            inputs (torch.Tensor): ``(B, V, C, H, W)`` studies.
            data_samples (list[DataSample], optional): Samples carrying
                ``view_mask``.

        Returns:
            torch.Tensor: Boolean ``(B, V)`` on the inputs' device.
        """
        batch, views = inputs.shape[:2]
        if not data_samples or 'view_mask' not in data_samples[0]:
            return torch.ones(
                batch, views, dtype=torch.bool, device=inputs.device)
        mask = torch.stack([
            torch.as_tensor(s.view_mask, device=inputs.device)
            for s in data_samples
        ]).bool()
        if mask.shape != (batch, views):
            raise ValueError(f'view_mask of the batch has shape '
                             f'{tuple(mask.shape)}, the inputs have '
                             f'{batch} studies of {views} views')
        return mask

    def extract_feat(self,
                     inputs: torch.Tensor,
                     view_mask: Optional[torch.Tensor] = None,
                     stage: str = 'neck') -> Tuple[torch.Tensor, ...]:
        """Per-view backbone features fused into study features.

        Args:
            inputs (torch.Tensor): ``(B, V, C, H, W)``.
            view_mask (torch.Tensor, optional): ``(B, V)``; all views valid
                when None.
            stage (str): ``'backbone'`` returns the per-view features
                ``(B * V, ...)``, ``'neck'`` the fused ``(B, D)`` and
                ``'pre_logits'`` the head's pre-logits.

        Returns:
            tuple[torch.Tensor]: Features of the requested stage.
        """
        if inputs.dim() != 5:
            raise ValueError(f'StudyClassifier expects (B, V, C, H, W) '
                             f'inputs, got {tuple(inputs.shape)}; use '
                             'StudyDataPreprocessor')
        if stage not in ('backbone', 'neck', 'pre_logits'):
            raise ValueError(f'unknown stage {stage!r}')
        if view_mask is None:
            view_mask = self.view_mask(inputs, None)
        feats = self.backbone(inputs.flatten(0, 1))
        if stage == 'backbone':
            return feats
        feats = self.neck(feats, view_mask)
        if stage == 'neck':
            return feats
        return self.head.pre_logits(feats)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch over ``tensor``, ``loss`` and ``predict``.

        Args:
            inputs (torch.Tensor): ``(B, V, C, H, W)``.
            data_samples (list[DataSample], optional): Carry ``view_mask``
                and, for ``loss``, the labels.
            mode (str): ``'tensor'``, ``'loss'`` or ``'predict'``.

        Returns:
            The head's logits, a dict of losses or the predicted samples.
        """
        mask = self.view_mask(inputs, data_samples)
        feats = self.extract_feat(inputs, mask)
        if mode == 'tensor':
            return self.head(feats) if self.with_head else feats
        if mode == 'loss':
            return self.head.loss(feats, data_samples)
        if mode == 'predict':
            return self.head.predict(feats, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """Losses of a batch of studies."""
        return self.forward(inputs, data_samples, mode='loss')

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predictions for a batch of studies."""
        return self.forward(inputs, data_samples, mode='predict')
