"""tools/remove_flags.py writes its output all at once or not at all.

The detector is replaced by one that finds nothing, so the tests exercise
the tool's file handling in a second, not a detector's training.
"""
import glob
import json
import os
import os.path as osp

import pytest
import torch

from tests.helpers import load_tool, write_mura_fixture


@pytest.fixture
def no_detector(monkeypatch):
    """mmdet's init_detector/inference_detector, finding no region, and
    no checkpoint to load."""
    import mmdet.apis
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    class Model:
        dataset_meta = dict(classes=('flag', 'implant'))

    seen = []

    def inference_detector(model, path):
        seen.append(path)
        pred = DetDataSample()
        pred.pred_instances = InstanceData(
            bboxes=torch.zeros((0, 4)), scores=torch.zeros(0),
            labels=torch.zeros(0, dtype=torch.long))
        return pred

    monkeypatch.setattr(mmdet.apis, 'init_detector',
                        lambda *args, **kwargs: Model())
    monkeypatch.setattr(mmdet.apis, 'inference_detector', inference_detector)
    # The tool loads the checkpoint itself, checked; there is none here.
    import radplugins.utils
    monkeypatch.setattr(radplugins.utils, 'load_model_checkpoint',
                        lambda model, checkpoint: {})
    return seen


def remove_flags(*args):
    return load_tool('remove_flags.py').main(
        ['unused_config.py', 'unused.pth', '--device', 'cpu'] +
        [str(a) for a in args])


def files_under(folder):
    return sorted(
        osp.relpath(p, folder)
        for p in glob.glob(osp.join(str(folder), '**', '*'), recursive=True)
        if osp.isfile(p))


def test_a_failure_partway_leaves_no_output(tmp_path, no_detector):
    src = tmp_path / 'in'
    images = write_mura_fixture(str(src))
    middle = osp.join(str(src), images['train'][4])
    content = open(middle, 'rb').read()
    open(middle, 'wb').write(content[:len(content) // 2])
    with pytest.raises(OSError, match='truncated PNG') as err:
        remove_flags('--input', src, '--output', tmp_path / 'clean')
    assert middle in str(err.value)
    assert len(no_detector) == 4  # four images were done before it
    assert sorted(os.listdir(tmp_path)) == ['in']


def test_a_complete_run_moves_the_output_into_place(tmp_path, no_detector):
    src = tmp_path / 'in'
    images = write_mura_fixture(str(src))
    out = tmp_path / 'deeper' / 'clean'
    assert remove_flags('--input', src, '--output', out) == 0
    listed = images['train'] + images['valid']
    assert files_under(out) == sorted(
        listed + ['removed_flags.json'] +
        [f'MURA-v1.1/{split}_{kind}.csv' for split in ('train', 'valid')
         for kind in ('image_paths', 'labeled_studies')])
    with open(out / 'removed_flags.json') as f:
        assert sorted(json.load(f)['images']) == sorted(listed)
    assert os.listdir(tmp_path / 'deeper') == ['clean']
    # Made like any folder, not left at the temporary folder's 0o700.
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask


def test_overwrite_keeps_other_files_and_fails_cleanly(tmp_path,
                                                       no_detector):
    src = tmp_path / 'in'
    images = write_mura_fixture(str(src))
    out = tmp_path / 'clean'
    out.mkdir()
    (out / 'notes.txt').write_text('mine')
    assert remove_flags('--input', src, '--output', out, '--overwrite',
                        '--dry-run') == 0
    assert files_under(out) == ['notes.txt', 'removed_flags.json']
    report = (out / 'removed_flags.json').read_text()
    # A failing second run changes nothing in it.
    open(osp.join(str(src), images['valid'][0]), 'wb').close()
    with pytest.raises(OSError, match='empty image file'):
        remove_flags('--input', src, '--output', out, '--overwrite')
    assert files_under(out) == ['notes.txt', 'removed_flags.json']
    assert (out / 'removed_flags.json').read_text() == report
    assert sorted(os.listdir(tmp_path)) == ['clean', 'in']


def test_image_list_with_a_byte_order_mark(tmp_path):
    images = write_mura_fixture(str(tmp_path))
    path = tmp_path / 'MURA-v1.1' / 'train_image_paths.csv'
    path.write_text(path.read_text(), encoding='utf-8-sig')
    tool = load_tool('remove_flags.py')
    assert tool.list_images(str(tmp_path)) == images['train'] + \
        images['valid']
