"""RACNNDistributedDataParallel: found where MMEngine's runner looks, and
refuses a setting it cannot work with. Its training behaviour is tested
with two processes in tests/test_tools/test_train_racnn.py."""
import pytest
from mmengine.registry import MODEL_WRAPPERS

import radplugins  # noqa: F401
from radplugins.engine.model_wrappers import RACNNDistributedDataParallel


def test_the_runner_finds_the_wrapper_in_mmengines_registry():
    # Runner.wrap_model does MODEL_WRAPPERS.get(type) on MMEngine's root
    # registry, which does not search child registries.
    assert MODEL_WRAPPERS.get('RACNNDistributedDataParallel') is \
        RACNNDistributedDataParallel


def test_refuses_find_unused_parameters_false():
    with pytest.raises(ValueError, match='find_unused_parameters=True'):
        RACNNDistributedDataParallel(module=None,
                                     find_unused_parameters=False)
