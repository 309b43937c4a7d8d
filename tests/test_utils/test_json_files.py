"""radplugins.utils.read_json: a byte-order mark is skipped, and a bad file
is named with the place of the fault."""
import json
import re

import pytest

from radplugins.datasets.transforms.flag_removal import load_regions_file
from radplugins.utils import read_json

VALUE = {
    'images': {
        'a/b.png': {
            'flags': [{
                'bbox': [1, 2, 3, 4]
            }]
        }
    },
    'note': 'Zürich'
}


def test_reads_plain_utf8(tmp_path):
    path = tmp_path / 'plain.json'
    path.write_text(json.dumps(VALUE, ensure_ascii=False), encoding='utf-8')
    assert read_json(str(path)) == VALUE


def test_skips_a_byte_order_mark(tmp_path):
    path = tmp_path / 'bom.json'
    path.write_bytes(b'\xef\xbb\xbf' +
                     json.dumps(VALUE, ensure_ascii=False).encode('utf-8'))
    # json.load itself refuses this file; the reference is the same text
    # without its mark.
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text(encoding='utf-8'))
    assert read_json(str(path)) == VALUE


def test_invalid_json_names_file_line_and_column(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{\n  "images": {,}\n}\n', encoding='utf-8')
    with pytest.raises(ValueError,
                       match=re.escape(f'{path}: not valid JSON at line 2, '
                                       'column 14')):
        read_json(str(path))


def test_non_utf8_names_file_and_byte(tmp_path):
    path = tmp_path / 'latin1.json'
    path.write_bytes('{"note": "Zürich"}'.encode('latin-1'))
    with pytest.raises(ValueError,
                       match=re.escape(f'{path}: not UTF-8 text (byte 0xfc '
                                       'at offset 11)')):
        read_json(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.json'):
        read_json(str(tmp_path / 'missing.json'))


def test_flag_regions_file_with_a_byte_order_mark(tmp_path):
    path = tmp_path / 'removed_flags.json'
    path.write_bytes(b'\xef\xbb\xbf' + json.dumps(VALUE).encode('utf-8'))
    assert load_regions_file(str(path)) == {
        'a/b.png': [{
            'bbox': [1, 2, 3, 4]
        }]
    }
