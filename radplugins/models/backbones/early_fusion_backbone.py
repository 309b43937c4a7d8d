"""Early fusion: a study's views stacked on the channel axis (Fig. 7)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


def find_first_conv(module: nn.Module) -> Tuple[str, nn.Conv2d]:
    """The first ``nn.Conv2d`` of a module, in registration order.

    Args:
        module (nn.Module): A backbone.

    Returns:
        tuple[str, nn.Conv2d]: Its qualified name and the layer.

    Raises:
        ValueError: If the module has no ``nn.Conv2d``.
    """
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Conv2d):
            return name, layer
    raise ValueError(f'{type(module).__name__} has no nn.Conv2d to fuse the '
                     'views in')


@MODELS.register_module()
class EarlyFusionBackbone(BaseModule):
    """Any MMPretrain backbone whose first convolution sees all the views.

    The paper's early fusion (§IV-E, Fig. 7): the ``V`` views of a study,
    ``(B, V, C, H, W)``, are stacked on the channel axis as
    ``(B, V * C, H, W)`` (view-major: the C channels of view 0, then of
    view 1, ...); the backbone's first ``nn.Conv2d`` is rebuilt with
    ``V * C`` input channels and everything after it is the unchanged,
    shared network.

    Weights of a single-view model load directly: when a state dict holds
    the first convolution with ``C`` input channels, the weight is
    replicated over the ``V`` views and divided by ``V`` (so ``V`` identical
    views give exactly the single-view response), whether it comes from
    ``init_cfg=dict(type='Pretrained', ...)`` of the inner backbone, of this
    wrapper, or from ``load_from`` of a single-view classifier checkpoint
    (whose ``backbone.*`` keys are mapped to ``backbone.backbone.*``).
    The layer built here starts from the inner backbone's own first
    convolution, replicated and scaled the same way.

    Args:
        backbone (dict): Config of the wrapped backbone.
        num_views (int): Views of a study ``V``. Defaults to 6.
        in_channels (int): Channels of one view ``C``. Defaults to 3.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 num_views: int = 6,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_views, int) or num_views < 1:
            raise ValueError(f'num_views must be a positive int, got '
                             f'{num_views!r}')
        self.num_views = num_views
        self.in_channels = in_channels
        self.backbone = MODELS.build(backbone)
        self.first_conv_name, conv = find_first_conv(self.backbone)
        if conv.in_channels != in_channels or conv.groups != 1:
            raise ValueError(
                f'first convolution {self.first_conv_name!r} of '
                f'{type(self.backbone).__name__} takes {conv.in_channels} '
                f'channels in {conv.groups} group(s); expected '
                f'{in_channels} in 1 group')
        fused = nn.Conv2d(
            in_channels * num_views,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode)
        with torch.no_grad():
            fused.weight.copy_(self.replicate_weight(conv.weight, num_views))
            if conv.bias is not None:
                fused.bias.copy_(conv.bias)
        parent_name, _, attr = self.first_conv_name.rpartition('.')
        parent = self.backbone.get_submodule(parent_name)
        setattr(parent, attr, fused)
        self.backbone.register_load_state_dict_pre_hook(
            self._expand_single_view_conv)
        self.register_load_state_dict_pre_hook(
            self._map_single_view_keys)

    @staticmethod
    def replicate_weight(weight: torch.Tensor,
                         num_views: int) -> torch.Tensor:
        """A single-view conv weight for ``num_views`` stacked views.

        Args:
            weight (torch.Tensor): ``(O, C, k, k)``.
            num_views (int): ``V``.

        Returns:
            torch.Tensor: ``(O, V * C, k, k)``, the weight tiled over the
            views and divided by ``V``.
        """
        return weight.repeat(1, num_views, 1, 1) / num_views

    def _expand_single_view_conv(self, module, state_dict, prefix, *args):
        key = f'{prefix}{self.first_conv_name}.weight'
        weight = state_dict.get(key)
        if weight is not None and weight.dim() == 4 and \
                weight.shape[1] == self.in_channels and self.num_views > 1:
            state_dict[key] = self.replicate_weight(weight, self.num_views)

    def _map_single_view_keys(self, module, state_dict, prefix, *args):
        # A single-view classifier names the backbone's parameters
        # 'backbone.<name>'; here they are 'backbone.backbone.<name>'.
        inner = prefix + 'backbone.'
        own = {inner + k for k in self.backbone.state_dict()}
        for key in [k for k in state_dict if k.startswith(prefix)]:
            target = inner + key[len(prefix):]
            if not key.startswith(inner) and target in own and \
                    target not in state_dict:
                state_dict[target] = state_dict.pop(key)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Stack the views on the channel axis and run the backbone.

        Args:
            x (torch.Tensor): ``(B, V, C, H, W)``.

        Returns:
            tuple[torch.Tensor]: The wrapped backbone's outputs.
        """
        if x.dim() != 5 or x.shape[1] != self.num_views or \
                x.shape[2] != self.in_channels:
            raise ValueError(
                f'EarlyFusionBackbone expects (B, {self.num_views}, '
                f'{self.in_channels}, H, W) inputs, got {tuple(x.shape)}')
        return self.backbone(x.flatten(1, 2))
