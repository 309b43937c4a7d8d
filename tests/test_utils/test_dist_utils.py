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


def test_teardown_frees_the_group_a_dropped_ddp_wrapper_held(tmp_path):
    """The group's threads must be joined at teardown, not during
    interpreter finalisation: once the caller has dropped its runner,
    nothing may keep the group alive past teardown. A runner is part of
    reference cycles (its hooks and loops point back at it), so dropping
    it frees nothing until a collection; the holder below is such a
    cycle."""
    import types
    import weakref

    import torch
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel

    from radplugins.utils import teardown_distributed
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "init"}', rank=0,
        world_size=1)
    group = weakref.ref(dist.group.WORLD)
    model = MMDistributedDataParallel(
        torch.nn.Linear(2, 2), device_ids=None, broadcast_buffers=False)
    model(torch.ones(1, 2)).sum().backward()
    runner = types.SimpleNamespace(model=model)
    runner.loop = types.SimpleNamespace(runner=runner)
    del model, runner
    assert group() is not None
    teardown_distributed()
    assert group() is None
