"""Helpers that edit a loaded config the way the command line asks."""
import os.path as osp
from typing import Any, List

from mmengine.config import Config
from mmengine.logging import print_log

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_EVALUATORS = ('val_evaluator', 'test_evaluator')


def _move_evaluator_ann_files(cfg: Config, old_root: str,
                              data_root: str) -> int:
    """Re-root the ``ann_file`` of evaluators (e.g. mmdet's CocoMetric)
    that lay under the old data root; return how many moved."""
    count = 0
    old = osp.normpath(old_root) if old_root else None
    for name in _EVALUATORS:
        evaluators = cfg.get(name)
        if evaluators is None:
            continue
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        for evaluator in evaluators:
            ann_file = evaluator.get('ann_file') \
                if isinstance(evaluator, dict) else None
            if not ann_file:
                continue
            path = osp.normpath(ann_file)
            if old is not None and (path + osp.sep).startswith(old + osp.sep):
                evaluator['ann_file'] = osp.join(data_root,
                                                 osp.relpath(path, old))
                count += 1
            else:
                print_log(
                    f'{name}.ann_file {ann_file!r} is not under the '
                    f'config\'s data_root {old_root!r}; left unchanged',
                    logger='current', level=30)
    return count


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


def _collect_data_roots(node: Any, found: List[str]) -> None:
    """Append every non-empty ``data_root`` value below ``node``."""
    if isinstance(node, dict):
        value = node.get('data_root')
        if isinstance(value, str) and value and value not in found:
            found.append(value)
        for child in node.values():
            _collect_data_roots(child, found)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _collect_data_roots(child, found)


def data_roots(cfg: Config) -> List[str]:
    """The ``data_root`` of every dataset of the train/val/test loaders.

    Tools that write files refuse an output inside these folders
    (:func:`radplugins.utils.check_output`).

    Args:
        cfg (Config): The loaded config (after :func:`set_data_root`, if
            the command line moved it).

    Returns:
        list[str]: Distinct non-empty data roots, in loader order.
    """
    found: List[str] = []
    for name in _LOADERS:
        loader = cfg.get(name)
        if loader is not None:
            _collect_data_roots(loader.get('dataset'), found)
    return found


def set_data_root(cfg: Config, data_root: str) -> int:
    """Point every dataset of the train/val/test loaders at ``data_root``.

    A top-level ``data_root`` variable in a config is copied into the
    dataset dicts when the config is parsed, so overriding the variable
    later changes nothing; this walks the loaders (including wrapped and
    concatenated datasets) instead. Evaluators that read their own
    annotation file (mmdet's ``CocoMetric``) get their ``ann_file`` moved
    too when it lay under the config's ``data_root``.

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
    _move_evaluator_ann_files(cfg, cfg.get('data_root'), data_root)
    cfg.data_root = data_root
    return count
