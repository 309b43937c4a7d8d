"""Model building blocks that are not registered modules."""
from .attention_crop import attention_crop, compose_boxes

__all__ = ['attention_crop', 'compose_boxes']
