"""Run a pipeline's deterministic steps once per image and keep the result."""
import copy
import random
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.registry import TRANSFORMS

_MB = 1 << 20


def _same(a: Any, b: Any) -> bool:
    """Whether two result values are equal, arrays element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in 'fc'))
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
                and a.dtype == b.dtype and a.shape == b.shape
                and bool(torch.equal(a, b)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _rng_states() -> tuple:
    """The states of the generators a transform may draw from."""
    np_state = np.random.get_state()
    return (np_state[0], np_state[1].tobytes(), np_state[2:],
            random.getstate(), torch.random.get_rng_state().numpy().tobytes())


class _GrayImage:
    """A ``(H, W, C)`` array whose channels are equal, stored as one."""

    def __init__(self, channel: np.ndarray, channels: int) -> None:
        self.channel = channel
        self.channels = channels

    def restore(self) -> np.ndarray:
        return np.repeat(self.channel[..., None], self.channels, axis=2)


def _pack(value: Any) -> Any:
    """Store a radiograph replicated to several channels as one channel."""
    if isinstance(value, np.ndarray) and value.ndim == 3 and \
            value.shape[2] > 1 and all(
                np.array_equal(value[..., 0], value[..., c])
                for c in range(1, value.shape[2])):
        return _GrayImage(np.ascontiguousarray(value[..., 0]), value.shape[2])
    return copy.deepcopy(value)


def _unpack(value: Any) -> Any:
    if isinstance(value, _GrayImage):
        return value.restore()
    return copy.deepcopy(value)


def _nbytes(value: Any) -> int:
    if isinstance(value, _GrayImage):
        return value.channel.nbytes
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


@TRANSFORMS.register_module()
class CachedTransforms(BaseTransform):
    """Run deterministic transforms once per image and reuse their output.

    Decoding a radiograph, normalising its exposure and resizing it give
    the same result every epoch, and on a CPU they cost about as much as a
    training step. Wrapped in this transform, they run once per image per
    data-loader worker; later epochs take a copy of the kept result, so the
    random steps after it (flips, crops) see exactly the arrays they would
    have seen without the cache, and training is unchanged bit for bit.

    Every process keeps its own cache (use ``persistent_workers=True``, or
    the workers' caches die with them after each epoch), at most
    ``max_mb`` megabytes of arrays; images past the budget are simply not
    kept. An image whose channels are all equal (a grayscale radiograph
    replicated to three channels) is kept as one channel, so a 224-px
    float32 image takes 196 KiB.

    Only transforms whose output depends on the input alone may be wrapped.
    On the first image of each process the transforms are run twice and
    their outputs compared, and the random generators (NumPy, ``random``,
    torch) are compared before and after: a transform that draws random
    numbers or gives two different outputs is refused with an error.

    Args:
        transforms (list[dict | callable]): The deterministic transforms.
        keys (Sequence[str]): Result keys whose values identify an image.
            Defaults to ``('img_path',)``.
        max_mb (float): Cache budget per process, in megabytes.
            Defaults to 1024.
    """

    def __init__(self,
                 transforms: List[Any],
                 keys: Sequence[str] = ('img_path', ),
                 max_mb: float = 1024.0) -> None:
        if not transforms:
            raise ValueError('CachedTransforms needs at least one transform')
        if isinstance(keys, str) or not keys:
            raise ValueError(
                f'keys must be a non-empty sequence of names, got {keys!r}')
        if not max_mb >= 0:
            raise ValueError(f'max_mb must be >= 0, got {max_mb!r}')
        self.transforms = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])
        self.keys = tuple(keys)
        self.max_mb = max_mb
        self._cache: Dict[Tuple, Tuple[dict, List[str]]] = {}
        self._cached_bytes = 0
        self._checked = False

    @property
    def cached_bytes(self) -> int:
        """Bytes of arrays kept by this process."""
        return self._cached_bytes

    def __len__(self) -> int:
        return len(self._cache)

    def _key(self, results: dict) -> Tuple:
        missing = [k for k in self.keys if k not in results]
        if missing:
            raise KeyError(f'CachedTransforms: the result has no {missing} '
                           f'to identify the image by (keys={self.keys})')
        return tuple(repr(results[k]) for k in self.keys)

    def _run_checked(self, results: dict) -> Optional[dict]:
        """Run the transforms twice on the first image, refusing chance."""
        before = _rng_states()
        out = self.transforms(copy.deepcopy(results))
        if not _same(before, _rng_states()):
            raise ValueError(
                f'CachedTransforms: {self.transforms!r} draws random '
                'numbers, so caching its output would change the data; '
                'keep random transforms outside CachedTransforms')
        again = self.transforms(copy.deepcopy(results))
        if (out is None) != (again is None) or (out is not None
                                                and not _same(out, again)):
            raise ValueError(
                f'CachedTransforms: {self.transforms!r} gave two different '
                f'results for {self._key(results)}; only deterministic '
                'transforms can be cached')
        self._checked = True
        return out

    def transform(self, results: dict) -> Optional[dict]:
        """Return the wrapped transforms' output, from the cache if kept.

        Args:
            results (dict): The result dict.

        Returns:
            dict | None: The transformed dict (None where a wrapped
            transform drops the sample).
        """
        key = self._key(results)
        hit = self._cache.get(key)
        if hit is not None:
            changed, removed = hit
            out = {k: v for k, v in results.items() if k not in removed}
            out.update((k, _unpack(v)) for k, v in changed.items())
            return out
        if self._checked:
            out = self.transforms(copy.deepcopy(results))
        else:
            out = self._run_checked(results)
        if out is None:
            return None
        changed = {
            k: _pack(v)
            for k, v in out.items()
            if k not in results or not _same(results[k], v)
        }
        size = _nbytes(changed)
        if self._cached_bytes + size <= self.max_mb * _MB:
            self._cache[key] = (changed, [k for k in results if k not in out])
            self._cached_bytes += size
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms!r}, '
                f'keys={self.keys}, max_mb={self.max_mb})')
