"""Backbones, registered in MMPretrain's MODELS."""
from .early_fusion_backbone import EarlyFusionBackbone

__all__ = ['EarlyFusionBackbone']
