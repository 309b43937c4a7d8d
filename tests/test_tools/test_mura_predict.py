"""tools/mura_predict.py: the MURA challenge's submission interface."""
import os.path as osp
import pickle
import subprocess
import sys
from collections import OrderedDict

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')


def run(args, cwd=ROOT, check=True):
    env = dict(
        __import__('os').environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    proc = subprocess.run([sys.executable, *map(str, args)],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True)
    if check:
        assert proc.returncode == 0, (f'{args} failed:\n{proc.stdout[-3000:]}'
                                      f'\n{proc.stderr[-6000:]}')
    return proc


@pytest.fixture(scope='module')
def checkpoint_and_data(tmp_path_factory):
    from tests.helpers import write_synthetic_mura
    data_root = write_synthetic_mura(str(tmp_path_factory.mktemp('mura')))
    work_dir = tmp_path_factory.mktemp('train')
    run([
        osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir', work_dir,
        '--data-root', data_root, '--cfg-options', 'train_cfg.max_epochs=1'
    ])
    return str(work_dir / 'epoch_1.pth'), data_root


@pytest.fixture(scope='module')
def straight(checkpoint_and_data, tmp_path_factory):
    """Predictions as the challenge runs the tool: from the folder that
    holds MURA-v1.1/, on the split's image list."""
    checkpoint, data_root = checkpoint_and_data
    out = tmp_path_factory.mktemp('predict') / 'predictions.csv'
    proc = predict('MURA-v1.1/valid_image_paths.csv', out, checkpoint,
                   data_root)
    assert '6 studies' in proc.stdout
    return read_lines(out)


def read_lines(path):
    with open(path) as f:
        return [line.rstrip('\n') for line in f]


def predict(input_csv, output_csv, checkpoint, cwd, check=True):
    return run([
        osp.join(ROOT, 'tools', 'mura_predict.py'), input_csv, output_csv,
        '--config', CONFIG, '--checkpoint', checkpoint
    ],
               cwd=cwd,
               check=check)


def test_labels_match_the_study_predictions_of_test_py(
        checkpoint_and_data, straight, tmp_path):
    checkpoint, data_root = checkpoint_and_data

    dump = tmp_path / 'preds.pkl'
    run([
        osp.join(ROOT, 'tools', 'test.py'), CONFIG, checkpoint, '--work-dir',
        tmp_path / 'test', '--data-root', data_root, '--out', dump
    ])
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    # The study-level rule of MURA: mean positive probability of the views,
    # abnormal when > 0.5, computed here independently of the metric.
    views = OrderedDict()
    for pred in preds:
        study = osp.relpath(osp.dirname(pred['img_path']), data_root) + '/'
        views.setdefault(study, []).append(float(pred['pred_score'][1]))
    expected = [
        f'{study},{int(sum(p) / len(p) > 0.5)}'
        for study, p in views.items()
    ]
    # The labels alone could agree by chance (a barely trained model may
    # call every study one class), so the probabilities must agree too.
    from mmengine.config import Config
    from radplugins.apis import init_model
    tool = load_tool()
    ids, probs = tool.predict_study_probs(
        init_model(Config.fromfile(CONFIG), checkpoint),
        tool.read_image_list(
            osp.join(data_root, 'MURA-v1.1', 'valid_image_paths.csv')),
        data_root)
    assert ids == list(views)
    assert probs.tolist() == pytest.approx(
        [sum(p) / len(p) for p in views.values()], abs=1e-6)

    images = read_lines(osp.join(data_root, 'MURA-v1.1',
                                 'valid_image_paths.csv'))
    first_seen = list(OrderedDict.fromkeys(
        osp.dirname(p) + '/' for p in images))
    lines = straight
    assert [line.rsplit(',', 1)[0] for line in lines] == first_seen
    assert len(lines) == 6  # the fixture's valid studies
    assert lines == expected
    assert all(line.rsplit(',', 1)[1] in ('0', '1') for line in lines)


def test_reordered_input_keeps_first_appearance_order(
        checkpoint_and_data, straight, tmp_path):
    checkpoint, data_root = checkpoint_and_data
    images = read_lines(osp.join(data_root, 'MURA-v1.1',
                                 'valid_image_paths.csv'))
    # Reversed rows and absolute paths: studies come in another order.
    rows = [osp.join(data_root, p) for p in reversed(images)]
    csv_path = tmp_path / 'shuffled.csv'
    csv_path.write_text(''.join(r + '\n' for r in rows))
    out = tmp_path / 'out.csv'
    predict(csv_path, out, checkpoint, tmp_path)
    lines = read_lines(out)
    studies = list(OrderedDict.fromkeys(osp.dirname(r) + '/' for r in rows))
    assert [line.rsplit(',', 1)[0] for line in lines] == studies
    by_study = {
        osp.join(data_root, line.rsplit(',', 1)[0]): line.rsplit(',', 1)[1]
        for line in straight
    }
    assert {line.rsplit(',', 1)[0]: line.rsplit(',', 1)[1]
            for line in lines} == by_study


@pytest.mark.parametrize('damage', ['corrupt', 'missing'])
def test_unreadable_image_fails_naming_its_path(checkpoint_and_data,
                                                 tmp_path, capsys, damage):
    checkpoint, data_root = checkpoint_and_data
    images = read_lines(osp.join(data_root, 'MURA-v1.1',
                                 'valid_image_paths.csv'))
    bad = tmp_path / 'MURA-v1.1' / 'valid' / 'XR_HAND' / 'patient99999' / \
        'study1' / 'image1.png'
    bad.parent.mkdir(parents=True)
    if damage == 'corrupt':
        bad.write_bytes(b'\x89PNG\r\n\x1a\n not an image')
    rows = [osp.join(data_root, p) for p in images[:3]] + [str(bad)]
    csv_path = tmp_path / 'input.csv'
    csv_path.write_text(''.join(r + '\n' for r in rows))
    out = tmp_path / 'out.csv'
    tool = load_tool()
    status = tool.main([
        str(csv_path),
        str(out), '--config', CONFIG, '--checkpoint', checkpoint
    ])
    err = capsys.readouterr().err
    assert status == 1
    assert str(bad) in err
    assert 'row 4' in err or 'row(s) 4' in err
    assert not osp.exists(out)


def load_tool():
    from tests import helpers
    return helpers.load_tool('mura_predict.py')


def test_study_models_get_one_sample_per_study_cut_to_num_views(
        checkpoint_and_data, capsys):
    _, data_root = checkpoint_and_data
    tool = load_tool()
    rows = [(1, 'MURA-v1.1/valid/XR_HAND/p1/s1/a.png'),
            (2, 'MURA-v1.1/valid/XR_HAND/p2/s1/a.png')]
    rows += [(3 + i, f'MURA-v1.1/valid/XR_HAND/p1/s1/v{i}.png')
             for i in range(4)]
    root = osp.join(data_root, 'views')
    for _, path in rows:
        full = osp.join(root, path)
        __import__('os').makedirs(osp.dirname(full), exist_ok=True)
        open(full, 'wb').close()
    samples = tool.build_samples(rows, root, per_study=True, num_views=3)
    assert [s['study_id'] for s in samples] == [
        'MURA-v1.1/valid/XR_HAND/p1/s1/', 'MURA-v1.1/valid/XR_HAND/p2/s1/'
    ]
    assert [osp.basename(p) for p in samples[0]['img_paths']] == [
        'a.png', 'v0.png', 'v1.png'
    ]
    assert samples[0]['rows'] == [1, 3, 4, 5, 6]
    assert '1 of 2 studies have more than 3 views' in capsys.readouterr().err

    from mmengine.config import Config
    from radplugins.apis import init_model
    model = init_model(
        Config.fromfile(
            osp.join(ROOT, 'tests', 'data',
                     'tiny_latefusion_resnet18_synthetic-mura.py')))
    images = tool.read_image_list(
        osp.join(data_root, 'MURA-v1.1', 'valid_image_paths.csv'))
    predictions = tool.predict_studies(model, images, data_root)
    assert [s for s, _ in predictions] == list(
        OrderedDict.fromkeys(osp.dirname(p) + '/' for _, p in images))
    assert {label for _, label in predictions} <= {0, 1}


def test_output_may_not_replace_an_input_or_the_dataset(tmp_path, capsys):
    """The image list, the ground truth next to it, the config, a study
    folder's file: all refused before anything is loaded, and intact."""
    from tests.helpers import write_mura_fixture
    write_mura_fixture(str(tmp_path))
    mura = tmp_path / 'MURA-v1.1'
    image_list = mura / 'valid_image_paths.csv'
    truth = mura / 'valid_labeled_studies.csv'
    other = tmp_path / 'elsewhere' / 'study'
    other.mkdir(parents=True)
    (other / 'x.png').write_bytes(b'not read')
    odd_list = tmp_path / 'odd.csv'
    odd_list.write_text(f'{other / "x.png"}\n')
    config = tmp_path / 'config.py'
    config.write_text(f'_base_ = [{CONFIG!r}]\n')
    before = {p: p.read_bytes() for p in tmp_path.rglob('*') if p.is_file()}
    cases = [
        (image_list, image_list,
         f'OUTPUT_CSV {image_list} is the input file {image_list}'),
        (image_list, truth, f'OUTPUT_CSV {truth} lies inside the input '
         f'folder {mura}'),
        (image_list, mura / 'new' / 'preds.csv', 'lies inside the input'),
        (image_list, config, f'OUTPUT_CSV {config} is the input file '
         f'{config}'),
        (odd_list, other / 'preds.csv', f'lies inside the input folder '
         f'{other}'),
        (image_list, tmp_path / 'elsewhere',
         f'OUTPUT_CSV {tmp_path / "elsewhere"} is an existing folder'),
    ]
    tool = load_tool()
    for input_csv, output_csv, message in cases:
        status = tool.main([
            str(input_csv),
            str(output_csv), '--config',
            str(config), '--checkpoint',
            str(tmp_path / 'missing.pth'), '--data-root',
            str(tmp_path)
        ])
        err = capsys.readouterr().err
        assert status == 1, (output_csv, err)
        assert message in err, err
    after = {p: p.read_bytes() for p in tmp_path.rglob('*') if p.is_file()}
    assert after == before


def test_dataset_folders():
    tool = load_tool()
    rows = [(1, 'MURA-v1.1/valid/XR_HAND/p1/s1/a.png'),
            (2, 'MURA-v1.1/train/XR_HAND/p2/s1/a.png'),
            (3, '/abs/MURA-v1.1/valid/XR_WRIST/p3/s1/b.png'),
            (4, 'plain/p4/s1/c.png')]
    assert tool.dataset_folders(rows, '/data') == [
        '/data/MURA-v1.1', '/abs/MURA-v1.1', '/data/plain/p4/s1'
    ]


def test_checkpoint_of_another_model_fails_naming_it(tmp_path, capsys):
    """Weights that leave the head random are refused, not predicted with."""
    import torch

    from radplugins.apis import init_model
    from tests.helpers import write_synthetic_mura
    data_root = write_synthetic_mura(str(tmp_path / 'mura'))
    images = read_lines(osp.join(data_root, 'MURA-v1.1',
                                 'valid_image_paths.csv'))
    csv_path = tmp_path / 'input.csv'
    csv_path.write_text(''.join(osp.join(data_root, p) + '\n'
                                for p in images))
    state = init_model(CONFIG).state_dict()
    ckpt = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict={k: v for k, v in state.items()
                                if not k.startswith('head.')}), ckpt)
    out = tmp_path / 'out.csv'
    status = load_tool().main([
        str(csv_path), str(out), '--config', CONFIG, '--checkpoint',
        str(ckpt)
    ])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(
        f'error: {ckpt} does not fit the model (ImageClassifier): 2 missing '
        'key(s) (the model has them, the file does not): head.fc.weight, '
        'head.fc.bias.')
    assert not osp.exists(out)


