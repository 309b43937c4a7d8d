"""Inference on image files: PNG/JPG and DICOM radiographs, no runner.

Typical use::

    from radplugins.apis import (build_inference_pipeline, inference_model,
                                 init_model, load_image_any)
    model = init_model('configs/mura/zoom_...py', 'epoch_8.pth', 'cpu')
    pipeline, channels = build_inference_pipeline(model.cfg)
    img = load_image_any('study1/image1.dcm', channels)
    sample = inference_model(model, pipeline, img)
    sample.pred_score, sample.zoom_boxes   # zoom models also give boxes
"""
import copy
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS, TRANSFORMS

# apply_window, is_dicom_file and read_dicom are this module's API too.
from ..datasets.transforms.dicom import (  # noqa: F401
    DICOM_EXTENSIONS, apply_window, dicom_to_channels, has_dicom_preamble,
    is_dicom_file, read_dicom)
from ..datasets.transforms.loading import (DEFAULT_MIN_SIZE,
                                           decode_radiograph, to_channels,
                                           warn_if_small)
from ..utils.checkpoint_loading import (CheckpointError,
                                        load_model_checkpoint)

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
# Steps that read ``img_path``; inference feeds the decoded array instead.
LOADING_TRANSFORMS = ('LoadRadiograph', 'LoadImageFromFile')


