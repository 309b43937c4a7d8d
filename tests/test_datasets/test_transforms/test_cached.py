"""CachedTransforms: the same results as the transforms it wraps, from the
second call on without running them; chance and budgets respected."""
import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmpretrain.registry import TRANSFORMS

PREFIX = [
    dict(type='LoadRadiograph', channels=3),
    dict(type='RescaleIntensity', percentiles=(1.0, 99.0)),
    dict(type='LetterboxResize', scale=64),
]


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, shape in enumerate([(120, 90), (80, 150), (100, 100)]):
        path = str(tmp_path / f'image{i}.png')
        cv2.imwrite(path, rng.integers(0, 256, shape, dtype=np.uint8))
        paths.append(path)
    return paths


def info(path, label=1):
    return dict(img_path=path, gt_label=label, sample_idx=0)


def assert_same_results(out, expected):
    assert out.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            assert out[key].dtype == value.dtype, key
            np.testing.assert_array_equal(out[key], value, err_msg=key)
        else:
            assert out[key] == value, key


def test_matches_the_wrapped_transforms_on_every_call(images, monkeypatch):
    cached = TRANSFORMS.build(dict(type='CachedTransforms', transforms=PREFIX))
    reference = Compose([TRANSFORMS.build(t) for t in PREFIX])
    expected = [reference(info(p)) for p in images]
    for _ in range(3):
        for path, exp in zip(images, expected):
            assert_same_results(cached(info(path)), exp)
    assert len(cached) == 3
    # From now on nothing is decoded: the kept results are returned.
    monkeypatch.setattr(cv2, 'imdecode', None)
    for path, exp in zip(images, expected):
        assert_same_results(cached(info(path)), exp)


def test_gray_images_kept_as_one_channel(images):
    cached = TRANSFORMS.build(dict(type='CachedTransforms', transforms=PREFIX))
    out = cached(info(images[0]))
    assert out['img'].shape == (64, 64, 3)
    # 64 x 64 float32 values, once, plus small arrays of shapes at most.
    assert 64 * 64 * 4 <= cached.cached_bytes < 64 * 64 * 4 + 1024


def test_returned_results_are_copies(images):
    cached = TRANSFORMS.build(dict(type='CachedTransforms', transforms=PREFIX))
    first = cached(info(images[0]))
    expected = first['img'].copy()
    first['img'][:] = -1
    second = cached(info(images[0]))
    second['img'][:] = -2
    np.testing.assert_array_equal(cached(info(images[0]))['img'], expected)


def test_input_keys_not_touched_by_the_transforms_come_from_the_input(images):
    cached = TRANSFORMS.build(dict(type='CachedTransforms', transforms=PREFIX))
    cached(info(images[0], label=1))
    assert cached(info(images[0], label=0))['gt_label'] == 0


def test_budget_limits_what_is_kept(images):
    cached = TRANSFORMS.build(
        dict(type='CachedTransforms', transforms=PREFIX, max_mb=0))
    reference = Compose([TRANSFORMS.build(t) for t in PREFIX])
    for path in images * 2:
        assert_same_results(cached(info(path)), reference(info(path)))
    assert len(cached) == 0 and cached.cached_bytes == 0
    budget = 1.5 * 64 * 64 * 4 / (1 << 20)
    cached = TRANSFORMS.build(
        dict(type='CachedTransforms', transforms=PREFIX, max_mb=budget))
    for path in images:
        cached(info(path))
    assert len(cached) == 1


def test_random_transforms_are_refused(images):
    # RescaleIntensity draws its jitter even with prob=0: refused although
    # its output does not change.
    for transform in [
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='RescaleIntensity', exposure_range=(0.5, 2.0), prob=0.0),
    ]:
        cached = TRANSFORMS.build(
            dict(type='CachedTransforms', transforms=PREFIX + [transform]))
        with pytest.raises(ValueError, match='draws random numbers'):
            cached(info(images[0]))


def test_changing_output_is_refused(images):
    calls = []

    def counter(results):
        calls.append(1)
        results['calls'] = len(calls)
        return results

    cached = TRANSFORMS.build(
        dict(type='CachedTransforms', transforms=PREFIX[:1] + [counter]))
    with pytest.raises(ValueError, match='two different results'):
        cached(info(images[0]))


def test_missing_key_and_bad_arguments(images):
    cached = TRANSFORMS.build(dict(type='CachedTransforms', transforms=PREFIX))
    with pytest.raises(KeyError, match='img_path'):
        cached(dict(gt_label=1))
    with pytest.raises(ValueError, match='at least one'):
        TRANSFORMS.build(dict(type='CachedTransforms', transforms=[]))
    with pytest.raises(ValueError, match="got 'img_path'"):
        TRANSFORMS.build(
            dict(type='CachedTransforms', transforms=PREFIX, keys='img_path'))
    with pytest.raises(ValueError, match='max_mb must be >= 0, got -1'):
        TRANSFORMS.build(
            dict(type='CachedTransforms', transforms=PREFIX, max_mb=-1))
