"""Model wrappers, registered in MMEngine's registry (where the runner
looks)."""
from .racnn_distributed_data_parallel import RACNNDistributedDataParallel

__all__ = ['RACNNDistributedDataParallel']
