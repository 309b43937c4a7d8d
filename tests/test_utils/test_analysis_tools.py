"""The analysis tools' JSON lines and device barrier."""
import json
import time

from radplugins.utils import emit, sync, timed


def test_emit_prints_one_json_line_in_field_order(capsys):
    emit(figure='step', ratio=2.5, target=None, sizes=[1, 2])
    emit(figure='second')
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ('{"figure": "step", "ratio": 2.5, "target": null, '
                        '"sizes": [1, 2]}')
    assert json.loads(lines[1]) == {'figure': 'second'}
    assert len(lines) == 2


def test_sync_on_the_cpu_is_a_no_op():
    assert sync('cpu') is None


def test_timed_measures_one_call():
    calls = []
    seconds = timed(lambda: calls.append(time.sleep(0.05)), 'cpu')
    assert calls == [None]
    assert 0.05 <= seconds < 5
