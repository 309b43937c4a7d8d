"""Reading the JSON files users hand to the tools and datasets."""
import json
from typing import Any


def read_json(path: str) -> Any:
    """Read a UTF-8 JSON file, with or without a byte-order mark.

    Editors on Windows (Notepad, Excel's "UTF-8" export) often start a file
    with a byte-order mark, which :func:`json.load` refuses with an error
    that does not name the file. Here the mark is skipped, and a file that
    is not JSON or not UTF-8 raises an error naming the file and the place.

    Args:
        path (str): The file.

    Returns:
        Any: The decoded value.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not UTF-8 or not valid JSON; the message names
            the file, the line and the column.
    """
    try:
        with open(path, encoding='utf-8-sig') as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f'{path}: not valid JSON at line {error.lineno}, '
                         f'column {error.colno}: {error.msg}') from None
    except UnicodeDecodeError as error:
        raise ValueError(f'{path}: not UTF-8 text (byte 0x'
                         f'{error.object[error.start]:02x} at offset '
                         f'{error.start})') from None
