"""Evaluation: metrics for study-labelled radiology."""
from .metrics import *  # noqa: F401,F403
