"""Refuse outputs that would overwrite or bury what a tool reads.

Every tool that writes files checks its output path with
:func:`check_output` before it writes anything. The rule: an output that
is, contains, or lies inside an input is refused.

* A file output may not be an input file, nor lie inside an input folder,
  nor be an existing folder.
* A folder output may not be an input (file or folder), lie inside an
  input folder, or contain an input; nor be an existing file.

Paths are compared after :func:`os.path.realpath`, so symbolic links and
``..`` do not get around the rule. Inputs that do not exist are compared
as files (they cannot be overwritten, but an output of the same name
would be taken for them later).
"""
import os.path as osp
from typing import Iterable, Optional

__all__ = [
    'UnsafeOutputError', 'check_output', 'check_output_or_exit',
    'path_is_within'
]


class UnsafeOutputError(ValueError):
    """An output path that would overwrite or enclose an input."""


def path_is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it, after resolving
    links and ``..``.

    Args:
        path (str): Any path.
        folder (str): A folder (it need not exist).

    Returns:
        bool: True if ``realpath(path)`` equals ``realpath(folder)`` or
        starts with it followed by a separator.
    """
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(osp.sep) +
                                             osp.sep)


def _resolved_note(output: str, real_out: str, inp: str,
                   real_in: str) -> str:
    """`` (resolved: A and B)`` when links or ``..`` hid the overlap."""
    if osp.abspath(output) == real_out and osp.abspath(inp) == real_in:
        return ''
    return f' (resolved: {real_out} and {real_in})'


def check_output(output: str,
                 inputs: Iterable[Optional[str]],
                 is_dir: bool,
                 label: str = 'output') -> str:
    """Refuse an output that is, contains, or lies inside an input.

    Args:
        output (str): The path the tool will write (a file, or a folder it
            writes files into). It need not exist.
        inputs (Iterable[str | None]): Files and folders the tool reads;
            None entries (options not given) are skipped.
        is_dir (bool): Whether ``output`` is a folder.
        label (str): How the command line names ``output`` (e.g.
            ``'--out-dir'``), used in the error message.

    Returns:
        str: ``realpath(output)``.

    Raises:
        UnsafeOutputError: Naming ``output`` and the input it collides
            with, or saying that ``output`` exists as the other kind.
    """
    real_out = osp.realpath(output)
    if is_dir and osp.exists(real_out) and not osp.isdir(real_out):
        raise UnsafeOutputError(f'{label} {output} is an existing file, not '
                                'a folder')
    if not is_dir and osp.isdir(real_out):
        raise UnsafeOutputError(f'{label} {output} is an existing folder, '
                                'not a file')
    for inp in inputs:
        if inp is None or inp == '':
            continue
        real_in = osp.realpath(inp)
        in_is_dir = osp.isdir(real_in)
        note = _resolved_note(output, real_out, inp, real_in)
        kind = 'folder' if in_is_dir else 'file'
        if real_out == real_in:
            raise UnsafeOutputError(
                f'refusing to write into the input: {label} {output} is '
                f'the input {kind} {inp}{note}')
        if in_is_dir and path_is_within(real_out, real_in):
            raise UnsafeOutputError(
                f'refusing to write into the input: {label} {output} lies '
                f'inside the input folder {inp}{note}')
        if is_dir and path_is_within(real_in, real_out):
            raise UnsafeOutputError(
                f'refusing to write around the input: {label} {output} '
                f'contains the input {kind} {inp}{note}')
    return real_out



def check_output_or_exit(output: str,
                         inputs: Iterable[Optional[str]],
                         is_dir: bool,
                         label: str = 'output') -> str:
    """:func:`check_output` for a command-line tool: an unsafe output ends
    the program with ``error: <reason>`` (exit status 1) instead of a
    traceback.

    Args:
        output (str): What the tool would write: a file or a folder.
        inputs (Iterable[str | None]): What it reads; None entries are
            ignored.
        is_dir (bool): Whether ``output`` is a folder.
        label (str): How the message names the output, e.g. ``'--out'``.

    Returns:
        str: ``output`` resolved, as :func:`check_output` returns it.

    Raises:
        SystemExit: If the output is unsafe.
    """
    try:
        return check_output(output, inputs, is_dir=is_dir, label=label)
    except UnsafeOutputError as exc:
        raise SystemExit(f'error: {exc}') from None
