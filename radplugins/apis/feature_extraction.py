"""Pooled backbone features of a whole split, streamed and cached on disk.

The features feed classical classifiers (the bagged SVMs of
:mod:`radplugins.apis.feature_svm`), as in the paper's feature-extraction
baseline (§IV-C). Images are streamed batch by batch through the model in
test mode; only the ``(N, C)`` feature matrix is kept, never the images.

Typical use::

    model = init_model(cfg, checkpoint)
    loader = build_split_loader(cfg, 'train')
    feats = load_or_extract_features(model, loader, 'work_dirs/cache',
                                     key=feature_cache_key(...))
"""
import copy
import hashlib
import json
import os
import os.path as osp
import sys
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.utils import ProgressBar

#: Arrays of a feature file, one row per image, in dataset order.
FEATURE_KEYS = ('features', 'labels', 'study_ids', 'body_parts', 'img_paths')
_HASH_CHUNK = 1 << 20


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes (a checkpoint: any change of weights).

    Args:
        path (str): The file.

    Returns:
        str: Hex digest.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_HASH_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_fingerprint(dataset) -> str:
    """A digest of what a dataset reads: its list files and every image's
    path, size and modification time.

    Re-reading the images' bytes would cost as much as extracting, so an
    image counts as changed when its size or mtime changes.

    Args:
        dataset: A built dataset with ``get_data_info`` (``img_path``), and
            optionally ``image_csv``/``study_csv`` (MURA's lists).

    Returns:
        str: Hex digest.
    """
    digest = hashlib.sha256()
    for attr in ('image_csv', 'study_csv'):
        path = getattr(dataset, attr, None)
        if path and osp.isfile(path):
            digest.update(path.encode())
            digest.update(file_digest(path).encode())
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        path = info['img_path']
        stat = os.stat(path)
        digest.update(
            f'{path}|{info.get("gt_label")}|{stat.st_size}|'
            f'{stat.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def feature_cache_key(cfg: Config, split: str, checkpoint: Optional[str],
                      dataset) -> str:
    """The key of a split's features: what the features depend on.

    That is the model and its data preprocessor, the split's dataset config
    (pipeline, body parts), the checkpoint's bytes and the data
    (:func:`dataset_fingerprint`). Schedules, hooks and work dirs do not
    change features and are left out, so editing them keeps the cache.

    Args:
        cfg (Config): The config.
        split (str): ``'train'`` or ``'valid'``.
        checkpoint (str, optional): Checkpoint file; None for initial
            weights.
        dataset: The built dataset of the split.

    Returns:
        str: Hex digest.
    """
    loader = split_loader_cfg(cfg, split)
    parts = dict(
        model=cfg.model,
        data_preprocessor=cfg.get('data_preprocessor'),
        dataset=loader.dataset,
        split=split,
        checkpoint=file_digest(checkpoint) if checkpoint else None,
        data=dataset_fingerprint(dataset))
    text = json.dumps(_plain(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(node):
    """Config dicts/lists as plain Python for a stable JSON dump."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node


def split_loader_cfg(cfg: Config,
                     split: str,
                     body_parts: Optional[Sequence[str]] = None,
                     batch_size: Optional[int] = None,
                     num_workers: Optional[int] = None) -> Config:
    """The test dataloader config, pointed at ``split``.

    Both splits go through the *test* pipeline (no augmentation) and in
    order, so train features describe the images as the model sees them
    at test time.

    Args:
        cfg (Config): The config with a ``test_dataloader``.
        split (str): Dataset split, e.g. ``'train'`` or ``'valid'``.
        body_parts (Sequence[str], optional): Keep only these body parts.
        batch_size (int, optional): Override the batch size.
        num_workers (int, optional): Override the worker count.

    Returns:
        Config: A new dataloader config.
    """
    loader = copy.deepcopy(cfg.test_dataloader)
    loader.dataset.split = split
    loader.dataset.test_mode = True
    if body_parts:
        loader.dataset.body_parts = list(body_parts)
    loader.sampler = dict(type='DefaultSampler', shuffle=False)
    if batch_size is not None:
        loader.batch_size = batch_size
    if num_workers is not None:
        loader.num_workers = num_workers
        if num_workers == 0:
            loader.persistent_workers = False
    return loader


def build_split_loader(cfg: Config, split: str,
                       **kwargs) -> torch.utils.data.DataLoader:
    """Build the dataloader of :func:`split_loader_cfg`."""
    return Runner.build_dataloader(split_loader_cfg(cfg, split, **kwargs))


def pooled_features(model: torch.nn.Module,
                    inputs: torch.Tensor) -> torch.Tensor:
    """The model's pooled backbone features, ``(B, C)``.

    The last output of ``extract_feat`` (backbone, then neck); a spatial
    map (a model without a pooling neck) is averaged over its positions.
    """
    feats = model.extract_feat(inputs)
    if isinstance(feats, (list, tuple)):
        feats = feats[-1]
    if feats.dim() > 2:
        feats = feats.flatten(2).mean(dim=2)
    return feats


def extract_features(model: torch.nn.Module,
                     dataloader: torch.utils.data.DataLoader,
                     progress: bool = True,
                     on_batch: Optional[Callable[[int], None]] = None
                     ) -> Dict[str, np.ndarray]:
    """Pooled features of every image of a dataloader, in test mode.

    Batches are streamed: each is preprocessed on the model's device, its
    features copied into one preallocated ``(N, C)`` float32 matrix, and
    dropped. The model is put in eval mode for the call and restored.

    Args:
        model (torch.nn.Module): A classifier with ``data_preprocessor``
            and ``extract_feat``.
        dataloader (DataLoader): Yields packed batches (``inputs``,
            ``data_samples`` with ``study_id``, ``body_part``, ``img_path``
            and ``gt_label``), in a fixed order.
        progress (bool): Show a progress bar on stderr.
        on_batch (callable, optional): Called with each batch's size (for
            benchmarks and tests).

    Returns:
        dict: ``features`` ``(N, C)`` float32, ``labels`` ``(N,)`` int64,
        ``study_ids``, ``body_parts`` and ``img_paths`` ``(N,)`` str.
    """
    total = len(dataloader.dataset)
    features = None
    labels = np.empty(total, dtype=np.int64)
    meta: Dict[str, list] = dict(study_ids=[], body_parts=[], img_paths=[])
    bar = ProgressBar(total, file=sys.stderr) if progress else None
    filled = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in dataloader:
                data = model.data_preprocessor(batch, False)
                feats = pooled_features(model, data['inputs'])
                n = feats.shape[0]
                if features is None:
                    features = np.empty((total, feats.shape[1]),
                                        dtype=np.float32)
                if filled + n > total:
                    raise RuntimeError(
                        f'the dataloader yielded more than the {total} '
                        'samples of its dataset (a sampler that pads?)')
                features[filled:filled + n] = feats.float().cpu().numpy()
                for i, sample in enumerate(batch['data_samples']):
                    labels[filled + i] = int(sample.gt_label[0])
                    meta['study_ids'].append(str(sample.study_id))
                    meta['body_parts'].append(str(sample.body_part))
                    meta['img_paths'].append(str(sample.img_path))
                filled += n
                if bar is not None:
                    bar.update(n)
                if on_batch is not None:
                    on_batch(n)
    finally:
        model.train(was_training)
    if bar is not None:
        sys.stderr.write('\n')
    if filled != total:
        raise RuntimeError(f'extracted {filled} samples, the dataset has '
                           f'{total}')
    if features is None:
        return empty_features()
    return dict(
        features=features,
        labels=labels,
        **{k: np.asarray(v, dtype=str)
           for k, v in meta.items()})


def empty_features() -> Dict[str, np.ndarray]:
    """The arrays of :func:`extract_features` for no images."""
    return dict(
        features=np.empty((0, 0), dtype=np.float32),
        labels=np.empty(0, dtype=np.int64),
        study_ids=np.empty(0, dtype=str),
        body_parts=np.empty(0, dtype=str),
        img_paths=np.empty(0, dtype=str))


def cache_path(cache_dir: str, split: str, key: str) -> str:
    """Where the features of ``split`` under ``key`` are cached."""
    return osp.join(cache_dir, f'features_{split}_{key[:16]}.npz')


def load_cached_features(path: str,
                         key: str) -> Optional[Dict[str, np.ndarray]]:
    """The cached features at ``path`` if they were stored under ``key``,
    else None."""
    if not osp.isfile(path):
        return None
    with np.load(path, allow_pickle=False) as data:
        if str(data['key']) != key or any(k not in data
                                          for k in FEATURE_KEYS):
            return None
        return {k: data[k] for k in FEATURE_KEYS}


def save_features(path: str, key: str, feats: Dict[str,
                                                    np.ndarray]) -> None:
    """Write features with their key, atomically (a killed run leaves no
    half-written cache)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        np.savez(f, key=np.asarray(key), **feats)
    os.replace(tmp, path)


def load_or_extract_features(model: torch.nn.Module,
                             dataloader: torch.utils.data.DataLoader,
                             path: str,
                             key: str,
                             progress: bool = True,
                             log: Callable[[str], None] = print
                             ) -> Dict[str, np.ndarray]:
    """Cached features if ``path`` holds them under ``key``, else extract
    and cache them.

    Args:
        model (torch.nn.Module): See :func:`extract_features`.
        dataloader (DataLoader): See :func:`extract_features`.
        path (str): The ``.npz`` cache file (see :func:`cache_path`).
        key (str): :func:`feature_cache_key` of the config, checkpoint and
            data.
        progress (bool): Show a progress bar while extracting.
        log (callable): Where the cache hit/miss line goes.

    Returns:
        dict: See :func:`extract_features`.
    """
    feats = load_cached_features(path, key)
    if feats is not None:
        log(f'features: reusing {path} ({len(feats["labels"])} images)')
        return feats
    log(f'features: extracting {len(dataloader.dataset)} images -> {path}')
    feats = extract_features(model, dataloader, progress=progress)
    save_features(path, key, feats)
    return feats
