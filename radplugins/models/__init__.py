"""Models, registered in MMPretrain's MODELS (the box refiner and detection
test-time augmentation in MMDetection's)."""
from .backbones import *  # noqa: F401,F403
from .box_refiners import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .test_time_augs import *  # noqa: F401,F403
