import pytest
import torch
from mmengine.config import Config

from radplugins.utils import setup_cpu_distributed

needs_cpu_only = pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU route is taken without CUDA')


def test_non_distributed_is_untouched():
    cfg = Config(dict(model=dict(type='X')))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert 'model_wrapper_cfg' not in cfg


@needs_cpu_only
def test_slurm_without_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match='--launcher slurm needs CUDA'):
        setup_cpu_distributed(Config(dict(model=dict())), 'slurm')


@needs_cpu_only
def test_syncbn_on_cpu_is_a_clear_error():
    cfg = Config(dict(model=dict(norm_cfg=dict(type='SyncBN'))))
    with pytest.raises(RuntimeError, match='SyncBN'):
        setup_cpu_distributed(cfg, 'pytorch')


@needs_cpu_only
def test_pytorch_launcher_outside_torchrun(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match='torchrun'):
        setup_cpu_distributed(Config(dict(model=dict())), 'pytorch')


def test_teardown_destroys_the_group(tmp_path):
    import torch.distributed as dist

    from radplugins.utils import teardown_distributed
    teardown_distributed()  # not initialised: nothing to do
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "init"}', rank=0,
        world_size=1)
    assert dist.is_initialized()
    teardown_distributed()
    assert not dist.is_initialized()
