"""Inference on disc-volume files (SpineNet models), no runner.

A volume goes through the config's test pipeline, as in ``tools/test.py``:
zero-padding to nine slices and, when both vertebral-body boxes are given,
the per-slice intensity normalisation the model was trained with; then the
model's data preprocessor and ``predict``. Boxes come from a dataset CSV
(the ``SpineDiscDataset`` format) or are passed directly. Typical use::

    from radplugins.apis import (build_disc_pipeline, inference_disc_volume,
                                 init_model, read_body_boxes)
    model = init_model('configs/spine/spinenet_...py', 'epoch_20.pth')
    pipeline = build_disc_pipeline(model.cfg)
    boxes = read_body_boxes('data/synthetic_spine/discs.csv')
    path = 'data/synthetic_spine/volumes/patient00190_L4-L5.npy'
    sample, volume = inference_disc_volume(model, pipeline, path,
                                           boxes.get(disc_key(path)))
    record = disc_prediction_to_dict(sample, model.tasks)

Grades in results are written as in the dataset CSV (Pfirrmann 1-5,
narrowing 0-3, the others 0/1), not as the model's class indices.
"""
import csv
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmpretrain.registry import TRANSFORMS

from ..datasets.spine import parse_box
from ..datasets.spine_tasks import first_grade
from .inference import config_test_pipeline

Box = Optional[List[float]]
BodyBoxes = Tuple[Box, Box]


def disc_key(path: str) -> str:
    """The key :func:`read_body_boxes` files a volume under."""
    return osp.realpath(path)


def read_body_boxes(csv_path: str) -> Dict[str, BodyBoxes]:
    """Upper and lower vertebral-body boxes of every volume in a CSV.

    Args:
        csv_path (str): A ``SpineDiscDataset`` CSV (``volume`` relative to
            the CSV's folder, ``upper_body`` and ``lower_body`` as
            ``'x1 y1 x2 y2'``; a blank cell is no box).

    Returns:
        dict: :func:`disc_key` of the volume -> ``(upper, lower)``.

    Raises:
        FileNotFoundError: If the CSV does not exist.
        ValueError: On a missing column or a malformed box (naming the
            file and line), or a volume listed twice with different boxes.
    """
    if not osp.isfile(csv_path):
        raise FileNotFoundError(f'{csv_path}: disc CSV not found')
    root = osp.dirname(osp.abspath(csv_path))
    boxes: Dict[str, BodyBoxes] = {}
    with open(csv_path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        missing = [
            c for c in ('volume', 'upper_body', 'lower_body')
            if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise ValueError(f'{csv_path}: missing columns {missing}')
        for line, row in enumerate(reader, start=2):
            where = f'{csv_path}:{line}'
            key = disc_key(osp.join(root, row['volume'].strip()))
            pair = (parse_box(row['upper_body'], where),
                    parse_box(row['lower_body'], where))
            if boxes.setdefault(key, pair) != pair:
                raise ValueError(f'{where}: volume {row["volume"]!r} listed '
                                 'again with different body boxes')
    return boxes


def body_boxes_of(path: str,
                  boxes: Dict[str, BodyBoxes],
                  csv_path: Optional[str] = None) -> BodyBoxes:
    """The body boxes of the volume ``path``.

    Args:
        path (str): Volume file.
        boxes (dict): From :func:`read_body_boxes` of ``csv_path``.
        csv_path (str, optional): The CSV ``boxes`` came from; None means
            there is none and every volume is ``(None, None)``.

    Raises:
        LookupError: If ``csv_path`` is given and does not list ``path``.
    """
    if csv_path is None:
        return None, None
    key = disc_key(path)
    if key not in boxes:
        raise LookupError(f'not listed in {csv_path}')
    return boxes[key]


def build_disc_pipeline(cfg: Config,
                        pipeline: Optional[Sequence[dict]] = None
                        ) -> Compose:
    """The config's test pipeline for disc volumes, loading included.

    Args:
        cfg (Config): Config with ``test_dataloader.dataset.pipeline``.
        pipeline (Sequence[dict], optional): Use this pipeline instead.

    Returns:
        Compose: Takes ``dict(img_path=..., upper_body=..., lower_body=...)``.
    """
    return Compose([
        TRANSFORMS.build(step) if isinstance(step, dict) else step
        for step in config_test_pipeline(cfg, pipeline)
    ])


def inference_disc_volume(model: torch.nn.Module,
                          pipeline: Compose,
                          path: str,
                          body_boxes: Optional[BodyBoxes] = None
                          ) -> Tuple[object, np.ndarray]:
    """One disc volume file through the pipeline and the model.

    Args:
        model (torch.nn.Module): A SpineNet model from
            :func:`~radplugins.apis.init_model` (eval mode); with
            ``hotspot_cfg['enabled']`` the sample also holds hotspots.
        pipeline (Compose): From :func:`build_disc_pipeline`.
        path (str): ``.npy``/``.npz`` volume ``(S, 112, 224)``.
        body_boxes (tuple, optional): ``(upper, lower)`` vertebral-body
            boxes; without both the intensity normalisation is skipped and
            the volume is used as stored.

    Returns:
        tuple: ``(DataSample, volume)``, the volume ``(9, 112, 224)`` as the
        network received it before the data preprocessor.
    """
    upper, lower = body_boxes if body_boxes is not None else (None, None)
    data = pipeline(dict(img_path=path, upper_body=upper, lower_body=lower))
    if data is None:
        raise ValueError(f'{path}: the pipeline dropped the volume')
    volume = data['inputs'].numpy().astype(np.float32)
    # Hotspots need gradients with respect to the input; the model turns
    # them on itself where it needs them, so no_grad is safe here.
    with torch.no_grad():
        sample = model.test_step(pseudo_collate([data]))[0]
    return sample, volume


def disc_prediction_to_dict(sample, tasks: Sequence[str]) -> dict:
    """A disc's predictions as JSON-ready grades, as a spine CSV writes them.

    The model's class index ``c`` of a task is the grade
    ``c + first_grade(task)`` of ``discs.csv`` (Pfirrmann 1-5, narrowing
    0-3, the endplate and marrow tasks 0/1), so a result reads like the
    labels a user wrote.

    Args:
        sample (DataSample): From :func:`inference_disc_volume`, with
            ``task_preds`` (``(T,)`` class indices) and ``task_scores``
            (``{task: (K_t,) probabilities}``).
        tasks (Sequence[str]): The model's task names, in its order.

    Returns:
        dict: ``predictions`` (``{task: grade}``) and ``probabilities``
        (``{task: {str(grade): probability}}``, rounded to 4 places).

    Raises:
        ValueError: If a probability is NaN or infinite (it would not be
            valid JSON, nor a result).
    """
    predictions, probabilities = {}, {}
    for i, task in enumerate(tasks):
        scores = sample.task_scores[task].detach().cpu().double().numpy()
        if not np.isfinite(scores).all():
            raise ValueError(f'non-finite {task} probabilities '
                             f'{[round(float(p), 4) for p in scores]}')
        first = first_grade(task)
        predictions[task] = int(sample.task_preds[i]) + first
        probabilities[task] = {
            str(c + first): round(float(p), 4)
            for c, p in enumerate(scores)
        }
    return dict(predictions=predictions, probabilities=probabilities)
