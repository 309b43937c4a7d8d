"""VGG-M-1024 (Chatfield et al. 2014) as SpineNet uses it."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

VGGM_STAGES = ('conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7')


def kaiming_init(module: nn.Module) -> None:
    """He initialisation of every conv and linear layer in ``module``
    (SpineNet trains from scratch with it)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
            nn.init.zeros_(m.bias)


@MODELS.register_module()
class VGGM1024(BaseModule):
    """VGG-M-1024 without local response normalisation.

    ``conv1`` 96 7x7/2, max-pool 2x2/2; ``conv2`` 256 5x5/2, max-pool;
    ``conv3``-``conv5`` 512 3x3; max-pool; ``fc6`` 4096; ``fc7`` 1024, with
    ReLU everywhere and dropout after the fully connected layers. The
    stages are kept as a ``ModuleList`` named by :data:`VGGM_STAGES` so a
    multi-task model can branch after any of them.

    Args:
        in_channels (int): Input channels (9 slices for a disc volume).
        input_size (tuple): ``(H, W)`` the fully connected layers are sized
            for.
        widths (Sequence[int]): Widths of the seven stages.
        dropout (float): Dropout after fc6 and fc7.
        out_indices (Sequence[int]): Stages whose outputs are returned.
        init_cfg (dict, optional): MMEngine init config; He init when None.
    """

    def __init__(self,
                 in_channels: int = 9,
                 input_size: Tuple[int, int] = (112, 224),
                 widths: Sequence[int] = (96, 256, 512, 512, 512, 4096,
                                          1024),
                 dropout: float = 0.5,
                 out_indices: Sequence[int] = (6, ),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(widths) != len(VGGM_STAGES):
            raise ValueError(f'widths {tuple(widths)} must have '
                             f'{len(VGGM_STAGES)} entries')
        for i in out_indices:
            if not 0 <= i < len(VGGM_STAGES):
                raise ValueError(f'out index {i} outside 0..6')
        self.in_channels = in_channels
        self.input_size = tuple(input_size)
        self.widths = tuple(widths)
        self.out_indices = tuple(out_indices)
        c1, c2, c3, c4, c5, f6, f7 = widths
        convs = nn.ModuleList([
            nn.Sequential(
                nn.Conv2d(in_channels, c1, 7, stride=2), nn.ReLU(),
                nn.MaxPool2d(2)),
            nn.Sequential(
                nn.Conv2d(c1, c2, 5, stride=2, padding=1), nn.ReLU(),
                nn.MaxPool2d(2)),
            nn.Sequential(nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU()),
            nn.Sequential(nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU()),
            nn.Sequential(
                nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(),
                nn.MaxPool2d(2)),
        ])
        with torch.no_grad():
            x = torch.zeros(1, in_channels, *self.input_size)
            for stage in convs:
                x = stage(x)
        if x.numel() == 0:
            raise ValueError(f'input_size {self.input_size} too small for '
                             'VGG-M')
        self.conv5_shape = tuple(x.shape[1:])
        self.stages = convs.extend([
            nn.Sequential(
                nn.Flatten(), nn.Linear(x.numel(), f6), nn.ReLU(),
                nn.Dropout(dropout)),
            nn.Sequential(nn.Linear(f6, f7), nn.ReLU(), nn.Dropout(dropout)),
        ])
        if init_cfg is None:
            kaiming_init(self)

    @property
    def out_channels(self) -> int:
        """Width of the last stage (fc7)."""
        return self.widths[-1]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
