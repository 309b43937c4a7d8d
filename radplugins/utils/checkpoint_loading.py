"""Checked checkpoint loading: a file that does not fit is an error.

MMEngine loads checkpoints leniently: ``Runner.load_checkpoint`` (used by
``load_from`` in training and testing) and mmdet's ``init_detector`` only
log "The model and loaded state dict do not match exactly" and go on with
whatever part of the network the file did not hold left at its random
initial values. A checkpoint of another model then passes as a result.
Reading a damaged file gives a bare ``EOFError`` or pickle error, and a
file with objects outside the ``weights_only`` allow-list gives torch's
advice to load it with ``weights_only=False``.

This module is the one place the project's tools and runner load weights
through:

* :func:`read_checkpoint` reads a file with torch's safe loader (and the
  allow-list of :mod:`radplugins.utils.checkpoint_compat`) and turns an
  empty, truncated or untrusted file into a :class:`CheckpointError` that
  names it.
* :func:`load_state_dict_checked` loads weights into a model and raises a
  :class:`CheckpointError` naming the file and the first few missing,
  unexpected and shape-mismatched keys, unless they fall under prefixes
  the caller allows. Like MMEngine it looks through model wrappers (DDP)
  and test-time-augmentation wrappers, strips a ``module.`` prefix from
  the file's keys and runs the modules' own load hooks (so, e.g.,
  :class:`~radplugins.models.backbones.EarlyFusionBackbone` still maps a
  single-view checkpoint), and it does not count BatchNorm's
  ``num_batches_tracked`` as missing.
* :func:`load_model_checkpoint` does both, for inference.
* :func:`check_training_checkpoint` says whether a file can be resumed.

Fine-tuning from another model's checkpoint (``load_from`` in training)
is allowed in the config, by prefixes of the model's parameter names
(see :class:`radplugins.engine.CheckpointCheckedRunner`).
"""
import os
import pickle
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, NamedTuple, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint

#: How many keys of each kind an error message lists.
SHOWN_KEYS = 5
#: MMEngine's default: checkpoints of DDP-wrapped models name every
#: parameter ``module.<name>``.
DEFAULT_REVISE_KEYS = ((r'^module\.', ''), )
#: What a checkpoint written by MMEngine's Runner holds besides weights,
#: and what ``--resume`` reads.
TRAINING_STATE_KEYS = ('meta.epoch', 'meta.iter', 'message_hub', 'optimizer')

