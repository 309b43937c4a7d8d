"""End to end through the command-line tools, as a user runs them."""
import glob
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

from tests.helpers import free_port

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_resnet18_synthetic-mura.py')


def run(args, extra_env=None, check=True):
    """Run a tool with torch's default (safe) checkpoint loading; with
    ``check`` it must exit 0."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
    }
    env.update(PYTHON=sys.executable, OMP_NUM_THREADS='1')
    env.update(extra_env or {})
    proc = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True)
    assert not check or proc.returncode == 0, (
        f'{" ".join(map(str, args))} failed:\n{proc.stdout[-3000:]}\n'
        f'{proc.stderr[-6000:]}')
    return proc


def train(work_dir, data_root, *extra):
    return run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), '--data-root', data_root, *extra
    ])


def test_metrics(work_dir):
    """The metrics a test run logged, from the runner's json log."""
    logs = sorted(glob.glob(osp.join(str(work_dir), '*', '*.json')))
    assert logs, f'no json log under {work_dir}'
    with open(logs[-1]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if 'mura/study/kappa' in r][-1]


test_metrics.__test__ = False  # a helper, not a test


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from tests.helpers import write_synthetic_mura
    return write_synthetic_mura(str(tmp_path_factory.mktemp('mura')))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, data_root):
    work_dir = tmp_path_factory.mktemp('train')
    proc = train(work_dir, data_root)
    return work_dir, proc


def load_state(path):
    return torch.load(path, map_location='cpu')


def test_train_writes_checkpoints_and_validates(trained):
    work_dir, proc = trained
    assert osp.isfile(work_dir / 'epoch_1.pth')
    assert osp.isfile(work_dir / 'epoch_2.pth')
    log = proc.stdout + proc.stderr
    assert 'loss:' in log
    assert 'mura/study/kappa' in log
    # The checkpoint is loadable with torch's default weights_only=True.
    ckpt = load_state(work_dir / 'epoch_2.pth')
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['meta']['dataset_meta']['classes'] == ('negative',
                                                       'positive')


