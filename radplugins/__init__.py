"""radplugins: OpenMMLab plugins for weakly supervised radiology.

Importing the package registers its datasets, transforms, models and
metrics into MMPretrain's registries, and allows torch's safe
(``weights_only``) checkpoint loader to read the training state that
MMEngine stores in this project's checkpoints (see
:mod:`radplugins.utils.checkpoint_compat`).
"""
from .utils import enable_safe_checkpoint_loading
from .version import __version__

enable_safe_checkpoint_loading()

from . import (apis, datasets, engine, evaluation, models,  # noqa: E402
               saliency, visualization)

__all__ = [
    '__version__', 'apis', 'datasets', 'engine', 'evaluation', 'models',
    'saliency', 'visualization'
]