def test_image_list_with_a_byte_order_mark(tmp_path):
    path = tmp_path / 'images.csv'
    path.write_text('MURA-v1.1/valid/XR_HAND/patient1/study1_negative/'
                    'image1.png\n', encoding='utf-8-sig')
    assert load_tool().read_image_list(str(path)) == [
        (1, 'MURA-v1.1/valid/XR_HAND/patient1/study1_negative/image1.png')]


def test_amp_runs_the_studies_in_bfloat16(checkpoint_and_data, straight,
                                         tmp_path, monkeypatch):
    """--amp: the probabilities of float32 to bfloat16's rounding, and the
    command line switches it on."""
    import numpy as np

    from radplugins.apis import init_model
    from radplugins.utils import amp_inference, precision
    monkeypatch.setattr(precision, 'cpu_supports_bf16', lambda: True)
    checkpoint, data_root = checkpoint_and_data
    tool = load_tool()
    rows = tool.read_image_list(
        osp.join(data_root, 'MURA-v1.1', 'valid_image_paths.csv'))
    model = init_model(CONFIG, checkpoint)
    ids, ref = tool.predict_study_probs(model, rows, data_root)
    with amp_inference(model) as dtype:
        assert dtype is not None
        amp_ids, probs = tool.predict_study_probs(model, rows, data_root)
    assert amp_ids == ids and probs.dtype == np.float64
    assert not np.array_equal(probs, ref)
    np.testing.assert_allclose(probs, ref, atol=0.05)

    seen = []

    def spy(model, enabled=True, **kwargs):
        seen.append(enabled)
        return amp_inference(model, enabled=enabled, **kwargs)

    monkeypatch.setattr(tool, 'amp_inference', spy)
    out = tmp_path / 'amp.csv'
    assert tool.main([
        osp.join(data_root, 'MURA-v1.1', 'valid_image_paths.csv'),
        str(out), '--config', CONFIG, '--checkpoint', checkpoint,
        '--data-root', data_root, '--amp', '--channels-last'
    ]) == 0
    assert seen == [True]
    assert len(read_lines(out)) == len(straight)
