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


@pytest.fixture
def one_box_detector(monkeypatch, no_detector):
    """A detector that finds one flag, [2, 3, 12, 9], in every image."""
    import mmdet.apis
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    def inference_detector(model, path):
        no_detector.append(path)
        pred = DetDataSample()
        pred.pred_instances = InstanceData(
            bboxes=torch.tensor([[2.0, 3.0, 12.0, 9.0], [0, 0, 5, 5]]),
            scores=torch.tensor([0.9, 0.3]),
            labels=torch.tensor([0, 1]))
        return pred

    monkeypatch.setattr(mmdet.apis, 'inference_detector', inference_detector)
    return no_detector


def test_a_fracatlas_folder_is_cleaned_in_its_own_layout(
        tmp_path, one_box_detector):
    import cv2

    from radplugins.datasets import FracAtlasDataset
    from tests.helpers import write_fracatlas_fixture
    src = tmp_path / 'FracAtlas'
    rows = write_fracatlas_fixture(str(src))
    (src / 'Utilities' / 'Fracture Split').mkdir(parents=True)
    (src / 'Utilities' / 'Fracture Split' / 'train.csv').write_text('x\n')
    # A truncated JPEG: skipped as the dataset skips it, and reported.
    bad = src / 'images' / 'Non_fractured' / 'IMG0000004.jpg'
    bad.write_bytes(bad.read_bytes()[:200])
    out = tmp_path / 'clean'
    assert remove_flags('--input', src, '--output', out) == 0

    kept = sorted(r['image_id'] for r in rows
                  if r['image_id'] != 'IMG0000004.jpg')
    assert sorted(osp.basename(p) for p in one_box_detector) == kept
    images = [f for f in files_under(out) if f.startswith('images')]
    assert sorted(osp.basename(f) for f in images) == kept
    for name in ('dataset.csv', 'Annotations/COCO JSON/'
                 'COCO_fracture_masks.json',
                 'Utilities/Fracture Split/train.csv'):
        assert (out / name).read_bytes() == (src / name).read_bytes()
    with open(out / 'removed_flags.json') as f:
        report = json.load(f)
    assert report['layout'] == 'fracatlas'
    assert report['skipped'] == ['images/Non_fractured/IMG0000004.jpg']
    flags = report['images']['images/Fractured/IMG0000001.jpg']['flags']
    assert flags == [dict(label='flag', score=0.9, bbox=[2, 3, 12, 9])]
    # The flag is filled from its ring; the rest of the image is the
    # source's, up to JPEG re-encoding.
    before = cv2.imread(str(src / 'images/Fractured/IMG0000001.jpg'), 0)
    after = cv2.imread(str(out / 'images/Fractured/IMG0000001.jpg'), 0)
    assert after.shape == before.shape
    assert after[3:9, 2:12].std() < before[3:9, 2:12].std() / 2
    # The copy reads as the same data set, bar the image skipped.
    labels = {
        osp.basename(d['img_path']): d['gt_label']
        for d in FracAtlasDataset(
            str(out), split='all', skip_missing=True, serialize_data=False,
            pipeline=[]).data_list
    }
    assert sorted(labels) == kept
    assert all(labels[r['image_id']] == r['fractured'] for r in rows
               if r['image_id'] in labels)


def test_a_fracatlas_split_is_a_dry_run_only(tmp_path, one_box_detector):
    from radplugins.datasets import FracAtlasDataset
    from tests.helpers import write_fracatlas_fixture
    src = tmp_path / 'FracAtlas'
    write_fracatlas_fixture(str(src))
    with pytest.raises(SystemExit, match='--split valid needs --dry-run'):
        remove_flags('--input', src, '--output', tmp_path / 'o', '--split',
                     'valid')
    assert remove_flags('--input', src, '--output', tmp_path / 'o',
                        '--split', 'valid', '--dry-run', '--classes',
                        'flag', 'implant', '--score-thr', '0.2') == 0
    valid = sorted(
        osp.relpath(d['img_path'], str(src))
        for d in FracAtlasDataset(str(src), split='valid',
                                  serialize_data=False,
                                  pipeline=[]).data_list)
    with open(tmp_path / 'o' / 'removed_flags.json') as f:
        report = json.load(f)
    assert sorted(report['images']) == valid
    assert files_under(tmp_path / 'o') == ['removed_flags.json']
    labels = [r['label'] for r in report['images'][valid[0]]['flags']]
    assert labels == ['flag', 'implant']


def test_neither_layout_is_refused(tmp_path, no_detector):
    (tmp_path / 'in').mkdir()
    with pytest.raises(SystemExit, match='neither a MURA folder'):
        remove_flags('--input', tmp_path / 'in', '--output', tmp_path / 'o')
    with pytest.raises(SystemExit, match='only the train and valid'):
        load_tool('remove_flags.py').list_images(str(tmp_path), 'test')
