"""tools/train.py on a real-data config whose model-zoo file is not in the
torch hub cache, on a machine without a network: it stops before training
with one line naming the URL and the exact path the file is expected at.

The network is replaced by a proxy on a local port where nothing listens,
so the download is refused at once and nothing leaves the machine.
"""
import os
import os.path as osp
import subprocess
import sys

from tests.helpers import free_port, write_mura_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/mura/baseline_densenet169_1xb8_30e_mura.py'
URL = ('https://download.openmmlab.com/mmclassification/v0/densenet/'
       'densenet169_4xb256_in1k_20220426-a2889902.pth')
NAME = 'densenet169_4xb256_in1k_20220426-a2889902.pth'


def test_train_without_the_file_and_network_stops_with_one_line(tmp_path):
    # Beside the work dir, not around it: train.py refuses a work dir
    # inside the data.
    mura_root = str(tmp_path / 'data')
    write_mura_fixture(mura_root)
    torch_home = tmp_path / 'torch_home'
    closed = f'http://127.0.0.1:{free_port()}'
    env = {k: v for k, v in os.environ.items()
           if 'proxy' not in k.lower() and
           k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    env.update(TORCH_HOME=str(torch_home), OMP_NUM_THREADS='1',
               http_proxy=closed, https_proxy=closed, no_proxy='')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
         str(tmp_path / 'work'), '--data-root', mura_root],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    cached = torch_home / 'hub' / 'checkpoints' / NAME
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f'error: {URL}: pretrained weights not available: {cached} does '
        'not exist and downloading it failed (URLError: [Errno 111] '
        'Connection refused). MMEngine reads this URL from the torch hub '
        f'cache ($TORCH_HOME/hub/checkpoints/<file name>, here '
        f'{cached.parent}). Without a network, copy {NAME} there'), last
    assert last.endswith('see docs/pretrained_weights.md.')
    assert not cached.exists()
    # It stopped before the first iteration: no checkpoint was written.
    assert not list((tmp_path / 'work').glob('*.pth'))