# ---------------------------------------------------------------------------
# reading files
def load_image_any(path: str,
                   channels: int = 3,
                   min_size: Optional[int] = DEFAULT_MIN_SIZE) -> np.ndarray:
    """Load a PNG/JPG/TIFF or DICOM radiograph with ``channels`` channels.

    DICOM is recognised by its extension (``.dcm``, ``.dicom``) or its
    ``DICM`` marker and read with :func:`read_dicom`; a file OpenCV cannot
    decode is also tried as DICOM before giving up. Ordinary images keep
    :class:`LoadRadiograph`'s conventions (8-bit stays uint8, 16-bit becomes
    float32 in [0, 255], alpha is composited over black). An image with a
    side under ``min_size`` pixels is loaded with a warning that names it
    and its size (:func:`warn_if_small`).

    Args:
        path (str): The file.
        channels (int): 1 (``(H, W)``) or 3 (``(H, W, 3)`` BGR).
        min_size (int, optional): Warn below this many pixels on a side;
            None never warns. Defaults to 32.

    Returns:
        np.ndarray: uint8 or float32 in [0, 255].

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        OSError: If the file is neither a decodable image nor DICOM.
    """
    if channels not in (1, 3):
        raise ValueError(f'channels must be 1 or 3, got {channels!r}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    if is_dicom_file(path):
        img = read_dicom(path)
    else:
        with open(path, 'rb') as f:
            content = f.read()
        try:
            img = to_channels(
                decode_radiograph(content, path), channels, path)
        except OSError as image_error:
            try:
                img = read_dicom(path)
            except (OSError, ValueError):
                raise OSError(f'{path}: neither an image OpenCV can decode '
                              f'nor a DICOM file ({image_error})') from None
        else:
            warn_if_small(img.shape[:2], path, min_size)
            return img
    warn_if_small(img.shape[:2], path, min_size)
    return dicom_to_channels(img, channels)


def list_image_files(inputs: Sequence[str]) -> List[str]:
    """Expand files and folders into the list of files to run on.

    A file named on the command line is always kept (an unreadable one must
    be reported, not skipped). Folders are walked recursively in sorted
    order and contribute images (:data:`IMAGE_EXTENSIONS`), DICOM files by
    extension and extension-less files with the DICOM marker; other files
    (notes, CSVs) are ignored.

    Args:
        inputs (Sequence[str]): Files and folders.

    Returns:
        list[str]: Paths in input order, each folder's files sorted.

    Raises:
        FileNotFoundError: If an input does not exist.
    """
    import os
    files: List[str] = []
    for item in inputs:
        if osp.isdir(item):
            found = []
            for root, dirs, names in os.walk(item):
                dirs.sort()
                for name in sorted(names):
                    path = osp.join(root, name)
                    low = name.lower()
                    if low.endswith(IMAGE_EXTENSIONS + DICOM_EXTENSIONS) or (
                            '.' not in name and has_dicom_preamble(path)):
                        found.append(path)
            files.extend(found)
        elif osp.exists(item):
            files.append(item)
        else:
            raise FileNotFoundError(f'input not found: {item}')
    return files


def mirrored_output_names(
        inputs: Sequence[str],
        expand: Optional[Callable[[str], List[str]]] = None
) -> List[Tuple[str, str]]:
    """Pair every file to run on with the name its outputs get.

    Outputs mirror the inputs: a file's name is its path relative to the
    deepest folder that holds every input (a folder input counts as that
    folder, a file input as the folder it lies in), extension kept. So a
    folder's files keep their layout (``folder/sub/a.png`` gives
    ``sub/a.png``), files named together in one folder keep their file
    names, ``a.dcm`` and ``a.png`` stay apart, and files of the same name
    in different folders keep their folders (``x/a.npy``, ``y/a.npy``).
    Tools append their suffixes (``sub/a.png.json``); distinct names
    never give the same output. A file reached twice (named and inside a
    named folder, or through a link) is run once, under its first name.

    Args:
        inputs (Sequence[str]): Files and folders as given.
        expand (callable, optional): Turns one input into its files;
            default ``list_image_files([item])``.

    Returns:
        list[tuple[str, str]]: ``(path, output name)`` in input order.

    Raises:
        FileNotFoundError: If an input does not exist (from ``expand``).
    """
    if expand is None:
        def expand(item: str) -> List[str]:
            return list_image_files([item])

    found = [(item, path) for item in inputs for path in expand(item)]
    if not found:
        return []
    bases = [
        osp.abspath(item) if osp.isdir(item) else osp.dirname(
            osp.abspath(item)) for item in inputs
    ]
    root = osp.commonpath(bases)
    pairs: List[Tuple[str, str]] = []
    seen = set()
    for _, path in found:
        real = osp.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        pairs.append((path, osp.relpath(osp.abspath(path), root)))
    return pairs


# ---------------------------------------------------------------------------
# model and pipeline
def _dataset_classes(cfg: Config) -> Optional[Tuple[str, ...]]:
    """Class names of the config's test dataset type, if it declares any."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    metainfo = dataset.get('metainfo') or {}
    if 'classes' in metainfo:
        return tuple(metainfo['classes'])
    dataset_type = dataset.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) \
        else None
    classes = getattr(cls, 'METAINFO', {}).get('classes') if cls else None
    return tuple(classes) if classes else None


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu') -> torch.nn.Module:
    """Build a classifier from a config and load a checkpoint, no runner.

    The config's top-level ``data_preprocessor`` is merged into the model
    as the runner does, the weights are loaded strictly (a checkpoint that
    does not fit the config is an error naming the file and its first
    missing, unexpected or differently shaped keys, not a half-random
    model; see :func:`radplugins.utils.load_model_checkpoint`) and the
    model is put in eval mode. ``model.dataset_meta['classes']`` comes from
    the checkpoint's meta, else from the config's dataset.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; None keeps the
            initial (random) weights.
        device (str | torch.device): Where to run.

    Returns:
        torch.nn.Module: The model, with ``cfg`` and ``dataset_meta``.

    Raises:
        CheckpointError: If the checkpoint cannot be read or does not fit
            the model.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    dataset_meta = None
    if checkpoint is not None:
        ckpt = load_model_checkpoint(model, checkpoint)
        dataset_meta = (ckpt.get('meta') or {}).get('dataset_meta')
    if not dataset_meta or 'classes' not in dataset_meta:
        classes = _dataset_classes(cfg)
        dataset_meta = dict(classes=classes) if classes else {}
    model.dataset_meta = dict(dataset_meta)
    model.cfg = cfg
    return model.to(device).eval()


def init_model_or_exit(config: Union[str, Config],
                       checkpoint: Optional[str] = None,
                       device: Union[str, torch.device] = 'cpu'
                       ) -> torch.nn.Module:
    """:func:`init_model` for a command-line tool: a checkpoint that cannot
    be read or does not fit the config ends the program with one line,
    ``error: <what and which file>`` (exit status 1), not a traceback.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file.
        device (str | torch.device): Where to run.

    Returns:
        torch.nn.Module: As :func:`init_model`.

    Raises:
        SystemExit: If the checkpoint is refused.
    """
    try:
        return init_model(config, checkpoint, device)
    except CheckpointError as exc:
        raise SystemExit(f'error: {exc}') from None


def config_test_pipeline(cfg: Config,
                        pipeline: Optional[Sequence[dict]] = None
                        ) -> List[dict]:
    """A copy of ``pipeline``, or of the config's test pipeline.

    The steps of a ``CachedTransforms`` are taken out of it: inference sees
    each image once, so keeping results would only hold memory.

    Raises:
        ValueError: If neither is there.
    """
    if pipeline is None:
        try:
            pipeline = cfg.test_dataloader.dataset.pipeline
        except AttributeError:
            raise ValueError('the config has no test_dataloader.dataset.'
                             'pipeline to build inference from') from None
    steps = []
    for step in copy.deepcopy(list(pipeline)):
        if isinstance(step, dict) and step.get('type') == 'CachedTransforms':
            steps.extend(step['transforms'])
        else:
            steps.append(step)
    return steps


def build_inference_pipeline(
        cfg: Config,
        pipeline: Optional[Sequence[dict]] = None) -> Tuple[Compose, int]:
    """The test pipeline without its loading step.

    Inference decodes files itself (PNG or DICOM), so the step that reads
    ``img_path`` (:data:`LOADING_TRANSFORMS`) is dropped and its channel
    count returned for :func:`load_image_any`.

    Args:
        cfg (Config): Config with ``test_dataloader.dataset.pipeline``.
        pipeline (Sequence[dict], optional): Use this pipeline instead.

    Returns:
        tuple[Compose, int]: The pipeline and the channels it expects.
    """
    channels = 3
    steps = []
    for step in config_test_pipeline(cfg, pipeline):
        kind = step['type'] if isinstance(step, dict) else type(step).__name__
        name = kind.split('.')[-1] if isinstance(kind, str) else \
            getattr(kind, '__name__', '')
        if name in LOADING_TRANSFORMS:
            if name == 'LoadRadiograph':
                channels = int(step.get('channels', 3))
            continue
        steps.append(TRANSFORMS.build(step) if isinstance(step, dict)
                     else step)
    return Compose(steps), channels


def inference_model(model: torch.nn.Module,
                    pipeline: Union[Compose, Sequence[dict]],
                    img: np.ndarray,
                    img_path: Optional[str] = None):
    """Run one decoded image through the pipeline and the model.

    Args:
        model (torch.nn.Module): From :func:`init_model` (eval mode).
        pipeline (Compose | Sequence[dict]): From
            :func:`build_inference_pipeline`, or the config's test pipeline
            as dicts (its loading step is dropped).
        img (np.ndarray): The decoded image, e.g. from
            :func:`load_image_any`.
        img_path (str, optional): Recorded in the sample's metainfo.

    Returns:
        DataSample: The prediction (``pred_score``, ``pred_label``; zoom
        models add ``zoom_boxes``, ``saliency_peaks``, ``scale_scores``).
    """
    if not isinstance(pipeline, Compose):
        pipeline, _ = build_inference_pipeline(model.cfg, pipeline)
    results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
    if img_path is not None:
        results['img_path'] = img_path
    data = pipeline(results)
    if data is None:
        raise ValueError(f'{img_path or "image"}: the pipeline dropped the '
                         'sample')
    with torch.no_grad():
        return model.test_step(pseudo_collate([data]))[0]


def positive_class_index(class_names: Optional[Sequence[str]]
                         ) -> Optional[int]:
    """Index of the class called positive (or the second of two).

    Args:
        class_names (Sequence[str], optional): The model's classes.

    Returns:
        int | None: None when no class can be called positive.
    """
    if not class_names:
        return None
    lowered = [str(c).lower() for c in class_names]
    for name in ('positive', 'abnormal'):
        if name in lowered:
            return lowered.index(name)
    return 1 if len(class_names) == 2 else None


def _as_list(value) -> Optional[list]:
    if value is None:
        return None
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64).round(4).tolist()


