"""Decode every file of a dataset once and list all that fail."""
import copy
from typing import Callable, List, NamedTuple, Optional, Sequence

from mmengine.dataset import BaseDataset

# Pipeline steps that read a sample's file(s).
LOADING_TRANSFORMS = ('LoadRadiograph', 'LoadImageFromFile',
                      'LoadDiscVolume')
_VOLUME_EXTENSIONS = ('.npy', '.npz')
# Steps that run a pipeline of their own, and the attribute that holds it.
_INNER_PIPELINES = {
    'LoadStudyViews': 'view_pipeline',
    'CachedTransforms': 'transforms'
}


class BadSample(NamedTuple):
    """A file that did not load.

    Attributes:
        where (str): Its CSV row (``'file.csv:ROW'``), or ``'sample N'`` for
            a dataset that records none.
        path (str): The file.
        reason (str): The loading error, e.g. ``'OSError: ... truncated
            PNG (no IEND chunk)'``.
    """
    where: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f'{self.where}: {self.path}: {self.reason}'


def leaf_datasets(dataset) -> List[BaseDataset]:
    """The datasets inside wrappers (``ConcatDataset``, ``RepeatDataset``,
    ``ClassBalancedDataset``), or ``[dataset]``."""
    if hasattr(dataset, 'datasets'):
        return [d for inner in dataset.datasets for d in leaf_datasets(inner)]
    if hasattr(dataset, 'dataset') and not hasattr(dataset, 'data_list'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


def _type_name(step) -> str:
    return type(step).__name__


def find_loader(dataset: BaseDataset) -> Optional[Callable[[dict], dict]]:
    """The step of the dataset's pipeline that reads a sample's file: a
    :data:`LOADING_TRANSFORMS` step, or the one inside ``LoadStudyViews``'s
    view pipeline or a ``CachedTransforms``. None when the pipeline has
    none."""
    for step in getattr(dataset.pipeline, 'transforms', []):
        if _type_name(step) in LOADING_TRANSFORMS:
            return step
        inner_pipeline = _INNER_PIPELINES.get(_type_name(step))
        if inner_pipeline is not None:
            for inner in getattr(step, inner_pipeline).transforms:
                if _type_name(inner) in LOADING_TRANSFORMS:
                    return inner
    return None


def _default_loader(path: str) -> Callable[[dict], dict]:
    """A loader for a dataset whose pipeline has none."""
    from mmpretrain.registry import TRANSFORMS
    kind = 'LoadDiscVolume' if path.lower().endswith(_VOLUME_EXTENSIONS) \
        else 'LoadRadiograph'
    return TRANSFORMS.build(dict(type=kind))


def _files(info: dict, index: int) -> List[dict]:
    """One loader input per file of a sample: the whole sample for a
    single file (so checks against its annotations run too), one dict per
    view of a study."""
    if 'img_paths' in info:
        rows = info.get('csv_rows') or [None] * len(info['img_paths'])
        return [
            dict(img_path=path, csv_row=row or f'sample {index}')
            for path, row in zip(info['img_paths'], rows)
        ]
    info = dict(info)
    info.setdefault('csv_row', f'sample {index}')
    return [info]


def check_dataset(dataset,
                  progress: Optional[Callable[[int, int], None]] = None
                  ) -> List[BadSample]:
    """Run every sample's loading step once; list every file that fails.

    The loading step is the dataset pipeline's own (:func:`find_loader`),
    so a file is decoded exactly as in training, and a checked annotation
    (e.g. FracAtlas's image size) is checked too. Study samples
    (``img_paths``) have each view loaded. Nothing else of the pipeline
    runs (no augmentation).

    Args:
        dataset: A built dataset, possibly wrapped.
        progress (callable, optional): Called as ``progress(done, total)``
            after each sample.

    Returns:
        list[BadSample]: The failures, in dataset order.
    """
    leaves = leaf_datasets(dataset)
    total = sum(len(d) for d in leaves)
    done = 0
    bad: List[BadSample] = []
    for leaf in leaves:
        loader = find_loader(leaf)
        for index in range(len(leaf)):
            # The base class's copy of the sample: all of a study's views,
            # not the subset a study dataset draws for training.
            info = BaseDataset.get_data_info(leaf, index)
            for results in _files(info, index):
                step = loader or _default_loader(results['img_path'])
                where = str(results['csv_row'])
                try:
                    if step(copy.copy(results)) is None:
                        raise ValueError('the loading step dropped it')
                except Exception as exc:  # every failure is a finding
                    reason = str(exc)
                    path = str(results['img_path'])
                    # Errors name the file; the report names it once.
                    if reason.startswith(f'{path}: '):
                        reason = reason[len(path) + 2:]
                    # LoadDiscVolume appends the row the report names.
                    if reason.endswith(f' ({where})'):
                        reason = reason[:-len(where) - 3]
                    bad.append(BadSample(where, path,
                                         f'{type(exc).__name__}: {reason}'))
            done += 1
            if progress is not None:
                progress(done, total)
    return bad


def format_bad_samples(bad: Sequence[BadSample], name: str) -> str:
    """One message listing every bad file, one a line."""
    lines = '\n'.join(f'  {b}' for b in bad)
    return f'{name}: {len(bad)} file(s) cannot be loaded:\n{lines}'


__all__ = [
    'BadSample', 'LOADING_TRANSFORMS', 'check_dataset', 'find_loader',
    'format_bad_samples', 'leaf_datasets'
]
