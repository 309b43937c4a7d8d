"""tools/misc/check_dataset.py: every bad file of every set, with its row."""
import os.path as osp

import numpy as np

from tests.helpers import (load_tool, write_fracatlas_fixture,
                           write_mura_fixture, write_synthetic_spine)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MURA_CONFIG = osp.join(ROOT, 'tests', 'data',
                       'tiny_resnet18_synthetic-mura.py')
STUDY_CONFIG = osp.join(ROOT, 'tests', 'data',
                        'tiny_latefusion_resnet18_synthetic-mura.py')
SPINE_CONFIG = osp.join(ROOT, 'tests', 'data',
                        'tiny_spinenet_synthetic-spine.py')
FRACATLAS_CONFIG = osp.join(ROOT, 'configs', 'fracatlas',
                            'baseline_resnetv1d18_1xb16_10e_fracatlas.py')
# Ends like a PNG, so only decoding finds it is not one.
UNDECODABLE_PNG = b'\x89PNG\r\n\x1a\n' + b'not an image' + b'IEND\xaeB`\x82'


def check(*args):
    tool = load_tool(osp.join('misc', 'check_dataset.py'))
    return tool.main([str(a) for a in args])


def damage_mura(root):
    images = write_mura_fixture(str(root))
    base = str(root)
    cut = osp.join(base, images['train'][2])
    content = open(cut, 'rb').read()
    open(cut, 'wb').write(content[:len(content) // 2])
    undecodable = osp.join(base, images['train'][5])
    open(undecodable, 'wb').write(UNDECODABLE_PNG)
    in_valid = osp.join(base, images['valid'][2])
    open(in_valid, 'wb').write(UNDECODABLE_PNG)
    return cut, undecodable, in_valid


def test_mura_every_bad_file_of_every_split(tmp_path, capsys):
    cut, undecodable, in_valid = damage_mura(tmp_path)
    assert check(MURA_CONFIG, '--data-root', tmp_path) == 1
    out = capsys.readouterr().out
    train_csv = osp.join(str(tmp_path), 'MURA-v1.1', 'train_image_paths.csv')
    valid_csv = osp.join(str(tmp_path), 'MURA-v1.1', 'valid_image_paths.csv')
    # Refused when the set is built (truncated) ...
    assert f'{train_csv}:3: {cut}: truncated PNG (no IEND chunk)' in out
    # ... and found by decoding (the rest of the set is still checked).
    assert (f'train: {train_csv}:6: {undecodable}: OSError: cannot decode '
            'image (corrupt file or unsupported format)') in out
    assert f'val: {valid_csv}:3: {in_valid}: OSError: cannot decode' in out
    assert 'train: 7 sample(s) checked, 2 file(s) cannot be loaded' in out
    assert 'val: 3 sample(s) checked, 1 file(s) cannot be loaded' in out
    assert 'test: the same dataset as val' in out
    assert '3 file(s) cannot be loaded' in out


def test_splits_option_and_a_clean_set(tmp_path, capsys):
    images = write_mura_fixture(str(tmp_path))
    assert check(MURA_CONFIG, '--data-root', tmp_path) == 0
    assert 'every file loads' in capsys.readouterr().out
    open(osp.join(str(tmp_path), images['train'][0]), 'wb').write(
        UNDECODABLE_PNG)
    assert check(MURA_CONFIG, '--data-root', tmp_path, '--splits',
                 'val') == 0
    out = capsys.readouterr().out
    assert 'train' not in out
    assert check(MURA_CONFIG, '--data-root', tmp_path, '--splits',
                 'train') == 1


def test_study_samples_have_each_view_checked(tmp_path, capsys):
    images = write_mura_fixture(str(tmp_path))
    # The second view of a three-view study.
    bad = osp.join(str(tmp_path), images['train'][4])
    open(bad, 'wb').write(UNDECODABLE_PNG)
    assert check(STUDY_CONFIG, '--data-root', tmp_path, '--splits',
                 'train') == 1
    out = capsys.readouterr().out
    train_csv = osp.join(str(tmp_path), 'MURA-v1.1', 'train_image_paths.csv')
    assert f'train: {train_csv}:5: {bad}: OSError: cannot decode' in out


def test_spine_volumes(tmp_path, capsys):
    import csv
    root = write_synthetic_spine(str(tmp_path / 'spine'), num_patients=3)
    with open(osp.join(root, 'discs.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    train = [(i, r) for i, r in enumerate(rows, start=2)
             if r['split'] == 'train']
    # Non-finite values are only found by loading the volume.
    bad = [train[1], train[3]]
    for _, row in bad:
        path = osp.join(root, row['volume'])
        volume = np.load(path)
        volume[0, 0, :2] = (np.nan, np.inf)
        np.save(path, volume)
    assert check(SPINE_CONFIG, '--data-root', root, '--splits',
                 'train') == 1
    out = capsys.readouterr().out
    csv_path = osp.join(root, 'discs.csv')
    for line, row in bad:
        # The row is named once, before the file.
        assert (f'train: {csv_path}:{line}: '
                f'{osp.join(root, row["volume"])}: ValueError: disc volume '
                'has 2 non-finite values (NaN or inf), the first at index '
                '(0, 0, 0)\n') in out, out
    assert f'{len(train)} sample(s) checked, 2 file(s) cannot be loaded' \
        in out


def test_fracatlas_skipped_files_are_noted_and_decoding_still_runs(
        tmp_path, capsys):
    root = str(tmp_path / 'FracAtlas')
    write_fracatlas_fixture(root)
    # A JPEG whose markers are all there but whose data is not an image.
    bad = osp.join(root, 'images', 'Non_fractured', 'IMG0000002.jpg')
    cut = osp.join(root, 'images', 'Non_fractured', 'IMG0000004.jpg')
    open(bad, 'wb').write(b'\xff\xd8\xff\xdanot an image\xff\xd9')
    content = open(cut, 'rb').read()
    open(cut, 'wb').write(content[:len(content) // 2])
    assert check(FRACATLAS_CONFIG, '--data-root', root, '--splits', 'train',
                 '--cfg-options', 'train_dataloader.dataset.split=all') == 1
    out = capsys.readouterr().out
    assert f'dataset.csv:3: {bad}: OSError: cannot read the JPEG header' \
        in out
    # The config leaves truncated files out (skip_corrupt=True): noted,
    # not counted.
    assert ('train: 1 empty or truncated file(s) left out by the config\'s '
            'skip_corrupt=True') in out
    assert 'train: 9 sample(s) checked, 1 file(s) cannot be loaded' in out


def test_loader_found_inside_cached_transforms(tmp_path):
    """The demo baseline caches its loading step; the check decodes with
    that step, not with a default loader."""
    from mmengine.config import Config
    from mmpretrain.registry import DATASETS

    from radplugins.datasets.dataset_check import find_loader
    from radplugins.utils import set_data_root
    write_mura_fixture(str(tmp_path))
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'mura',
                 'baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000.py'))
    set_data_root(cfg, str(tmp_path))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    cached = dataset.pipeline.transforms[0]
    assert type(cached).__name__ == 'CachedTransforms'
    assert find_loader(dataset) is cached.transforms.transforms[0]