def test_test_tool_reports_metrics_and_dumps_predictions(
        trained, data_root, tmp_path):
    work_dir, _ = trained
    out = tmp_path / 'preds.pkl'
    run([
        sys.executable, 'tools/test.py', CONFIG,
        str(work_dir / 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--data-root', data_root, '--out',
        str(out)
    ])
    metrics = test_metrics(tmp_path)
    for key in ('mura/study/kappa', 'mura/image/kappa',
                'mura/study/accuracy', 'mura/image/auroc'):
        assert key in metrics
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    from mmpretrain.registry import DATASETS
    from mmengine.config import Config
    from radplugins.utils import set_data_root
    cfg = Config.fromfile(CONFIG)
    set_data_root(cfg, data_root)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(preds) == len(dataset)
    assert [p['img_path'] for p in preds] == [
        dataset.get_data_info(i)['img_path'] for i in range(len(dataset))
    ]
    assert all(p['pred_score'].shape == (2, ) for p in preds)


def test_resume_ends_with_the_same_weights(trained, data_root, tmp_path):
    work_dir, _ = trained
    train(tmp_path, data_root, '--cfg-options', 'train_cfg.max_epochs=1')
    assert not osp.exists(tmp_path / 'epoch_2.pth')
    proc = train(tmp_path, data_root, '--resume')
    assert 'resumed epoch: 1' in (proc.stdout + proc.stderr)
    resumed = load_state(tmp_path / 'epoch_2.pth')
    straight = load_state(work_dir / 'epoch_2.pth')
    assert resumed['state_dict'].keys() == straight['state_dict'].keys()
    for key, value in straight['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key
    momentum = straight['optimizer']['state']
    assert momentum, 'SGD momentum buffers expected'
    for idx, state in momentum.items():
        assert torch.equal(resumed['optimizer']['state'][idx]
                           ['momentum_buffer'], state['momentum_buffer'])


def test_resume_from_explicit_path_and_load_from(trained, data_root,
                                                 tmp_path):
    work_dir, _ = trained
    proc = train(tmp_path / 'a', data_root, '--resume',
                 str(work_dir / 'epoch_1.pth'))
    assert 'resumed epoch: 1' in (proc.stdout + proc.stderr)
    proc = train(tmp_path / 'b', data_root, '--cfg-options',
                 f'load_from={work_dir / "epoch_2.pth"}',
                 'train_cfg.max_epochs=1')
    assert 'Load checkpoint from' in (proc.stdout + proc.stderr)


def test_amp_trains_and_tests_in_bfloat16_on_the_cpu(trained, data_root,
                                                     tmp_path):
    """--amp on a CPU: CPUAmpOptimWrapper and autocast validation in
    training, an autocast test loop whose predictions are float32 and
    close to float32's; on a CPU without bfloat16 instructions, float32
    and one log line."""
    if torch.cuda.is_available():
        pytest.skip('--amp means float16 AmpOptimWrapper with a GPU')
    from radplugins.utils import cpu_supports_bf16
    proc = train(tmp_path / 'amp', data_root, '--amp', '--channels-last',
                 '--cfg-options', 'train_cfg.max_epochs=1')
    log = proc.stdout + proc.stderr
    assert osp.isfile(tmp_path / 'amp' / 'epoch_1.pth')
    assert 'mura/study/kappa' in log
    with open(tmp_path / 'amp' / osp.basename(CONFIG)) as f:
        dumped = f.read()
    for name in ('CPUAmpOptimWrapper', 'AutocastInferenceHook',
                 'ChannelsLastHook'):
        assert name in dumped
    assert log.count('no bfloat16 instructions') == (
        0 if cpu_supports_bf16() else 1)

    work_dir, _ = trained
    scores = {}
    for precision, extra in (('float32', []), ('amp', ['--amp'])):
        out = tmp_path / f'{precision}.pkl'
        run([
            sys.executable, 'tools/test.py', CONFIG,
            str(work_dir / 'epoch_2.pth'), '--work-dir',
            str(tmp_path / precision), '--data-root', data_root, '--out',
            str(out), *extra
        ])
        assert 'mura/study/kappa' in test_metrics(tmp_path / precision)
        with open(out, 'rb') as f:
            scores[precision] = torch.stack(
                [p['pred_score'] for p in pickle.load(f)])
    assert scores['amp'].dtype == torch.float32
    torch.testing.assert_close(scores['amp'], scores['float32'], atol=0.05,
                               rtol=0)
    # bfloat16 really ran where the CPU has it.
    assert torch.equal(scores['amp'], scores['float32']) is \
        (not cpu_supports_bf16())


def test_distributed_train_and_test_on_two_processes(trained, data_root,
                                                     tmp_path):
    work_dir, _ = trained
    dist_dir = tmp_path / 'dist'
    proc = run([
        'bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
        str(dist_dir), '--data-root', data_root, '--cfg-options',
        'train_cfg.max_epochs=1'
    ], extra_env=dict(PORT=free_port()))
    log = proc.stdout + proc.stderr
    assert 'Distributed training is not used' not in log
    assert osp.isfile(dist_dir / 'epoch_1.pth')
    assert 'Distributed training: True' in log
    # 19 training images, batch 4: 5 iterations alone, 3 per rank with 2.
    assert 'Epoch(train) [1][3/3]' in log
    assert 'Epoch(train) [1][5/5]' in trained[1].stdout

    checkpoint = str(work_dir / 'epoch_2.pth')
    run([
        'bash', 'tools/dist_test.sh', CONFIG, checkpoint, '2', '--work-dir',
        str(tmp_path / 'dist_test'), '--data-root', data_root
    ], extra_env=dict(PORT=free_port()))
    run([
        sys.executable, 'tools/test.py', CONFIG, checkpoint, '--work-dir',
        str(tmp_path / 'single_test'), '--data-root', data_root
    ])
    dist_metrics = test_metrics(tmp_path / 'dist_test')
    single_metrics = test_metrics(tmp_path / 'single_test')
    assert dist_metrics['mura/study/kappa'] == pytest.approx(
        single_metrics['mura/study/kappa'], abs=1e-9, nan_ok=True)
    assert dist_metrics['mura/study/num_studies'] == \
        single_metrics['mura/study/num_studies']
    assert dist_metrics['mura/image/num_images'] == \
        single_metrics['mura/image/num_images']


def failed(proc):
    """The tool exited non-zero with a one-line error, no traceback."""
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-6000:]
    return proc.stderr


def weights_of(path, drop=(), add=None):
    """A bare state dict from a checkpoint, some keys dropped or added."""
    state = load_state(path)['state_dict']
    state = {k: v for k, v in state.items() if not k.startswith(drop)}
    state.update(add or {})
    return state


def test_test_tool_refuses_a_checkpoint_of_another_model(
        trained, data_root, tmp_path):
    work_dir, _ = trained
    other = tmp_path / 'other.pth'
    torch.save(dict(state_dict=weights_of(
        work_dir / 'epoch_2.pth', drop=('head.', ),
        add={'neck.fc.weight': torch.zeros(2, 2)})), other)
    proc = run([
        sys.executable, 'tools/test.py', CONFIG, str(other), '--work-dir',
        str(tmp_path / 'test'), '--data-root', data_root
    ], check=False)
    stderr = failed(proc)
    assert f'error: {other} does not fit the model (ImageClassifier): ' \
        '2 missing key(s) (the model has them, the file does not): ' \
        'head.fc.weight, head.fc.bias; 1 unexpected key(s) (the file has ' \
        'them, the model does not): neck.fc.weight' in stderr
    assert 'Use the config it was trained with.' in stderr
    assert 'mura/study/kappa' not in proc.stdout + stderr


def test_test_tool_names_an_empty_checkpoint(data_root, tmp_path):
    empty = tmp_path / 'epoch_9.pth'
    empty.write_bytes(b'')
    proc = run([
        sys.executable, 'tools/test.py', CONFIG, str(empty), '--work-dir',
        str(tmp_path / 'test'), '--data-root', data_root
    ], check=False)
    assert f'error: {empty}: empty or truncated checkpoint file (0 bytes)' \
        in failed(proc)


def test_resume_from_weights_only_checkpoint_suggests_load_from(
        trained, data_root, tmp_path):
    work_dir, _ = trained
    weights = tmp_path / 'weights.pth'
    torch.save(weights_of(work_dir / 'epoch_1.pth'), weights)
    proc = run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(tmp_path / 'run'), '--data-root', data_root, '--resume',
        str(weights)
    ], check=False)
    assert (f'error: {weights}: not a training checkpoint (it has no '
            'meta.epoch, meta.iter, message_hub, optimizer), so --resume '
            'cannot continue a run from it. To start a new run from its '
            f'weights, pass it as --cfg-options load_from={weights} '
            'instead of --resume.') in failed(proc)


def test_load_from_without_the_head_needs_the_configs_allowance(
        trained, data_root, tmp_path):
    work_dir, _ = trained
    backbone = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict=weights_of(work_dir / 'epoch_2.pth',
                                          drop=('head.', ))), backbone)
    common = ['--cfg-options', f'load_from={backbone}',
              'train_cfg.max_epochs=1']
    proc = run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(tmp_path / 'refused'), '--data-root', data_root, *common
    ], check=False)
    stderr = failed(proc)
    assert f'error: {backbone} does not fit the model' in stderr
    assert "load_from_allow_missing=['head.']" in stderr
    assert not osp.exists(tmp_path / 'refused' / 'epoch_1.pth')

    proc = train(tmp_path / 'allowed', data_root, *common,
                 "load_from_allow_missing=['head.']")
    log = proc.stdout + proc.stderr
    assert f'{backbone}: allowed differences from the model: 2 missing ' \
        'key(s)' in log
    assert osp.isfile(tmp_path / 'allowed' / 'epoch_1.pth')
