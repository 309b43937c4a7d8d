"""radplugins.utils.check_output: outputs may not be, contain or lie inside
an input; links and ``..`` do not get around it."""
import os
import os.path as osp
import re

import pytest

from radplugins.utils import UnsafeOutputError, check_output, path_is_within


@pytest.fixture
def tree(tmp_path):
    """``in/`` with ``a.png`` and ``sub/b.png``; ``ann.csv``; ``in2/``
    (shares ``in``'s prefix); ``free/``."""
    (tmp_path / 'in' / 'sub').mkdir(parents=True)
    (tmp_path / 'in' / 'a.png').write_bytes(b'a')
    (tmp_path / 'in' / 'sub' / 'b.png').write_bytes(b'b')
    (tmp_path / 'ann.csv').write_text('x\n')
    (tmp_path / 'in2').mkdir()
    (tmp_path / 'free').mkdir()
    return tmp_path


def e(path):
    """A path as a regular expression that matches it literally."""
    return re.escape(str(path))


def refused(output, inputs, is_dir, match):
    with pytest.raises(UnsafeOutputError, match=match):
        check_output(str(output), [str(i) for i in inputs], is_dir,
                     '--out')


def test_folder_output_equal_inside_or_around_a_folder_input(tree):
    src = tree / 'in'
    refused(src, [src], True,
            f'^refusing to write into the input: --out {e(src)} is the input '
            f'folder {e(src)}$')
    refused(src / 'sub', [src], True,
            f'--out {e(src / "sub")} lies inside the input folder {e(src)}$')
    refused(src / 'new' / 'deeper', [src], True, 'lies inside the input')
    refused(tree, [src], True,
            f'^refusing to write around the input: --out {e(tree)} contains '
            f'the input folder {e(src)}$')


def test_folder_output_around_an_input_file(tree):
    """The folder of a single input file is refused as the out dir."""
    img = tree / 'in' / 'sub' / 'b.png'
    refused(tree / 'in' / 'sub', [img], True,
            f'contains the input file {e(img)}$')
    refused(tree / 'ann.csv', [tree / 'ann.csv'], True,
            f'^--out {e(tree / "ann.csv")} is an existing file, not a folder$')


def test_file_output_equal_to_an_input_or_inside_an_input_folder(tree):
    csv = tree / 'ann.csv'
    refused(csv, [csv], False, f'--out {e(csv)} is the input file {e(csv)}$')
    refused(tree / 'in' / 'preds.csv', [csv, tree / 'in'], False,
            'lies inside the input folder')
    refused(tree / 'free', [csv], False,
            f'^--out {e(tree / "free")} is an existing folder, not a file$')


def test_allowed_outputs(tree):
    inputs = [str(tree / 'in'), str(tree / 'ann.csv'), None, '']
    # A sibling whose name starts like the input's is not inside it.
    assert check_output(str(tree / 'in2'), inputs, True) == osp.realpath(
        tree / 'in2')
    assert check_output(str(tree / 'in_out' / 'x'), inputs, True)
    assert check_output(str(tree / 'free' / 'preds.csv'), inputs, False)
    # A file output next to an input file is fine (only a folder output
    # would contain it).
    assert check_output(str(tree / 'preds.csv'), inputs, False)
    assert check_output(str(tree / 'anything'), [], True)


def test_links_and_dotdot_are_resolved(tree):
    os.symlink(tree / 'in', tree / 'link_to_in')
    os.symlink(tree / 'ann.csv', tree / 'link.csv')
    refused(tree / 'link_to_in', [tree / 'in'], True,
            f'is the input folder {e(tree / "in")} \\(resolved: '
            f'{e(osp.realpath(tree / "in"))} and')
    refused(tree / 'link_to_in' / 'out', [tree / 'in'], True,
            'lies inside the input folder')
    refused(tree / 'in' / 'sub', [tree / 'link_to_in'], True,
            'lies inside the input folder')
    refused(tree / 'link.csv', [tree / 'ann.csv'], False,
            'is the input file')
    refused(f'{tree}/free/../in/x', [tree / 'in'], True,
            'lies inside the input folder')
    refused(f'{tree}/in/sub/..', [tree / 'in'], True, 'is the input folder')


def test_path_is_within():
    assert path_is_within('/a/b/c', '/a/b')
    assert path_is_within('/a/b', '/a/b/')
    assert path_is_within('/a/x', '/')
    assert not path_is_within('/a/bc', '/a/b')
    assert not path_is_within('/a', '/a/b')


def test_check_output_or_exit_ends_with_the_reason(tmp_path):
    from radplugins.utils import check_output_or_exit
    src = tmp_path / 'in'
    src.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        check_output_or_exit(str(src / 'out'), [str(src)], is_dir=True,
                             label='--out')
    assert str(exit_info.value).startswith(
        f'error: refusing to write into the input: --out {src / "out"} '
        f'lies inside the input folder {src}')
    assert check_output_or_exit(str(tmp_path / 'out'), [str(src)],
                                is_dir=True) == str(tmp_path / 'out')
