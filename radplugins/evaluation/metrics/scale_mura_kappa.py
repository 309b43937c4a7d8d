"""MURA kappa of one scale of a multi-scale classifier."""
from typing import Optional, Sequence

from mmpretrain.registry import METRICS

from .mura_kappa import MuraKappa
from .metric_utils import to_numpy


@METRICS.register_module()
class ScaleMuraKappa(MuraKappa):
    """:class:`MuraKappa` of one scale's scores instead of the fused ones.

    Multi-scale classifiers (:class:`RACNNClassifier`,
    :class:`ZoomInClassifier`) store every scale's class probabilities in
    ``scale_scores`` (``(num_scales, 2)``); this metric scores row
    ``scale`` exactly as :class:`MuraKappa` scores ``pred_score``, so the
    scales can be compared with the fused prediction in one evaluation.

    Args:
        scale (int): Row of ``scale_scores`` (0 is the whole image;
            Python-indexed, -1 is the finest).
        prefix (str, optional): Key prefix. Defaults to ``'mura_s{scale}'``.
        **kwargs: The other arguments of :class:`MuraKappa`.
    """

    def __init__(self,
                 scale: int,
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        if isinstance(scale, bool) or not isinstance(scale, int):
            raise TypeError(f'scale must be an int, got {scale!r}')
        super().__init__(prefix=prefix or f'mura_s{scale}', **kwargs)
        self.scale = scale

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Score ``scale_scores[scale]`` of every sample.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Outputs of the model as dicts.
        """
        swapped = []
        for sample in data_samples:
            name = sample.get('img_path', sample.get('study_id', '?'))
            if 'scale_scores' not in sample:
                raise KeyError(f'ScaleMuraKappa needs scale_scores in every '
                               f'data sample (a multi-scale classifier\'s '
                               f'prediction), missing in {name}')
            scores = to_numpy(sample['scale_scores'])
            if not -len(scores) <= self.scale < len(scores):
                raise IndexError(f'scale {self.scale} out of range for '
                                 f'{len(scores)} scales in {name}')
            swapped.append({**sample, 'pred_score': scores[self.scale]})
        super().process(data_batch, swapped)
