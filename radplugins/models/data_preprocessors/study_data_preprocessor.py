"""Data preprocessor for batches of studies (several views a sample)."""
import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS


@MODELS.register_module()
class StudyDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` for studies of ``V`` views.

    Each sample's input is a ``(V, C, H, W)`` tensor (from
    :class:`LoadStudyViews` and ``PackInputs``). The ``B * V`` views are
    moved to the device, channel-converted and normalised exactly as
    MMPretrain does single images, then regrouped as ``(B, V, C, H, W)``,
    the input of :class:`StudyClassifier` and
    :class:`EarlyFusionBackbone`. The samples (one a study) keep their
    ``view_mask``. Batch augmentations (Mixup, CutMix) mix images, not
    studies, and are refused.

    Args:
        **kwargs: Arguments of :class:`ClsDataPreprocessor`.
    """

    def __init__(self, **kwargs) -> None:
        if kwargs.get('batch_augments'):
            raise ValueError('StudyDataPreprocessor does not support '
                             f'batch_augments, got {kwargs["batch_augments"]}')
        super().__init__(**kwargs)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise the views and stack them as ``(B, V, C, H, W)``.

        Args:
            data (dict): ``inputs`` (a list of ``(V, C, H, W)`` tensors or a
                ``(B, V, C, H, W)`` tensor) and ``data_samples``.
            training (bool): Whether training-time augmentation applies.

        Returns:
            dict: ``inputs`` ``(B, V, C, H, W)`` and ``data_samples``.
        """
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        shapes = {tuple(x.shape) for x in inputs}
        if any(len(s) != 4 for s in shapes) or \
                len({s[0] for s in shapes}) != 1:
            raise ValueError(f'expected (V, C, H, W) studies with the same '
                             f'V, got shapes {sorted(shapes)}')
        views = inputs[0].shape[0]
        flat = [view for study in inputs for view in study]
        out = super().forward(dict(data, inputs=flat), training)
        out['inputs'] = out['inputs'].unflatten(0, (len(inputs), views))
        return out
