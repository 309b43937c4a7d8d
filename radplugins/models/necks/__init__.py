"""Necks, registered in MMPretrain's MODELS."""
from .view_fusion_neck import ViewFusionNeck

__all__ = ['ViewFusionNeck']
