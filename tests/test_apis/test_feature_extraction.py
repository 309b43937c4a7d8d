"""Streamed, cached feature extraction on a MURA-layout fixture."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from radplugins.apis import (build_split_loader, cache_path,
                             feature_cache_key, fit_body_parts,
                             group_by_body_part, init_model,
                             load_or_extract_features)
from radplugins.utils import set_data_root
from tests.helpers import write_mura_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')


def tiny_cfg(data_root):
    cfg = Config.fromfile(CONFIG)
    set_data_root(cfg, data_root)
    return cfg


def save_checkpoint(model, path, scale=1.0):
    state = {k: v * scale if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    torch.save({'state_dict': state}, path)
    return str(path)


@pytest.fixture
def setup(mura_root, tmp_path):
    cfg = tiny_cfg(mura_root)
    model = init_model(cfg, None)
    ckpt = save_checkpoint(model, tmp_path / 'a.pth')
    return cfg, init_model(cfg, ckpt), ckpt


def extract(cfg, model, ckpt, split, cache_dir, log=None):
    loader = build_split_loader(cfg, split, batch_size=3, num_workers=0)
    key = feature_cache_key(cfg, split, ckpt, loader.dataset)
    return load_or_extract_features(
        model, loader, cache_path(cache_dir, split, key), key,
        progress=False, log=log or (lambda msg: None))


def test_split_per_body_part(setup, mura_root, tmp_path):
    cfg, model, ckpt = setup
    expected = write_mura_fixture(str(tmp_path / 'again'))  # same layout
    for split, counts in (('train', {'XR_WRIST': 3, 'XR_HAND': 3,
                                     'XR_ELBOW': 2}),
                          ('valid', {'XR_WRIST': 2, 'XR_HAND': 1})):
        feats = extract(cfg, model, ckpt, split, str(tmp_path / 'cache'))
        assert feats['features'].shape == (sum(counts.values()), 512)
        assert feats['features'].dtype == np.float32
        assert np.isfinite(feats['features']).all()
        groups = group_by_body_part(feats['body_parts'])
        assert {k: v.size for k, v in groups.items()} == counts
        # Every row belongs to its own image: path, part, study and label
        # agree with the CSV the fixture wrote, in CSV order.
        rel = [osp.relpath(p, mura_root) for p in feats['img_paths']]
        assert rel == expected[split]
        for path, part, study, label in zip(rel, feats['body_parts'],
                                            feats['study_ids'],
                                            feats['labels']):
            assert path.split('/')[2] == part
            assert path.startswith(f'MURA-v1.1/{study}/')
            assert label == int(study.endswith('_positive'))


def test_body_part_errors(setup, tmp_path):
    cfg, model, ckpt = setup
    train = extract(cfg, model, ckpt, 'train', str(tmp_path))
    valid = extract(cfg, model, ckpt, 'valid', str(tmp_path))
    messages = []
    # XR_ELBOW has no valid images: skipped with a message. XR_HAND's
    # training images are all positive: an error naming it.
    with pytest.raises(ValueError, match='body part XR_HAND: all 3 training'
                       ' images are of class 1'):
        fit_body_parts(train, valid, log=messages.append, n_jobs=1)
    assert messages == [
        'skipping body part XR_ELBOW: 2 training and 0 test images'
    ]
    result = fit_body_parts(
        train, valid, body_parts=['XR_ELBOW', 'XR_WRIST'],
        log=messages.append, n_jobs=1)
    assert [r['body_part'] for r in result['rows']] == ['XR_WRIST', 'ALL']
    assert result['skipped'] == {'XR_ELBOW': '2 training and 0 test images'}
    assert result['rows'][0]['num_train'] == 3
    assert result['rows'][0]['num_test'] == 2


def test_cache_reused_and_invalidated(setup, mura_root, tmp_path,
                                      monkeypatch):
    cfg, model, ckpt = setup
    calls = []
    extract_feat = model.extract_feat
    monkeypatch.setattr(model, 'extract_feat',
                        lambda x: calls.append(len(x)) or extract_feat(x))
    cache = str(tmp_path / 'cache')
    log = []
    first = extract(cfg, model, ckpt, 'valid', cache, log.append)
    assert sum(calls) == 3 and log[-1].startswith('features: extracting')

    second = extract(cfg, model, ckpt, 'valid', cache, log.append)
    assert sum(calls) == 3, 'the cached features were not reused'
    assert log[-1].startswith('features: reusing')
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])

    # New weights in the same file: the checkpoint's bytes key the cache.
    save_checkpoint(model, ckpt, scale=0.5)
    model2 = init_model(cfg, ckpt)
    monkeypatch.setattr(model2, 'extract_feat',
                        lambda x: calls.append(len(x)) or extract_feat(x))
    extract(cfg, model2, ckpt, 'valid', cache, log.append)
    assert sum(calls) == 6 and log[-1].startswith('features: extracting')

    # A changed image invalidates it too.
    path = osp.join(mura_root, 'MURA-v1.1/valid/XR_HAND/patient00011/'
                    'study1_negative/image1.png')
    with open(path, 'ab') as f:
        f.write(b'\0')
    extract(cfg, model2, ckpt, 'valid', cache, log.append)
    assert sum(calls) == 9 and log[-1].startswith('features: extracting')
