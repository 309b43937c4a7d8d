"""Engine parts: hooks, model wrappers, optimiser constructors, runner."""
from .hooks import *  # noqa: F401,F403
from .model_wrappers import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .runner import CheckpointCheckedRunner, build_runner  # noqa: F401
