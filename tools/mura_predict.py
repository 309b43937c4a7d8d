"""Predict MURA studies in the challenge's submission format.

The MURA challenge runs ``predict INPUT_CSV OUTPUT_CSV``: the input is a
header-less CSV with one image path a row (like ``valid_image_paths.csv``),
the output one line per study, ``study_path,label`` with ``label`` 0
(normal) or 1 (abnormal), studies in the order of their first image in the
input. A study is the folder that holds its images.

Views are aggregated as :class:`MuraKappa` does at study level: the mean of
the views' positive probabilities, abnormal when strictly greater than the
threshold (the config's ``test_evaluator`` MuraKappa threshold, 0.5 by
default). Study models (multi-view fusion, one sample per study) score
each study once. Images go through the config's test pipeline in batches
of its test batch size, so the labels are those ``tools/test.py`` gives the
same checkpoint.

Relative paths are resolved against ``--data-root`` (default: the current
folder, which holds ``MURA-v1.1/`` when the challenge runs it) and written
back as given. An image that does not exist or cannot be decoded stops the
run with its path and CSV row; nothing is written then.

The output may not replace anything the run reads: an OUTPUT_CSV that is
the input CSV, the config or the checkpoint, or that lies inside the
dataset's folder (``MURA-v1.1/`` of the listed images; the study folder of
an image outside one) is refused before anything runs, as is an existing
folder (``radplugins.utils.check_output``).

Examples::

    python tools/mura_predict.py MURA-v1.1/valid_image_paths.csv preds.csv \\
        --config configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py \\
        --checkpoint work_dirs/demo/baseline/epoch_8.pth

``--amp`` runs the network in bfloat16 on a CPU with bfloat16
instructions (float16 on a GPU; float32, said once, where neither); the
probabilities are averaged and thresholded in float32.
"""
import argparse
import csv
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose, pseudo_collate

import radplugins  # noqa: F401  registers the plugin
from radplugins.apis import init_model, positive_class_index
from radplugins.datasets.mura import MURA_FOLDER
from radplugins.evaluation.metrics import MuraKappa
from radplugins.utils import (add_precision_args, amp_inference,
                              check_output, to_channels_last)

STUDY_LOADERS = ('LoadStudyViews', )


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write MURA study predictions (study_path,label) for a '
        'header-less CSV of image paths')
    parser.add_argument('input_csv', help='header-less CSV, one image path '
                        'a row (like valid_image_paths.csv)')
    parser.add_argument(
        'output_csv',
        help='where to write study_path,label (not an input, nor inside '
        'the dataset\'s folder)')
    parser.add_argument('--config', required=True, help='config file')
    parser.add_argument('--checkpoint', required=True, help='checkpoint')
    parser.add_argument(
        '--data-root',
        default='.',
        help='folder the relative image paths are relative to (default: the '
        'current folder)')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='e.g. cpu or cuda:0 (default: cuda:0 when available)')
    parser.add_argument(
        '--batch-size',
        type=int,
        help='images (or studies) a forward; default: the config\'s test '
        'batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.num_steps=2')
    add_precision_args(parser)
    return parser.parse_args(argv)


def read_image_list(csv_path: str) -> List[Tuple[int, str]]:
    """Read a header-less CSV of image paths.

    Args:
        csv_path (str): The input CSV.

    Returns:
        list[tuple[int, str]]: ``(row number, path)`` for every non-blank row.

    Raises:
        FileNotFoundError: If the CSV does not exist.
        ValueError: If a row has more than one field or the file lists no
            image.
    """
    if not osp.isfile(csv_path):
        raise FileNotFoundError(f'input CSV not found: {csv_path}')
    rows: List[Tuple[int, str]] = []
    with open(csv_path, newline='', encoding='utf-8-sig') as f:
        for row, fields in enumerate(csv.reader(f), start=1):
            fields = [x.strip() for x in fields]
            if not any(fields):
                continue
            if len(fields) != 1:
                raise ValueError(f'{csv_path}:{row}: expected one image path, '
                                 f'got {",".join(fields)!r}')
            rows.append((row, fields[0]))
    if not rows:
        raise ValueError(f'{csv_path}: no image paths')
    return rows


def study_of(image_path: str) -> str:
    """The study an image belongs to: its folder, with a trailing slash.

    Args:
        image_path (str): e.g. ``MURA-v1.1/valid/XR_WRIST/p1/study1/a.png``.

    Returns:
        str: e.g. ``MURA-v1.1/valid/XR_WRIST/p1/study1/``.
    """
    folder = osp.dirname(image_path.replace('\\', '/'))
    if not folder:
        raise ValueError(f'image path {image_path!r} has no study folder')
    return folder + '/'


