"""Models, registered in MMPretrain's MODELS."""
from .data_preprocessors import *  # noqa: F401,F403
