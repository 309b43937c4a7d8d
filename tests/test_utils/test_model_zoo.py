"""Model-zoo URLs: read from the torch hub cache with the safe loader,
downloaded with a time limit, or a clear error offline. No test touches
the network: sockets are blocked and the download is replaced."""
import os.path as osp
import socket
import urllib.error

import pytest
import torch
import torch.hub
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from radplugins.utils import (CheckpointError, PretrainedWeightsUnavailable,
                              hub_cache_path, load_from_http_cached,
                              read_checkpoint)
from radplugins.utils.model_zoo import DOWNLOAD_TIMEOUT
from tests.helpers import block_network

URL = ('https://download.openmmlab.com/mmclassification/v0/vgg/'
       'vgg19_batch256_imagenet_20210208-e6920e4a.pth')
NAME = 'vgg19_batch256_imagenet_20210208-e6920e4a.pth'


class Unlisted:
    """A class torch's safe loader does not know."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    Unlisted.ran = True
    return Unlisted()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    monkeypatch.setattr(torch.hub, '_hub_dir', None)
    return home


@pytest.fixture
def network(monkeypatch):
    # Direct connections only, so the attempt names the model zoo's host.
    for name in ('http_proxy', 'https_proxy', 'all_proxy'):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return block_network(monkeypatch)


def no_download(*args, **kwargs):
    raise AssertionError(f'a download was attempted: {args}')


def test_the_cache_path_is_torch_homes(torch_home, tmp_path):
    expected = str(torch_home / 'hub' / 'checkpoints' / NAME)
    assert hub_cache_path(URL) == expected
    assert hub_cache_path(URL + '?x=1') == expected
    assert hub_cache_path(URL, str(tmp_path)) == str(tmp_path / NAME)
    with pytest.raises(ValueError, match="'https://a.org/dir/' names no"):
        hub_cache_path('https://a.org/dir/')


def test_http_urls_go_through_the_safe_loader():
    for url in (URL, 'http://example.org/a.pth'):
        assert CheckpointLoader._get_checkpoint_loader(url) is \
            load_from_http_cached


def test_a_cached_file_is_read_without_a_download(torch_home, network,
                                                  monkeypatch):
    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_download)
    weights = {'backbone.w': torch.arange(6.0).reshape(2, 3)}
    path = torch_home / 'hub' / 'checkpoints' / NAME
    path.parent.mkdir(parents=True)
    torch.save(dict(state_dict=weights, meta=dict(epoch=100)), path)
    # As the runner (read_checkpoint) and PretrainedInit (MMEngine's
    # _load_checkpoint) read it.
    for checkpoint in (read_checkpoint(URL), _load_checkpoint(URL)):
        assert checkpoint['meta'] == dict(epoch=100)
        torch.testing.assert_close(checkpoint['state_dict']['backbone.w'],
                                   weights['backbone.w'])
    assert network == []


def test_a_cached_file_with_foreign_objects_is_refused_unrun(
        torch_home, network, monkeypatch):
    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_download)
    path = torch_home / 'hub' / 'checkpoints' / NAME
    path.parent.mkdir(parents=True)
    torch.save(dict(state_dict={}, meta=Unlisted()), path)
    Unlisted.ran = False
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(URL)
    # Named by the cached file, refused by the safe loader: nothing ran.
    assert str(err.value).startswith(
        f'{path}: not a trusted training checkpoint of this project')
    assert '_mark_ran' in str(err.value)
    assert not Unlisted.ran
    assert network == []


def expected_offline_message(cached, reason):
    return (
        f'{URL}: pretrained weights not available: {cached} does not exist '
        f'and downloading it failed ({reason}). MMEngine reads this URL from '
        'the torch hub cache ($TORCH_HOME/hub/checkpoints/<file name>, here '
        f'{osp.dirname(cached)}). Without a network, copy {NAME} there, or '
        'pass a local file instead of the URL (--cfg-options '
        f'model.backbone.init_cfg.checkpoint=/path/to/{NAME} for a '
        f'classifier, load_from=/path/to/{NAME} for a detector), or train '
        'from scratch (--cfg-options model.backbone.init_cfg=None, or '
        'load_from=None); see docs/pretrained_weights.md.')


def test_offline_a_missing_file_is_one_clear_error(torch_home, network):
    """The real download code runs; the blocked network fails it at once."""
    cached = str(torch_home / 'hub' / 'checkpoints' / NAME)
    with pytest.raises(PretrainedWeightsUnavailable) as err:
        read_checkpoint(URL)
    reason = ('URLError: [Errno -2] network disabled in tests: '
              'download.openmmlab.com')
    assert str(err.value) == expected_offline_message(cached, reason)
    assert isinstance(err.value, CheckpointError)  # the tools' one-line exit
    # It tried (one name lookup), and left nothing in the cache.
    assert network == [('download.openmmlab.com', )]
    assert not osp.exists(cached)
    assert not [p for p in (torch_home / 'hub' / 'checkpoints').iterdir()]
    # MMEngine's own entry point (PretrainedInit) gets the same error.
    with pytest.raises(PretrainedWeightsUnavailable, match='does not exist'):
        _load_checkpoint(URL)


def test_a_stalled_network_times_out(torch_home, network, monkeypatch):
    seen = []

    def stalled(request, *args, **kwargs):
        seen.append((request.full_url, socket.getdefaulttimeout()))
        raise urllib.error.URLError(socket.timeout('timed out'))

    monkeypatch.setattr(torch.hub, 'urlopen', stalled)
    assert socket.getdefaulttimeout() is None
    with pytest.raises(PretrainedWeightsUnavailable) as err:
        read_checkpoint(URL)
    assert seen == [(URL, DOWNLOAD_TIMEOUT)]
    assert socket.getdefaulttimeout() is None  # restored
    cached = str(torch_home / 'hub' / 'checkpoints' / NAME)
    assert str(err.value) == expected_offline_message(
        cached, 'URLError: no answer within 30 s')
    assert network == []


def test_a_download_lands_in_the_cache_once(torch_home, network,
                                            monkeypatch):
    weights = {'backbone.w': torch.randn(4, 2)}
    calls = []

    def download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, socket.getdefaulttimeout()))
        torch.save(dict(state_dict=weights), dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    cached = str(torch_home / 'hub' / 'checkpoints' / NAME)
    for _ in range(2):
        checkpoint = read_checkpoint(URL)
        torch.testing.assert_close(checkpoint['state_dict']['backbone.w'],
                                   weights['backbone.w'])
    assert calls == [(URL, cached, DOWNLOAD_TIMEOUT)]
    assert network == []
