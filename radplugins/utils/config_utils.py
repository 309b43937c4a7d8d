"""Helpers that edit a loaded config the way the command line asks."""
from typing import Any

from mmengine.config import Config

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _replace_data_root(node: Any, data_root: str) -> int:
    """Set every ``data_root`` key below ``node``; return how many."""
    count = 0
    if isinstance(node, dict):
        if 'data_root' in node:
            node['data_root'] = data_root
            count += 1
        for value in node.values():
            count += _replace_data_root(value, data_root)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_data_root(value, data_root)
    return count


def set_data_root(cfg: Config, data_root: str) -> int:
    """Point every dataset of the train/val/test loaders at ``data_root``.

    A top-level ``data_root`` variable in a config is copied into the
    dataset dicts when the config is parsed, so overriding the variable
    later changes nothing; this walks the loaders (including wrapped and
    concatenated datasets) instead.

    Args:
        cfg (Config): The loaded config; modified in place.
        data_root (str): The new data root.

    Returns:
        int: Number of dataset entries changed.

    Raises:
        ValueError: If no dataset in the config has a ``data_root``.
    """
    count = 0
    for name in _LOADERS:
        loader = cfg.get(name)
        if loader is not None:
            count += _replace_data_root(loader.get('dataset'), data_root)
    if count == 0:
        raise ValueError('no dataset with a data_root in '
                         f'{", ".join(_LOADERS)}; cannot set {data_root!r}')
    cfg.data_root = data_root
    return count
