"""Two optimisers for RA-CNN's alternating training."""
import copy
from typing import Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS

_KEYS = ('classifier', 'apn')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class RACNNOptimWrapperConstructor:
    """Build ``classifier`` and ``apn`` optim wrappers for RA-CNN.

    The ``classifier`` wrapper holds every parameter but the attention
    proposal networks', the ``apn`` wrapper only theirs, so each of
    :class:`RACNNClassifier`'s alternating phases steps exactly its own
    parameters. Each entry is an ordinary optim wrapper config (with its
    own optimiser, learning rate and ``paramwise_cfg``)::

        optim_wrapper = dict(
            constructor='RACNNOptimWrapperConstructor',
            classifier=dict(optimizer=dict(type='SGD', lr=1e-3)),
            apn=dict(optimizer=dict(type='SGD', lr=1e-6)))

    Args:
        optim_wrapper_cfg (dict): ``classifier`` and ``apn`` configs.
        paramwise_cfg (dict, optional): Not used at this level; give it
            inside an entry.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or \
                set(optim_wrapper_cfg) != set(_KEYS):
            keys = sorted(optim_wrapper_cfg) if isinstance(
                optim_wrapper_cfg, dict) else optim_wrapper_cfg
            raise ValueError(f'RACNNOptimWrapperConstructor needs exactly '
                             f'the keys {_KEYS}, got {keys}')
        if paramwise_cfg is not None:
            raise ValueError('give paramwise_cfg inside the classifier or '
                             'apn entry, not at the top level')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Build the two wrappers for ``model`` (possibly DDP-wrapped)."""
        module = getattr(model, 'module', model)
        if not hasattr(module, 'apns'):
            raise TypeError(f'RACNNOptimWrapperConstructor needs a model with '
                            f'APNs (RACNNClassifier), got '
                            f'{type(module).__name__}')
        wrappers = {}
        for key in _KEYS:
            cfg = copy.deepcopy(self.optim_wrapper_cfg[key])
            paramwise = cfg.pop('paramwise_cfg', None)
            constructor = DefaultOptimWrapperConstructor(cfg, paramwise)
            wrappers[key] = constructor(
                module.apns if key == 'apn' else _WithoutAPNs(module))
        return OptimWrapperDict(**wrappers)


class _WithoutAPNs(nn.Module):
    """A view of a RA-CNN's modules without its APNs (for param groups)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        for name, child in model.named_children():
            if name != 'apns':
                self.add_module(name, child)
