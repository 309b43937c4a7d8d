"""Distributed data parallel for RA-CNN's alternating training."""
from typing import Dict

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapperDict
# MMEngine's runner looks wrappers up in its own (root) registry, which does
# not search the MMPretrain child registry: register there.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class RACNNDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that alternates like
    :meth:`RACNNClassifier.train_step`.

    MMEngine's DDP wrapper computes ``forward(mode='loss')`` and steps one
    optim wrapper, which would train RA-CNN's classifiers and attention
    proposal networks jointly. This wrapper asks the model for the phase
    of the iteration, runs that phase's losses through DDP's forward (so
    the gradients are averaged over the processes) and steps only the
    phase's optim wrapper. Every process reads the same iteration counter,
    so all of them are in the same phase.

    Each phase leaves the other phase's parameters out of the graph, so
    DDP must be told that some parameters receive no gradient:
    ``find_unused_parameters`` defaults to True here. Use it in a config
    as::

        model_wrapper_cfg = dict(type='RACNNDistributedDataParallel')

    Args:
        find_unused_parameters (bool): Passed to DDP. Defaults to True.
        **kwargs: Other arguments of :class:`MMDistributedDataParallel`
            (``module``, ``device_ids``, ...).
    """

    def __init__(self, find_unused_parameters: bool = True, **kwargs):
        if not find_unused_parameters:
            raise ValueError(
                'RACNNDistributedDataParallel needs '
                'find_unused_parameters=True: each RA-CNN phase leaves the '
                'other phase\'s parameters without gradient')
        super().__init__(find_unused_parameters=True, **kwargs)

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One iteration of the current phase, gradients synchronised.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): ``classifier`` and ``apn``.

        Returns:
            dict: Log variables of the phase.
        """
        return self.module.alternating_step(
            data,
            optim_wrapper,
            lambda batch, phase: self(**batch, mode='loss', phase=phase),
            context_module=self)
