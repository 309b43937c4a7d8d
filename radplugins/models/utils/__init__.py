"""Model building blocks that are not registered modules."""
from .attention_crop import attention_crop, compose_boxes
from .meta_tensor import meta_tensor

__all__ = ['attention_crop', 'compose_boxes', 'meta_tensor']
