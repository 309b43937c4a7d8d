"""Backbones, registered in MMPretrain's MODELS."""
from .early_fusion_backbone import EarlyFusionBackbone
from .vgg_m import VGGM1024, VGGM_STAGES, kaiming_init

__all__ = ['EarlyFusionBackbone', 'VGGM1024', 'VGGM_STAGES', 'kaiming_init']
