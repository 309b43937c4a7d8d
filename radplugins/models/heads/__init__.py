"""Heads, registered in MMPretrain's MODELS."""
from .attention_proposal_network import AttentionProposalNetwork

__all__ = ['AttentionProposalNetwork']