def dataset_folders(rows: List[Tuple[int, str]],
                    data_root: str) -> List[str]:
    """The folders the listed images' dataset lives in, which the output
    may not lie inside.

    For an image whose path has a ``MURA-v1.1`` folder, that folder (with
    its CSVs: ``valid_labeled_studies.csv`` is the ground truth); for any
    other image, its study folder.

    Args:
        rows (list[tuple[int, str]]): From :func:`read_image_list`.
        data_root (str): Relative paths are joined to it.

    Returns:
        list[str]: Distinct folders, in order of first appearance.
    """
    folders: 'OrderedDict[str, None]' = OrderedDict()
    for _, path in rows:
        full = osp.normpath(path if osp.isabs(path) else osp.join(
            data_root, path))
        parts = full.split(osp.sep)
        if MURA_FOLDER in parts[:-1]:
            folder = osp.sep.join(parts[:parts.index(MURA_FOLDER) + 1])
        else:
            folder = osp.dirname(full)
        folders[folder or '.'] = None
    return list(folders)


def evaluator_threshold(cfg: Config) -> float:
    """The MuraKappa threshold of the config's test evaluator (0.5)."""
    evaluators = cfg.get('test_evaluator') or []
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    for evaluator in evaluators:
        if str(evaluator.get('type', '')).split('.')[-1] == 'MuraKappa':
            return float(evaluator.get('threshold', 0.5))
    return 0.5


def is_study_pipeline(pipeline: Sequence[dict]) -> bool:
    """Whether the test pipeline loads a whole study per sample."""
    return any(
        isinstance(step, dict)
        and str(step.get('type', '')).split('.')[-1] in STUDY_LOADERS
        for step in pipeline)


def study_num_views(pipeline: Sequence[dict]) -> Optional[int]:
    """``num_views`` of the study loading step, None for image pipelines."""
    for step in pipeline:
        if isinstance(step, dict) and str(step.get('type', '')).split(
                '.')[-1] in STUDY_LOADERS:
            return int(step.get('num_views', 6))
    return None


def build_samples(rows: List[Tuple[int, str]],
                  data_root: str,
                  per_study: bool,
                  num_views: Optional[int] = None) -> List[dict]:
    """The pipeline inputs: one per image, or one per study.

    A study with more than ``num_views`` views keeps its first
    ``num_views``, as :class:`MuraStudyDataset` does in test mode; how many
    studies were cut is printed on stderr.

    Args:
        rows (list[tuple[int, str]]): From :func:`read_image_list`.
        data_root (str): Relative paths are joined to it.
        per_study (bool): Group the images of a study into one sample.
        num_views (int, optional): Most views a study sample holds.

    Returns:
        list[dict]: Pipeline inputs with ``study_id`` (the study path as in
        the input) and the CSV ``rows`` they come from.

    Raises:
        FileNotFoundError: If an image does not exist (path and row named).
    """
    samples: 'OrderedDict[str, dict]' = OrderedDict()
    images = []
    for row, path in rows:
        full = path if osp.isabs(path) else osp.join(data_root, path)
        if not osp.isfile(full):
            raise FileNotFoundError(f'image not found: {full} (input row '
                                    f'{row})')
        study = study_of(path)
        if per_study:
            sample = samples.setdefault(
                study, dict(img_paths=[], study_id=study, rows=[]))
            sample['img_paths'].append(full)
            sample['rows'].append(row)
        else:
            images.append(dict(img_path=full, study_id=study, rows=[row]))
    out = list(samples.values()) if per_study else images
    if per_study and num_views:
        cut = [s for s in out if len(s['img_paths']) > num_views]
        for sample in cut:
            sample['img_paths'] = sample['img_paths'][:num_views]
        if cut:
            print(f'{len(cut)} of {len(out)} studies have more than '
                  f'{num_views} views; each is given its first {num_views}',
                  file=sys.stderr)
    for idx, sample in enumerate(out):
        sample['sample_idx'] = idx
    return out


