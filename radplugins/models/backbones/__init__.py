"""Backbones, registered in MMPretrain's MODELS."""
from .vgg_m import VGGM1024, VGGM_STAGES, kaiming_init

__all__ = ['VGGM1024', 'VGGM_STAGES', 'kaiming_init']
