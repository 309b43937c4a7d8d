"""tools/feature_svm.py as a user runs it (in-process, to stay fast)."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from radplugins.apis import init_model
from tests import helpers
from tests.helpers import write_mura_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')


def load_tool():
    return helpers.load_tool('feature_svm.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool()


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = init_model(Config.fromfile(CONFIG), None)
    path = str(tmp_path / 'net.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def two_class_fixture(root):
    """Wrists and hands, both classes in each split."""
    studies = []
    patient = 0
    for split, count in (('train', 6), ('valid', 2)):
        for part in ('XR_WRIST', 'XR_HAND'):
            for k in range(count):
                patient += 1
                studies.append((split, part, f'patient{patient:05d}', 1,
                                k % 2, 1 + k % 2))
    write_mura_fixture(root, studies)
    return root


def run(tool, *argv):
    return tool.main([CONFIG, *argv, '--num-workers', '0', '--n-jobs', '1',
                      '--no-progress'])


def test_table_written_and_cache_reused(tool, checkpoint, tmp_path, capsys):
    data = two_class_fixture(str(tmp_path / 'data'))
    out = str(tmp_path / 'out')
    run(tool, checkpoint, '--data-root', data, '--out', out)
    first = capsys.readouterr().out
    assert first.count('features: extracting') == 2
    with open(osp.join(out, 'svm_table.json')) as f:
        result = json.load(f)
    rows = {r['body_part']: r for r in result['rows']}
    assert list(rows) == ['XR_HAND', 'XR_WRIST', 'ALL']
    # 6 train studies of 1 or 2 views, 2 valid studies, per part.
    assert (rows['XR_HAND']['num_train'], rows['XR_HAND']['num_test']) == \
        (9, 3)
    assert rows['ALL']['num_test_studies'] == 4
    assert result['svm']['degree'] == 5 and result['skipped'] == {}
    with open(osp.join(out, 'svm_table.txt')) as f:
        assert f.read().strip() in first

    run(tool, checkpoint, '--data-root', data, '--out', out)
    second = capsys.readouterr().out
    assert second.count('features: reusing') == 2
    assert 'extracting' not in second


def test_single_class_body_part_names_it(tool, checkpoint, mura_root,
                                         tmp_path_factory):
    # mura_root is tmp_path; an --out inside the data root is refused.
    with pytest.raises(SystemExit, match='body part XR_HAND: all 3'):
        run(tool, checkpoint, '--data-root', mura_root, '--out',
            str(tmp_path_factory.mktemp('out')))


def test_empty_body_part_skipped(tool, checkpoint, mura_root,
                                 tmp_path_factory, capsys):
    with pytest.raises(SystemExit, match='no body part has both'):
        run(tool, checkpoint, '--data-root', mura_root, '--out',
            str(tmp_path_factory.mktemp('out')), '--body-parts', 'elbow')
    assert 'skipping body part XR_ELBOW: 2 training and 0 test images' in \
        capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown body part 'knee'"):
        run(tool, checkpoint, '--data-root', mura_root, '--body-parts',
            'knee')