def predict_positive_probs(model: torch.nn.Module, pipeline: Compose,
                           samples: List[dict], batch_size: int,
                           positive: int) -> np.ndarray:
    """Run the samples through the pipeline and the model, in batches.

    Raises:
        SystemExit: If an image cannot be decoded, naming its path.
    """
    probs: List[float] = []
    for start in range(0, len(samples), batch_size):
        batch = []
        for sample in samples[start:start + batch_size]:
            inputs = {k: v for k, v in sample.items() if k != 'rows'}
            inputs['img_paths'] = list(inputs.get('img_paths', []))
            if not inputs['img_paths']:
                inputs.pop('img_paths')
            try:
                data = pipeline(inputs)
            except (OSError, ValueError) as exc:
                paths = sample.get('img_paths') or [sample['img_path']]
                raise SystemExit(
                    f'cannot read {", ".join(paths)} (input row(s) '
                    f'{", ".join(map(str, sample["rows"]))}): {exc}') from exc
            if data is None:
                raise SystemExit(f'the test pipeline dropped '
                                 f'{sample.get("img_path", sample["study_id"])}')
            batch.append(data)
        with torch.no_grad():
            outputs = model.test_step(pseudo_collate(batch))
        for output in outputs:
            probs.append(float(output.pred_score[positive]))
    return np.asarray(probs, dtype=np.float64)


def predict_study_probs(model: torch.nn.Module,
                        rows: List[Tuple[int, str]],
                        data_root: str = '.',
                        batch_size: Optional[int] = None
                        ) -> Tuple[List[str], np.ndarray]:
    """Study probabilities of being abnormal for a list of image paths.

    Args:
        model (torch.nn.Module): From :func:`radplugins.apis.init_model`.
        rows (list[tuple[int, str]]): ``(row, image path)``.
        data_root (str): Relative paths are joined to it.
        batch_size (int, optional): Default: the config's test batch size.

    Returns:
        tuple[list[str], np.ndarray]: Study paths in order of first
        appearance and the mean positive probability of each one's views.
    """
    cfg = model.cfg
    steps = list(cfg.test_dataloader.dataset.pipeline)
    per_study = is_study_pipeline(steps)
    pipeline = Compose(steps)
    batch_size = batch_size or int(cfg.test_dataloader.get('batch_size', 1))
    if batch_size < 1:
        raise ValueError(f'batch size must be >= 1, got {batch_size}')
    positive = positive_class_index(model.dataset_meta.get('classes'))
    if positive is None:
        raise ValueError('the model has no positive class: classes '
                         f'{model.dataset_meta.get("classes")!r}')
    samples = build_samples(rows, data_root, per_study,
                            study_num_views(steps))
    probs = predict_positive_probs(model, pipeline, samples, batch_size,
                                   positive)
    # Labels are unknown here; the metric's aggregation only needs them to
    # check that views agree, so all views get the same placeholder.
    study_ids = [s['study_id'] for s in samples]
    ids, study_probs, _ = MuraKappa.aggregate_studies(
        study_ids, probs, np.zeros(len(study_ids), dtype=np.int64))
    return ids, study_probs


def predict_studies(model: torch.nn.Module,
                    rows: List[Tuple[int, str]],
                    data_root: str = '.',
                    batch_size: Optional[int] = None
                    ) -> List[Tuple[str, int]]:
    """Study labels for a list of image paths.

    Args:
        model (torch.nn.Module): From :func:`radplugins.apis.init_model`.
        rows (list[tuple[int, str]]): ``(row, image path)``.
        data_root (str): Relative paths are joined to it.
        batch_size (int, optional): Default: the config's test batch size.

    Returns:
        list[tuple[str, int]]: ``(study path, label)`` in order of first
        appearance; 1 when the study's probability is strictly greater than
        the metric's threshold.
    """
    ids, study_probs = predict_study_probs(model, rows, data_root,
                                           batch_size)
    threshold = evaluator_threshold(model.cfg)
    return [(sid, int(p > threshold)) for sid, p in zip(ids, study_probs)]


def write_predictions(path: str, predictions: List[Tuple[str, int]]) -> None:
    """Write ``study_path,label`` lines, without a header."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        for study, label in predictions:
            writer.writerow([study, label])
    os.replace(tmp, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        rows = read_image_list(args.input_csv)
        check_output(
            args.output_csv,
            [args.input_csv, args.config, args.checkpoint] +
            dataset_folders(rows, args.data_root),
            is_dir=False,
            label='OUTPUT_CSV')
    except (FileNotFoundError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        model = init_model(cfg, args.checkpoint, device=args.device)
        if args.channels_last:
            to_channels_last(model)
        with amp_inference(model, enabled=args.amp):
            predictions = predict_studies(model, rows, args.data_root,
                                          args.batch_size)
    except (FileNotFoundError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    except SystemExit as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    write_predictions(args.output_csv, predictions)
    positives = sum(label for _, label in predictions)
    print(f'{len(predictions)} studies ({positives} abnormal) from '
          f'{len(rows)} images -> {args.output_csv}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
