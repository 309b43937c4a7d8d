"""The one rule for image files a dataset finds unreadable when built."""
from typing import List, Sequence, Tuple

from mmengine.logging import print_log


def report_unreadable(owner: str, bad: Sequence[Tuple[str, str, str]],
                      skip: bool) -> List[str]:
    """Raise an error naming every unreadable file, or log them all once.

    Args:
        owner (str): Who found them, e.g. ``'MuraDataset(train)'``.
        bad (Sequence[tuple]): ``(file:row, path, reason)`` per bad file.
        skip (bool): Log and leave them out (the dataset's
            ``skip_corrupt``) instead of raising.

    Returns:
        list[str]: The paths left out (empty when none was bad).

    Raises:
        OSError: If there are bad files and ``skip`` is False.
    """
    if not bad:
        return []
    lines = '\n'.join(f'  {where}: {path}: {reason}'
                      for where, path, reason in bad)
    if not skip:
        raise OSError(
            f'{owner}: {len(bad)} unreadable image(s); fix or remove them, '
            f'or pass skip_corrupt=True to leave them out:\n{lines}')
    print_log(
        f'{owner}: skipped {len(bad)} unreadable image(s) '
        f'(skip_corrupt=True):\n{lines}',
        logger='current',
        level=30)
    return [path for _, path, _ in bad]
