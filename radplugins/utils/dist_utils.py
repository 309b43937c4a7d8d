"""Distributed launch on machines without CUDA (gloo on CPU)."""
import gc
import os

import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a distributed run for CPU-only machines.

    MMEngine's launcher calls ``torch.cuda.set_device`` and its DDP wrapper
    passes ``device_ids=[local_rank]``; both fail without CUDA. On such a
    machine this function starts the gloo process group itself before the
    Runner is built (the Runner then skips its own initialisation) and sets
    a DDP wrapper without device ids. With CUDA present it does nothing.

    Args:
        cfg (Config): The run's config; modified in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True when the CPU process group was set up here.

    Raises:
        RuntimeError: For a launcher other than ``pytorch`` without CUDA,
            or SyncBN in a CPU run.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs CUDA; without a GPU launch with '
            'torchrun (tools/dist_train.sh), i.e. --launcher pytorch')
    if 'SyncBN' in str(cfg.get('model', '')):
        raise RuntimeError('SyncBN has no CPU implementation; use BN in CPU '
                           'distributed runs')
    if not dist.is_initialized():
        missing = [
            k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
            if k not in os.environ
        ]
        if missing:
            raise RuntimeError(
                f'--launcher pytorch expects torchrun\'s environment; '
                f'missing {missing}. Use tools/dist_train.sh.')
        dist.init_process_group(backend='gloo', init_method='env://')
    cfg.setdefault('env_cfg', {})
    cfg.env_cfg.setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    # Buffers are identical at start; broadcasting them every step only
    # costs time on gloo.
    wrapper.setdefault('broadcast_buffers', False)
    if cfg.get('find_unused_parameters') is not None:
        wrapper.setdefault('find_unused_parameters',
                           cfg.find_unused_parameters)
    cfg.model_wrapper_cfg = wrapper
    return True


def teardown_distributed() -> None:
    """Wait for every rank, then destroy the default process group.

    A gloo group left alive at interpreter exit can abort a rank with
    ``terminate called without an active exception`` while its background
    threads are torn down, failing an otherwise finished run. The caller
    drops its runner first; the collection here frees the DDP wrapper and
    the data loaders that still hold the group, so that destroying the
    group ends its last reference and joins its threads now, while the
    interpreter is whole, rather than during finalisation in whatever
    order objects happen to die. No-op when not distributed.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
