"""Data preprocessor that also batches the high-resolution originals."""
from typing import List, Optional

import numpy as np
import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS


@MODELS.register_module()
class RadDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` plus the ``hr_img`` copies of the batch.

    The network-size inputs are handled exactly as by MMPretrain. When the
    data samples carry ``hr_img`` (see :class:`KeepHighRes`), each copy is
    moved to the model's device, converted to RGB and normalised like the
    inputs, and all copies are zero-padded (after normalisation) at the
    bottom/right to the largest height and width of the batch and stacked.
    The batch is exposed as ``data_sample.hr_img`` (a view into one
    ``(B, C, H, W)`` tensor, so ``torch.stack`` of them is the batch) and
    each sample's valid region stays in its ``hr_shape`` metainfo.

    Single-channel copies of a multi-channel input (``KeepHighRes(gray=
    True)``) cannot be normalised per network channel, so they are batched
    as they are and a model finishes its crops with
    :meth:`finish_high_res_crops` (replicate, then normalise): cropping and
    resizing are linear, so this equals cropping a normalised 3-channel
    copy, at a third of the memory and copying.

    Args:
        hr_key (str): Data-sample field holding the copy. Defaults to
            ``'hr_img'``.
        **kwargs: Arguments of :class:`ClsDataPreprocessor`.
    """

    def __init__(self, hr_key: str = 'hr_img', **kwargs) -> None:
        super().__init__(**kwargs)
        self.hr_key = hr_key

    @staticmethod
    def _as_chw(hr) -> torch.Tensor:
        """A copy as a ``(C, H, W)`` tensor, without converting its dtype."""
        if isinstance(hr, np.ndarray):
            if hr.ndim == 2:
                hr = hr[..., None]
            hr = torch.from_numpy(hr).permute(2, 0, 1)
        return hr

    def stack_high_res(self, data_samples: List,
                       network_channels: Optional[int] = None
                       ) -> Optional[torch.Tensor]:
        """Normalise, pad and stack the samples' ``hr_img`` fields.

        Args:
            data_samples (list[DataSample]): Samples of one batch.
            network_channels (int, optional): Channels of the network
                input. Gray copies of a multi-channel input are stacked
                without normalisation (see :meth:`finish_high_res_crops`).

        Returns:
            torch.Tensor | None: ``(B, C, H, W)`` or None when the samples
            carry no high-resolution copy.
        """
        if not data_samples or self.hr_key not in data_samples[0]:
            return None
        missing = [i for i, s in enumerate(data_samples) if self.hr_key
                   not in s]
        if missing:
            raise ValueError(f'samples {missing} of the batch have no '
                             f'{self.hr_key!r} while others do')
        copies = [self._as_chw(s.get(self.hr_key)) for s in data_samples]
        channels = copies[0].shape[0]
        height = max(c.shape[1] for c in copies)
        width = max(c.shape[2] for c in copies)
        # The copies are large (a batch of 1024-px images is hundreds of MB
        # in float32): each is written once into a preallocated, zero-padded
        # batch and normalised there in place, instead of being converted,
        # flipped, normalised, padded and stacked into fresh tensors.
        # Only the padding needs zeros: filling the whole batch first cost
        # as much as a copy.
        batch = torch.empty(
            len(copies), channels, height, width, device=self.device)
        flip = self.to_rgb and channels == 3
        normalize = self._enable_normalize and not self._gray_for_colour(
            channels, network_channels)
        for i, copy in enumerate(copies):
            if copy.shape[0] != channels:
                raise ValueError(
                    f'sample {i} has a {copy.shape[0]}-channel {self.hr_key}'
                    f', sample 0 has {channels}')
            h, w = copy.shape[1:]
            batch[i, :, h:].zero_()
            batch[i, :, :h, w:].zero_()
            region = batch[i, :, :h, :w]
            region.copy_(copy.flip(0) if flip else copy, non_blocking=True)
            if normalize:
                region.sub_(self.mean).div_(self.std)
        for sample, hr, copy in zip(data_samples, batch, copies):
            sample.set_field(hr, self.hr_key)
            sample.set_metainfo(dict(hr_shape=tuple(copy.shape[1:])))
        return batch

    @staticmethod
    def _gray_for_colour(channels: int,
                         network_channels: Optional[int]) -> bool:
        """Whether copies of ``channels`` channels are gray copies of a
        network input with more channels."""
        return channels == 1 and (network_channels or 1) > 1

    def finish_high_res_crops(self, crops: torch.Tensor,
                              network_channels: int) -> torch.Tensor:
        """Make crops of the high-resolution batch network-ready.

        Crops of a normalised copy are returned as they are; crops of a
        gray copy of a multi-channel input are replicated to
        ``network_channels`` and normalised per channel, like the inputs.

        Args:
            crops (torch.Tensor): ``(N, C, h, w)`` crops of the batch that
                :meth:`stack_high_res` made.
            network_channels (int): Channels of the network input.

        Returns:
            torch.Tensor: ``(N, network_channels, h, w)``.
        """
        channels = crops.shape[1]
        if channels == network_channels:
            return crops
        if not self._gray_for_colour(channels, network_channels):
            raise ValueError(
                f'{channels}-channel crops cannot feed a '
                f'{network_channels}-channel network')
        crops = crops.expand(-1, network_channels, -1, -1)
        if self._enable_normalize:
            crops = (crops - self.mean) / self.std
        return crops

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess the inputs as MMPretrain does, then the copies.

        Args:
            data (dict): Data sampled from the dataloader.
            training (bool): Whether to apply training-time augmentation.

        Returns:
            dict: ``inputs`` and ``data_samples`` (with batched ``hr_img``).
        """
        out = super().forward(data, training)
        samples = out.get('data_samples')
        if samples is not None and len(samples) and \
                hasattr(samples[0], 'get'):
            inputs = out['inputs']
            self.stack_high_res(
                samples, inputs.shape[1]
                if isinstance(inputs, torch.Tensor) else None)
        return out