def prediction_to_dict(sample,
                       class_names: Optional[Sequence[str]] = None) -> dict:
    """A JSON-ready summary of one prediction.

    Args:
        sample (DataSample): From :func:`inference_model`.
        class_names (Sequence[str], optional): The model's classes.

    Returns:
        dict: ``label``, ``label_index``, ``probability`` (of the positive
        class; of the predicted class when none is positive),
        ``probabilities`` per class, ``scale_probabilities`` (positive-class
        probability per scale), ``roi_boxes`` (``[x1, y1, x2, y2]`` per
        step, original pixels), ``saliency_peaks`` (``[x, y]`` per step) and
        ``saliency_peak`` (step 0), ``image_shape`` ``[h, w]``. Keys a plain
        classifier cannot fill are empty lists or None.
    """
    score = np.asarray(_as_list(sample.pred_score), np.float64)
    label = int(score.argmax())
    names = list(class_names) if class_names else [
        f'class_{i}' for i in range(len(score))
    ]
    pos = positive_class_index(names)
    prob_index = label if pos is None else pos
    scale_scores = _as_list(sample.get('scale_scores', None))
    peaks = _as_list(sample.get('saliency_peaks', None)) or []
    return dict(
        label=names[label],
        label_index=label,
        probability=round(float(score[prob_index]), 4),
        probability_of=names[prob_index],
        probabilities={n: round(float(s), 4)
                       for n, s in zip(names, score)},
        scale_probabilities=[round(float(s[prob_index]), 4)
                             for s in scale_scores] if scale_scores else [],
        roi_boxes=_as_list(sample.get('zoom_boxes', None)) or [],
        saliency_peaks=peaks,
        saliency_peak=peaks[0] if peaks else None,
        image_shape=[int(v) for v in sample.ori_shape],
    )
