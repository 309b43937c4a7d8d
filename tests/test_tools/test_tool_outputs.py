"""Every tool that writes files refuses an output that is, contains or lies
inside what it reads, and an output of the wrong kind, before it writes
(radplugins.utils.check_output). Each tool runs in this process and stops
before a model or dataset would be loaded."""
import os.path as osp

import pytest

from tests.helpers import load_tool, write_mura_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')
ZOOM_CONFIG = osp.join(ROOT, 'tests', 'data',
                       'tiny_zoom_resnet18_synthetic-mura.py')


@pytest.fixture
def mura(tmp_path):
    write_mura_fixture(str(tmp_path / 'data'))
    return tmp_path / 'data'


def contents(folder):
    return {p: p.read_bytes() for p in folder.rglob('*') if p.is_file()}


def refuses(capsys, main, argv, message, status=None):
    """``main(argv)`` exits (or returns ``status``) with ``message``."""
    if status is None:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in argv])
        text = str(info.value.code)
    else:
        assert main([str(a) for a in argv]) == status
        text = capsys.readouterr().err
    assert message in text, text


def test_vis_zoom_out_dir_inside_the_data_root(mura, tmp_path, capsys):
    before = contents(tmp_path)
    main = load_tool('visualization/vis_zoom.py').main
    refuses(capsys, main, [ZOOM_CONFIG, 'missing.pth', '--data-root', mura,
                           '--out-dir', mura / 'vis'],
            f'error: refusing to write into the input: --out-dir '
            f'{mura / "vis"} lies inside the input folder {mura}')
    gt = mura / 'MURA-v1.1' / 'boxes.json'
    gt.write_text('{}')
    refuses(capsys, main, [ZOOM_CONFIG, 'missing.pth', '--data-root',
                           tmp_path / 'elsewhere', '--ground-truth', gt,
                           '--out-dir', gt],
            f'error: --out-dir {gt} is an existing file, not a folder')
    gt.unlink()
    assert contents(tmp_path) == before


def test_feature_svm_out_around_the_data_root(mura, tmp_path, capsys):
    main = load_tool('feature_svm.py').main
    refuses(capsys, main, [CONFIG, 'missing.pth', '--data-root', mura,
                           '--out', tmp_path],
            f'error: refusing to write around the input: --out {tmp_path} '
            f'contains the input folder {mura}')
    assert not (tmp_path / 'feature_cache').exists()


def test_vis_hotspots_out_dir_is_the_volumes_folder(tmp_path, capsys):
    volume = tmp_path / 'v.npy'
    volume.write_bytes(b'not read')
    main = load_tool('visualization/vis_hotspots.py').main
    refuses(capsys, main, ['config.py', 'missing.pth', volume, '--out',
                           tmp_path],
            f'error: refusing to write around the input: --out {tmp_path} '
            f'contains the input file {volume}', status=2)


@pytest.mark.parametrize(
    'tool', ['make_synthetic_mura.py', 'make_synthetic_spine.py'])
def test_synthetic_sets_refuse_an_out_that_is_a_file(tool, tmp_path,
                                                     capsys):
    path = tmp_path / 'a_file'
    path.write_text('kept')
    main = load_tool(f'dataset_converters/{tool}').main
    refuses(capsys, main, ['--out', path],
            f'error: --out {path} is an existing file, not a folder')
    assert path.read_text() == 'kept'


def test_remove_flags_output_that_is_a_file_or_holds_the_input(
        mura, tmp_path, capsys):
    main = load_tool('remove_flags.py').main
    path = tmp_path / 'a_file'
    path.write_text('kept')
    refuses(capsys, main, ['config.py', 'missing.pth', '--input', mura,
                           '--output', path],
            f'--output {path} is an existing file, not a folder')
    refuses(capsys, main, ['config.py', 'missing.pth', '--input', mura,
                           '--output', tmp_path],
            f'refusing to write around the input: --output {tmp_path} '
            f'contains the input folder {mura}')
    assert path.read_text() == 'kept'


def test_test_out_is_the_checkpoint_or_lies_in_the_data(mura, tmp_path,
                                                        monkeypatch):
    from mmengine.config import Config
    tool = load_tool('test.py')
    checkpoint = tmp_path / 'weights.pkl'
    checkpoint.write_bytes(b'weights')
    before = contents(mura)
    for out, message in (
            (checkpoint, f'--out {checkpoint} is the input file '
             f'{checkpoint}'),
            (mura / 'results.pkl', f'--out {mura / "results.pkl"} lies '
             f'inside the input folder {mura}')):
        monkeypatch.setattr('sys.argv', [
            'test.py', CONFIG, str(checkpoint), '--data-root',
            str(mura), '--work-dir', str(tmp_path / 'work'), '--out',
            str(out)
        ])
        with pytest.raises(SystemExit) as info:
            tool.merge_args(Config.fromfile(CONFIG), tool.parse_args())
        assert str(info.value.code) == (
            f'error: refusing to write into the input: {message}')
    assert checkpoint.read_bytes() == b'weights'
    assert contents(mura) == before


SPINE_CONFIG = osp.join(ROOT, 'tests', 'data',
                        'tiny_spinenet-hotspots_synthetic-spine.py')


@pytest.mark.parametrize('tool', [
    'visualization/vis_zoom.py', 'visualization/vis_hotspots.py',
    'feature_svm.py', 'analysis_tools/saliency_pointing.py',
    'analysis_tools/benchmark_feature_extraction.py'
])
def test_a_bad_checkpoint_is_one_error_line(tool, mura, tmp_path,
                                            monkeypatch):
    """A truncated checkpoint ends each tool that loads one with
    ``error: ...`` naming the file, not a traceback."""
    checkpoint = tmp_path / 'cut.pth'
    checkpoint.write_bytes(b'PK\x03\x04 cut short')
    argv = {
        'visualization/vis_zoom.py': [
            ZOOM_CONFIG, checkpoint, '--data-root', mura, '--out-dir',
            tmp_path / 'vis'
        ],
        'visualization/vis_hotspots.py': [
            SPINE_CONFIG, checkpoint, tmp_path / 'v.npy', '--out',
            tmp_path / 'hot'
        ],
        'feature_svm.py': [
            CONFIG, checkpoint, '--data-root', mura, '--out',
            tmp_path / 'svm'
        ],
        'analysis_tools/saliency_pointing.py': [
            CONFIG, checkpoint, '--data-root', mura
        ],
        'analysis_tools/benchmark_feature_extraction.py': [
            CONFIG, checkpoint, '--data-root', mura
        ],
    }[tool]
    main = load_tool(tool).main
    monkeypatch.setattr('sys.argv', [tool] + [str(a) for a in argv])
    with pytest.raises(SystemExit) as info:
        main()
    message = str(info.value.code)
    assert message.startswith('error: ') and str(checkpoint) in message, \
        message
