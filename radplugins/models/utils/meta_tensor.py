"""One metainfo field of a batch of data samples as a tensor."""
from typing import Sequence

import torch
from mmpretrain.structures import DataSample


def meta_tensor(data_samples: Sequence[DataSample], key: str, device,
                owner: str, hint: str) -> torch.Tensor:
    """Stack the metainfo ``key`` of every sample into a float32 tensor.

    Args:
        data_samples (Sequence[DataSample]): The batch's samples.
        key (str): A metainfo field, e.g. ``'scale_factor'``.
        device: Device of the result.
        owner (str): Who needs the field, e.g. ``'ZoomInClassifier'``;
            the error starts with it.
        hint (str): How a pipeline provides the field; the error ends
            with it.

    Returns:
        torch.Tensor: ``(N, ...)`` float32, one row per sample.

    Raises:
        KeyError: ``'{owner} needs {key!r} in the data samples (sample
            {i}: {img_path}); {hint}'`` for the first sample without it.
    """
    values = []
    for i, sample in enumerate(data_samples):
        if key not in sample:
            raise KeyError(
                f'{owner} needs {key!r} in the data samples (sample {i}: '
                f'{sample.get("img_path", "?")}); {hint}')
        values.append(sample.get(key))
    return torch.as_tensor(values, dtype=torch.float32, device=device)
