"""Model-zoo URLs through the torch hub cache, safely and offline.

OpenMMLab configs name pretrained weights by URL (``init_cfg=dict(
type='Pretrained', checkpoint=URL)``, ``load_from=URL``); MMEngine reads
such a URL from the torch hub cache, ``<torch.hub.get_dir()>/checkpoints/
<file name>`` (``$TORCH_HOME/hub/checkpoints`` by default), and downloads
it there the first time. Its own loader has three problems here:

* without a network, urllib waits without a time limit or ends in a
  traceback that does not say where the file was expected;
* it unpickles the cached file with ``weights_only=False`` (torch's hub
  default), outside the safe loader every other checkpoint goes through;
* the message does not say how to work offline.

:func:`load_from_http_cached` replaces MMEngine's loader for ``http://``
and ``https://`` (registered when :mod:`radplugins` is imported). It
reads a cached file with torch's safe loader (and the allow-list of
:mod:`radplugins.utils.checkpoint_compat`), downloads a missing one with a
time limit on every socket operation, and otherwise stops at once with a
:class:`PretrainedWeightsUnavailable` naming the URL and the exact path
the file is expected at.
"""
import os
import os.path as osp
import socket
import urllib.error
from contextlib import contextmanager
from http.client import HTTPException
from typing import Any, Dict, Iterator, Optional
from urllib.parse import urlparse

import torch
import torch.hub
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint_loading import CheckpointError, read_checkpoint

#: Seconds any one socket operation of a download (connecting, reading a
#: block) may take before the download is given up.
DOWNLOAD_TIMEOUT = 30.0
#: Where the user guide explains the offline set-up.
DOCS_PAGE = 'docs/pretrained_weights.md'


class PretrainedWeightsUnavailable(CheckpointError):
    """A model-zoo URL whose file is neither cached nor downloadable.

    The message names the URL, the cache path the file is expected at and
    how to go on without a network.
    """


def hub_cache_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where MMEngine (and torch) keep the file of a URL.

    The same rule as :func:`torch.hub.load_state_dict_from_url`:
    ``<model_dir>/<the URL's file name>``, ``model_dir`` defaulting to
    ``<torch.hub.get_dir()>/checkpoints`` (``$TORCH_HOME/hub/checkpoints``;
    ``$TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, i.e.
    ``~/.cache/torch``).

    Args:
        url (str): An ``http(s)://`` URL.
        model_dir (str, optional): The cache folder. Defaults to the torch
            hub's.

    Returns:
        str: The file's path.

    Raises:
        ValueError: If the URL has no file name.
    """
    name = osp.basename(urlparse(url).path)
    if not name:
        raise ValueError(f'{url!r} names no file (its path ends in /)')
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, name)


@contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    """Give every new socket a time limit for the ``with`` block.

    :func:`torch.hub.download_url_to_file` opens its URL without a
    timeout, so a network that drops packets would make it wait forever;
    the default timeout of new sockets bounds each connect and read.

    Args:
        seconds (float): The limit per socket operation.
    """
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


def unavailable_message(url: str, cached_file: str, reason: str) -> str:
    """The offline error: the URL, the expected file and what to do.

    Args:
        url (str): The model-zoo URL.
        cached_file (str): Where the file is expected.
        reason (str): Why it could not be downloaded.

    Returns:
        str: The message.
    """
    name = osp.basename(cached_file)
    return (
        f'{url}: pretrained weights not available: {cached_file} does not '
        f'exist and downloading it failed ({reason}). MMEngine reads this '
        'URL from the torch hub cache ($TORCH_HOME/hub/checkpoints/<file '
        f'name>, here {osp.dirname(cached_file)}). Without a network, copy '
        f'{name} there, or pass a local file instead of the URL '
        '(--cfg-options model.backbone.init_cfg.checkpoint=/path/to/'
        f'{name} for a classifier, load_from=/path/to/{name} for a '
        'detector), or train from scratch (--cfg-options '
        f'model.backbone.init_cfg=None, or load_from=None); see '
        f'{DOCS_PAGE}.')


def download_to_cache(url: str,
                      cached_file: str,
                      progress: bool = False,
                      timeout: float = DOWNLOAD_TIMEOUT) -> None:
    """Download a URL into the hub cache, or fail at once with a message.

    :func:`torch.hub.download_url_to_file` writes a temporary file and
    moves it into place when complete, so a failed download leaves no
    partial file behind.

    Args:
        url (str): The URL.
        cached_file (str): Its path in the cache.
        progress (bool): Show a progress bar. Defaults to False.
        timeout (float): Seconds each socket operation may take. Defaults
            to :data:`DOWNLOAD_TIMEOUT`.

    Raises:
        PretrainedWeightsUnavailable: If the download fails (no network,
            a refused or timed-out connection, an HTTP error).
    """
    print_log(f'Downloading {url} to {cached_file}', logger='current')
    try:
        os.makedirs(osp.dirname(cached_file), exist_ok=True)
        with socket_timeout(timeout):
            torch.hub.download_url_to_file(
                url, cached_file, hash_prefix=None, progress=progress)
    except (urllib.error.URLError, HTTPException, OSError) as exc:
        reason = getattr(exc, 'reason', None) or exc
        if isinstance(exc, (socket.timeout, TimeoutError)) or isinstance(
                reason, (socket.timeout, TimeoutError)):
            reason = f'no answer within {timeout:g} s'
        raise PretrainedWeightsUnavailable(
            unavailable_message(url, cached_file,
                                f'{type(exc).__name__}: {reason}')) from None


@CheckpointLoader.register_scheme(
    prefixes=('http://', 'https://'), force=True)
def load_from_http_cached(filename: str,
                          map_location: Any = None,
                          model_dir: Optional[str] = None,
                          progress: bool = os.isatty(0)) -> Dict[str, Any]:
    """MMEngine's loader for ``http(s)://`` checkpoints, made safe.

    Reads ``<torch hub dir>/checkpoints/<file name>`` with the safe loader
    (:func:`radplugins.utils.read_checkpoint`); when the file is not there,
    downloads it first (in a distributed run, rank 0 first, then any rank
    that still lacks it, e.g. on another machine) and stops with a
    :class:`PretrainedWeightsUnavailable` if that fails.

    Args:
        filename (str): The URL.
        map_location (Any): As :func:`torch.load`.
        model_dir (str, optional): The cache folder. Defaults to the torch
            hub's.
        progress (bool): Show a progress bar while downloading. Defaults
            to whether stdin is a terminal, as MMEngine's.

    Returns:
        dict: The checkpoint.

    Raises:
        PretrainedWeightsUnavailable: If the file is not cached and cannot
            be downloaded.
        CheckpointError: If the cached file is damaged or untrusted (the
            message names it).
    """
    cached_file = hub_cache_path(filename, model_dir)
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(cached_file):
        download_to_cache(filename, cached_file, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0 and not osp.isfile(cached_file):
            download_to_cache(filename, cached_file, progress)
    print_log(f'{filename}: reading {cached_file}', logger='current')
    return read_checkpoint(cached_file, map_location)