_SIZE_MISMATCH = re.compile(r'size mismatch for ([^:\s]+): (.*)', re.S)
_UNSUPPORTED_GLOBAL = re.compile(r'Unsupported global: GLOBAL ([\w.]+)')
_WEIGHTS_UNPICKLER = re.compile(r'WeightsUnpickler error: ([^\n]*)')


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used for what it was given for.

    The message names the file and what is wrong with it.
    """


class CheckpointMismatch(NamedTuple):
    """How a checkpoint's weights and a model differ.

    Attributes:
        missing (list[str]): The model's keys the file does not hold.
        unexpected (list[str]): The file's keys the model does not have.
        mismatched (list[tuple[str, str]]): Keys whose shapes differ, each
            with torch's description of the two shapes.
        other (list[str]): Any other error torch reported while copying.
    """
    missing: List[str]
    unexpected: List[str]
    mismatched: List[Tuple[str, str]]
    other: List[str]


def read_checkpoint(filename: str,
                    map_location: Any = 'cpu') -> Dict[str, Any]:
    """Read a checkpoint file with torch's safe (``weights_only``) loader.

    Args:
        filename (str): A local path or any URL MMEngine reads
            (``http(s)://`` through the torch hub cache, see
            :mod:`radplugins.utils.model_zoo`).
        map_location (Any): As :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint: a training checkpoint, or a bare state dict.

    Raises:
        FileNotFoundError: If a local file does not exist (OSErrors pass
            through: they name the file).
        CheckpointError: If the file is empty, truncated or not a
            checkpoint, if it holds objects outside the allow-list of
            :mod:`radplugins.utils.checkpoint_compat`, or if it does not
            hold a dict.
    """
    try:
        checkpoint = _load_checkpoint(filename, map_location=map_location)
    except CheckpointError:
        raise  # from a scheme's loader (a URL's cached file): named there
    except pickle.UnpicklingError as exc:
        raise CheckpointError(_unpickling_message(filename, exc)) from None
    except EOFError:
        raise CheckpointError(
            f'{filename}: empty or truncated checkpoint file '
            f'({_size(filename)}); it ends before the data does, e.g. '
            'because the run that wrote it was stopped mid-write') from None
    except OSError:
        raise  # a missing or unreadable file: the message names it
    except Exception as exc:
        text = str(exc)
        if 'PytorchStreamReader' in text or 'zip archive' in text:
            # torch's first sentence; the rest is generic advice.
            reason = re.split(r'\.\s', text.strip())[0]
            raise CheckpointError(
                f'{filename}: truncated or corrupt checkpoint file '
                f'({_size(filename)}): torch cannot read it as a zip '
                f'archive ({reason})') from None
        # Garbage makes the unpickler fail in many ways (IndexError,
        # KeyError, ...): whatever it is, say which file.
        raise CheckpointError(
            f'{filename}: not a checkpoint torch can read '
            f'({_size(filename)}; {type(exc).__name__}: '
            f'{(text.splitlines() or [""])[0]})') from exc
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(
            f'{filename}: holds a {type(checkpoint).__name__}, not a '
            'checkpoint (a dict with a state_dict, or a state dict)')
    return checkpoint


def _size(filename: str) -> str:
    """``'N bytes'`` for a local file, else ``'size unknown'``."""
    try:
        return f'{os.path.getsize(filename)} bytes'
    except (OSError, TypeError):
        return 'size unknown'


def _unpickling_message(filename: str, exc: Exception) -> str:
    """The project's message for a file the safe loader refused.

    torch's own message advises loading the file with
    ``weights_only=False``, which would run whatever code the file holds;
    this one names the file and the first global outside the allow-list.
    """
    text = str(exc)
    found = _UNSUPPORTED_GLOBAL.search(text)
    if found:
        return (f'{filename}: not a trusted training checkpoint of this '
                'project: it holds objects outside the allow-list of '
                'radplugins.utils.checkpoint_compat (first disallowed '
                f'global: {found.group(1)}), and loading it could run '
                'code from the file. Load only checkpoints written by '
                'tools/train.py or plain state dicts of tensors; resave '
                "a file you trust as torch.save({'state_dict': "
                'model.state_dict()}, path) where it was written.')
    reason = _WEIGHTS_UNPICKLER.search(text)
    reason = reason.group(1) if reason else \
        (text.splitlines() or ['unpickling failed'])[0]
    return (f'{filename}: not a checkpoint the safe loader can read '
            f'({reason}); it may be damaged, not a PyTorch file, or hold '
            'objects outside the allow-list of '
            'radplugins.utils.checkpoint_compat')


def check_training_checkpoint(checkpoint: Mapping, filename: str) -> None:
    """Refuse to resume from a file that holds weights only.

    ``--resume`` continues a run from the epoch, iteration, optimizer and
    logger state MMEngine's Runner saves; a bare state dict, or a released
    checkpoint without that state, cannot be continued (MMEngine fails with
    ``KeyError: 'epoch'``). Its weights can start a new run via
    ``load_from``.

    Args:
        checkpoint (Mapping): What :func:`read_checkpoint` returned.
        filename (str): The file, for the message.

    Raises:
        CheckpointError: Naming the file and the state it lacks.
    """
    meta = checkpoint.get('meta')
    lacks = []
    for key in TRAINING_STATE_KEYS:
        if key.startswith('meta.'):
            if not isinstance(meta, Mapping) or key[5:] not in meta:
                lacks.append(key)
        elif key not in checkpoint:
            lacks.append(key)
    if lacks:
        raise CheckpointError(
            f'{filename}: not a training checkpoint (it has no '
            f'{", ".join(lacks)}), so --resume cannot continue a run from '
            'it. To start a new run from its weights, pass it as '
            f'--cfg-options load_from={filename} instead of --resume.')


def _revise_keys(state_dict: Mapping,
                 revise_keys: Sequence[Tuple[str, str]]) -> OrderedDict:
    """Rename the keys (e.g. strip ``module.``), keeping ``_metadata``."""
    metadata = getattr(state_dict, '_metadata', None)
    revised = OrderedDict(state_dict)
    for pattern, replacement in revise_keys:
        revised = OrderedDict(
            (re.sub(pattern, replacement, k), v) for k, v in revised.items())
    if metadata is not None:
        revised._metadata = metadata
    return revised


def load_state_dict_checked(
    model: nn.Module,
    checkpoint: Mapping,
    filename: str,
    allow_missing: Sequence[str] = (),
    allow_unexpected: Sequence[str] = (),
    revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS,
    hint: str = '',
    logger: Any = 'current',
) -> CheckpointMismatch:
    """Load a checkpoint's weights into a model, all of them or an error.

    The weights are copied as MMEngine's ``load_state_dict`` copies them
    (module load hooks run; model and test-time-augmentation wrappers are
    looked through), then the differences are checked:

    * a *missing* key (the model has it, the file does not) or a key
      whose shape differs is an error unless it starts with one of
      ``allow_missing`` (such parameters keep their initial values);
    * an *unexpected* key (the file has it, the model does not) is an
      error unless it starts with one of ``allow_unexpected``.

    Allowed differences are logged. On an error the model may be partly
    loaded; it must not be used.

    Args:
        model (nn.Module): The model, possibly wrapped.
        checkpoint (Mapping): A checkpoint with ``state_dict``, or a state
            dict.
        filename (str): Where it was read from, for the messages.
        allow_missing (Sequence[str]): Prefixes of the model's parameter
            names that need not be in the file (or may differ in shape),
            e.g. ``['head.']`` for a new head. Defaults to none.
        allow_unexpected (Sequence[str]): Prefixes of the file's keys the
            model may lack. Defaults to none.
        revise_keys (Sequence[tuple[str, str]]): ``(pattern, replacement)``
            regular expressions applied to the file's keys first. Defaults
            to stripping ``module.``.
        hint (str): Appended to the error message (what the caller can do
            about it). Defaults to nothing.
        logger (Any): Where allowed differences are logged, as
            :func:`mmengine.logging.print_log`. Defaults to ``'current'``.

    Returns:
        CheckpointMismatch: The (allowed) differences.

    Raises:
        CheckpointError: Naming the file, the model and the first few keys
            of each kind that are not allowed.
    """
    allow_missing = _prefixes(allow_missing, 'allow_missing')
    allow_unexpected = _prefixes(allow_unexpected, 'allow_unexpected')
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(
            f'{filename}: its state_dict is a {type(state_dict).__name__}, '
            'not a dict of tensors')
    state_dict = _revise_keys(state_dict, revise_keys)
    found = _copy_state_dict(model, state_dict)

    def refused(keys, prefixes):
        return [k for k in keys if not k.startswith(tuple(prefixes))]

    bad = CheckpointMismatch(
        missing=refused(found.missing, allow_missing),
        unexpected=refused(found.unexpected, allow_unexpected),
        mismatched=[(k, d) for k, d in found.mismatched
                    if not k.startswith(tuple(allow_missing))],
        other=found.other)
    if any(bad):
        raise CheckpointError(
            _mismatch_message(filename, _unwrap(model), bad) +
            (f' {hint}' if hint else ''))
    if any(found):
        print_log(
            f'{filename}: allowed differences from the model: '
            f'{_describe(found)}; the model\'s parameters the file lacks '
            'keep their initial values',
            logger=logger)
    return found


def load_model_checkpoint(model: nn.Module,
                          filename: str,
                          map_location: Any = 'cpu',
                          logger: Any = 'current') -> Dict[str, Any]:
    """Read a checkpoint and load all of its weights into a model.

    For inference and testing: every parameter and buffer of the model
    must come from the file and every weight in the file must have a place
    in the model (see :func:`load_state_dict_checked`).

    Args:
        model (nn.Module): The model.
        filename (str): The checkpoint file.
        map_location (Any): As :func:`torch.load`. Defaults to ``'cpu'``.
        logger (Any): As :func:`mmengine.logging.print_log`.

    Returns:
        dict: The checkpoint (for its ``meta``).

    Raises:
        CheckpointError: If the file cannot be read or does not fit.
    """
    checkpoint = read_checkpoint(filename, map_location)
    load_state_dict_checked(model, checkpoint, filename, logger=logger)
    return checkpoint


def _prefixes(value: Any, name: str) -> Tuple[str, ...]:
    """A tuple of key prefixes, or a ``TypeError`` naming the option."""
    if value is None:
        return ()
    if isinstance(value, str) or not all(
            isinstance(v, str) and v for v in value):
        raise TypeError(f'{name} must be a list of non-empty key prefixes '
                        f"such as ['head.'], got {value!r}")
    return tuple(value)


def _unwrap(module: nn.Module) -> nn.Module:
    while is_model_wrapper(module) or isinstance(module, BaseTTAModel):
        module = module.module
    return module


def _copy_state_dict(model: nn.Module,
                     state_dict: Mapping) -> CheckpointMismatch:
    """Copy weights module by module and collect the differences.

    Walks the modules as ``nn.Module.load_state_dict`` does (each module's
    ``_load_from_state_dict``, so its pre-hooks may rename or reshape the
    file's keys before they are matched), looking through wrappers.
    """
    missing: List[str] = []
    unexpected: List[str] = []
    errors: List[str] = []
    metadata = getattr(state_dict, '_metadata', None)

    def load(module: nn.Module, local: Dict[str, Any], prefix: str) -> None:
        module = _unwrap(module)
        local_metadata = {} if metadata is None else \
            metadata.get(prefix[:-1], {})
        module._load_from_state_dict(local, prefix, local_metadata, True,
                                     missing, unexpected, errors)
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = f'{prefix}{name}.'
                load(child, {
                    k: v
                    for k, v in local.items() if k.startswith(child_prefix)
                }, child_prefix)

    load(model, dict(state_dict), '')
    mismatched, other = [], []
    for error in errors:
        size = _SIZE_MISMATCH.match(error)
        if size:
            mismatched.append((size.group(1), size.group(2).strip()))
        else:
            other.append(error)
    # Old checkpoints predate BatchNorm's counter; MMEngine ignores it too.
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    return CheckpointMismatch(missing, unexpected, mismatched, other)


def _first(keys: Sequence[str]) -> str:
    shown = ', '.join(keys[:SHOWN_KEYS])
    more = len(keys) - SHOWN_KEYS
    return shown + (f', ... ({more} more)' if more > 0 else '')


def _describe(found: CheckpointMismatch) -> str:
    parts = []
    if found.missing:
        parts.append(f'{len(found.missing)} missing key(s) (the model has '
                     f'them, the file does not): {_first(found.missing)}')
    if found.unexpected:
        parts.append(
            f'{len(found.unexpected)} unexpected key(s) (the file has '
            f'them, the model does not): {_first(found.unexpected)}')
    if found.mismatched:
        shown = [
            f'{key} ({_short_shapes(detail)})'
            for key, detail in found.mismatched[:SHOWN_KEYS]
        ]
        more = len(found.mismatched) - SHOWN_KEYS
        parts.append(f'{len(found.mismatched)} shape mismatch(es): ' +
                     ', '.join(shown) +
                     (f', ... ({more} more)' if more > 0 else ''))
    if found.other:
        parts.append('; '.join(found.other[:SHOWN_KEYS]))
    return '; '.join(parts)


def _short_shapes(detail: str) -> str:
    """``file [a, b] vs model [c, d]`` from torch's size-mismatch text."""
    shapes = re.findall(r'torch\.Size\(\[([^\]]*)\]\)', detail)
    if len(shapes) == 2:
        return f'file [{shapes[0]}] vs model [{shapes[1]}]'
    return detail


def _mismatch_message(filename: str, model: nn.Module,
                      bad: CheckpointMismatch) -> str:
    return (f'{filename} does not fit the model '
            f'({type(model).__name__}): {_describe(bad)}. It is probably '
            'a checkpoint of another model or config; loading it would '
            'leave part of the network at its random initial values.')

