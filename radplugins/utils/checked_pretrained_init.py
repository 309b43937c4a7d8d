"""``init_cfg=dict(type='Pretrained', ...)`` with the project's checks."""
from typing import Any, Dict, Mapping, Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS

from .checkpoint_loading import (CheckpointError, _prefixes,
                                 load_state_dict_checked, read_checkpoint)


def select_prefix(state_dict: Mapping, prefix: str,
                  filename: str) -> Dict[str, Any]:
    """The weights under ``prefix.``, with the prefix taken off.

    Args:
        state_dict (Mapping): A checkpoint's weights.
        prefix (str): E.g. ``'backbone'`` (a trailing dot is optional).
        filename (str): The file, for the message.

    Returns:
        dict: ``{name without the prefix: tensor}``.

    Raises:
        CheckpointError: If no key starts with the prefix; the message
            lists the prefixes the file has.
    """
    dotted = prefix if prefix.endswith('.') else prefix + '.'
    selected = {
        k[len(dotted):]: v
        for k, v in state_dict.items() if k.startswith(dotted)
    }
    if not selected:
        tops = sorted({k.split('.', 1)[0] for k in state_dict})
        raise CheckpointError(
            f'{filename}: no weights under the prefix {dotted!r} (the '
            f"init_cfg's prefix={prefix!r}); the file's keys start with "
            f'{", ".join(repr(t + ".") for t in tops[:8]) or "nothing"}')
    return selected


@WEIGHT_INITIALIZERS.register_module(name='Pretrained', force=True)
class CheckedPretrainedInit(PretrainedInit):
    """MMEngine's ``Pretrained`` initialiser, refusing weights that do not
    fit.

    MMEngine's ``PretrainedInit`` loads non-strictly: a file of another
    architecture, or a ``prefix`` that selects the wrong part, only logs
    the missing keys and leaves those parameters at their random initial
    values. Importing :mod:`radplugins` registers this class under the
    same name, ``'Pretrained'``, so that every
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`` goes
    through :func:`radplugins.utils.load_state_dict_checked`:

    * the file is read with torch's safe loader (a URL through the torch
      hub cache, see :mod:`radplugins.utils.model_zoo`);
    * with ``prefix``, only the file's keys under ``prefix.`` are used,
      the prefix taken off (an MMPretrain checkpoint's ``backbone.*`` for
      a backbone; its ``head.*`` is left out, and the model's head keeps
      its own initialisation); no key under it is an error;
    * every parameter and buffer of the initialised module must come from
      the file with the same shape, and every selected weight of the file
      must have a place in the module, except under the prefixes of
      ``allow_missing`` (the module's parameters the file may lack or hold
      with another shape, e.g. ``['classifier.6.']`` for a VGG whose last
      layer has 2 classes instead of ImageNet's 1000) and
      ``allow_unexpected`` (the file's keys the module may lack, e.g.
      ``['classifier.']`` for a VGG without its classifier). Allowed
      differences are logged.

    The module's own load hooks run, so e.g.
    :class:`~radplugins.models.backbones.EarlyFusionBackbone` still
    inflates a single-view first convolution.

    Args:
        checkpoint (str): A local file or a URL.
        prefix (str, optional): The part of the file to load, e.g.
            ``'backbone'``. Defaults to the whole file.
        map_location (Any): As :func:`torch.load`. Defaults to ``'cpu'``.
        allow_missing (Sequence[str]): Prefixes (after ``prefix`` is taken
            off) of the module's parameters the file may lack or hold with
            another shape. Defaults to none.
        allow_unexpected (Sequence[str]): Prefixes of the file's selected
            keys the module may lack. Defaults to none.

    Raises:
        TypeError: If an allowance is not a list of non-empty prefixes.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: Any = 'cpu',
                 allow_missing: Sequence[str] = (),
                 allow_unexpected: Sequence[str] = ()) -> None:
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        # A wrong type is a config error: say so before reading the file.
        self.allow_missing = _prefixes(allow_missing, 'allow_missing')
        self.allow_unexpected = _prefixes(allow_unexpected,
                                          'allow_unexpected')

    def __call__(self, module: nn.Module) -> None:
        """Load the file's weights into the module, checked.

        Args:
            module (nn.Module): The module whose ``init_cfg`` this is.

        Raises:
            CheckpointError: If the file cannot be read (or, for a URL, is
                neither cached nor downloadable), holds nothing under
                ``prefix``, or does not fit the module beyond the
                allowances.
        """
        where = f' ({self.prefix}.*)' if self.prefix else ''
        print_log(
            f'load {type(module).__name__} from {self.checkpoint}{where}',
            logger='current')
        checkpoint = read_checkpoint(self.checkpoint, self.map_location)
        state_dict = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state_dict, Mapping):
            raise CheckpointError(
                f'{self.checkpoint}: its state_dict is a '
                f'{type(state_dict).__name__}, not a dict of tensors')
        if self.prefix:
            state_dict = select_prefix(state_dict, self.prefix,
                                       self.checkpoint)
        load_state_dict_checked(
            module,
            state_dict,
            self.checkpoint + where,
            allow_missing=self.allow_missing,
            allow_unexpected=self.allow_unexpected,
            hint=('If the module is meant to differ from the file (e.g. '
                  'a classifier layer with another number of classes), '
                  "list the prefixes of its parameters the file may lack "
                  "in the init_cfg's allow_missing (e.g. "
                  "allow_missing=['classifier.6.']) and of the file's "
                  'keys the module may lack in allow_unexpected.'))
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
