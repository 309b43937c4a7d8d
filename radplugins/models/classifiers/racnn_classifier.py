"""RA-CNN: recurrent attention CNN (Fu, Zheng and Mei, CVPR 2017)."""
import copy
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import ModuleList
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import attention_crop, compose_boxes, meta_tensor

FUSIONS = ('concat', 'mean')
PHASES = ('apn_init', 'classifier', 'apn')


@MODELS.register_module()
class RACNNClassifier(BaseClassifier):
    """Classify at ``num_scales`` scales, each zooming where an APN points.

    Scale 0 sees the whole (letterboxed) input. Its last conv features go
    to an :class:`AttentionProposalNetwork`, which proposes a square box;
    the box is cropped from the input and zoomed to the input size
    (:func:`attention_crop`, differentiable in the box) and classified by
    scale 1's own subnetwork, and so on. Boxes are composed, so every crop
    is sampled once from the original input (no repeated interpolation).

    Each scale has its own backbone, neck and head (nothing is shared, as
    in RA-CNN) and its own softmax loss. The fused score is either the mean
    of the scales' probabilities or a linear layer on their concatenated
    pooled features (trained with its own softmax loss on detached
    features, so it does not steer the subnetworks).

    Training alternates as in the paper, inside :meth:`train_step` with an
    :class:`OptimWrapperDict` of ``classifier`` and ``apn`` wrappers (built
    by :class:`RACNNOptimWrapperConstructor`):

    - ``classifier`` warm-up (first ``classifier_warmup_iters``
      iterations, optional): the subnetworks learn on the APNs' initial
      centred boxes, so that their conv responses mean something before
      the APNs are initialised from them (the paper starts from
      ImageNet-trained subnetworks);
    - ``apn_init`` (next ``apn_init_iters`` iterations, optional): the
      APNs regress the box of side ``apn_init_side`` centred on the
      strongest last-conv response (RA-CNN's APN pre-training);
    - ``classifier`` (``classifier_iters`` iterations): the scales' and the
      fusion's softmax losses update the classifiers; the APNs run without
      gradient;
    - ``apn`` (``apn_iters`` iterations): the inter-scale ranking loss
      updates the APNs; the classifiers are frozen (no parameter gradient,
      eval mode) but pass gradient through to the crops.

    The phase of an iteration comes from MMEngine's message hub (``iter``),
    so a resumed run continues the same cycle.

    Prediction stores ``pred_score`` (fused), ``scale_scores``
    (``(num_scales, C)``), ``zoom_boxes`` (``(num_scales - 1, 4)`` boxes
    of scales 1, 2, ... in original-image pixels, clipped to the image) and
    ``saliency_peaks`` (the boxes' centres), so :class:`ZoomLocalization`
    and the zoom visualisation read it like a :class:`ZoomInClassifier`.
    Mapping to the original needs the ``scale_factor`` and
    ``letterbox_offset`` metainfo of :class:`LetterboxResize`.

    Every scale's parts are initialised by ``init_weights`` from their own
    ``init_cfg`` (e.g. each backbone from the same ImageNet checkpoint), as
    an ``ImageClassifier``'s are.

    Args:
        backbone (dict): Backbone config, built once per scale. Its last
            output must be a conv feature map.
        head (dict): Head config (a ``ClsHead`` subclass), once per scale.
        neck (dict, optional): Neck config (e.g. ``GlobalAveragePooling``).
        apn (dict): :class:`AttentionProposalNetwork` config, built once per
            scale but the last.
        num_scales (int): Number of scales, >= 2. Defaults to 3.
        rank_loss (dict): Ranking loss config.
        fusion (str): ``'concat'`` or ``'mean'``.
        fusion_in_channels (int, optional): Width of one scale's pooled
            features for ``'concat'``; defaults to ``head['in_channels']``.
        alternation (dict): ``classifier_warmup_iters``,
            ``apn_init_iters``, ``classifier_iters``, ``apn_iters`` and
            ``apn_init_side`` (box side of the pre-training target, a
            fraction of the current side).
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 apn: Optional[dict] = None,
                 num_scales: int = 3,
                 rank_loss: Optional[dict] = None,
                 fusion: str = 'concat',
                 fusion_in_channels: Optional[int] = None,
                 alternation: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = data_preprocessor or {}
        if isinstance(data_preprocessor, dict):
            # Built from MMPretrain's registry, as ImageClassifier does, so
            # the plugin's preprocessors resolve without a default scope.
            data_preprocessor = MODELS.build(
                {'type': 'ClsDataPreprocessor', **data_preprocessor})
        super().__init__(init_cfg=init_cfg,
                         data_preprocessor=data_preprocessor)
        if num_scales < 2:
            raise ValueError(f'num_scales must be >= 2, got {num_scales}')
        if fusion not in FUSIONS:
            raise ValueError(f'unknown fusion {fusion!r}; expected one of '
                             f'{FUSIONS}')
        alternation = {
            'classifier_warmup_iters': 0,
            'apn_init_iters': 0,
            'classifier_iters': 1,
            'apn_iters': 1,
            'apn_init_side': 0.5,
            **(alternation or {})
        }
        iter_keys = ('classifier_warmup_iters', 'apn_init_iters',
                     'classifier_iters', 'apn_iters')
        for key in iter_keys:
            value = alternation[key]
            if isinstance(value, bool) or not isinstance(value, int) or \
                    value < 0:
                raise ValueError(f'alternation.{key} must be an int >= 0, '
                                 f'got {value!r}')
        if alternation['classifier_iters'] + alternation['apn_iters'] == 0:
            raise ValueError('alternation needs classifier_iters or '
                             'apn_iters > 0')
        unknown = set(alternation) - {*iter_keys, 'apn_init_side'}
        if unknown:
            raise ValueError(f'unknown alternation keys {sorted(unknown)}')
        self.num_scales = num_scales
        self.fusion = fusion
        self.alternation = alternation

        # MMEngine's ModuleList: init_weights reaches the parts (a plain
        # nn.ModuleList has none, and their init_cfg would be ignored).
        self.backbones = ModuleList(
            MODELS.build(copy.deepcopy(backbone)) for _ in range(num_scales))
        self.necks = ModuleList(
            MODELS.build(copy.deepcopy(neck)) if neck else nn.Identity()
            for _ in range(num_scales))
        self.heads = ModuleList(
            MODELS.build(copy.deepcopy(head)) for _ in range(num_scales))
        apn = {'type': 'AttentionProposalNetwork', **(apn or {})}
        self.apns = ModuleList(
            MODELS.build(copy.deepcopy(apn)) for _ in range(num_scales - 1))
        side = alternation['apn_init_side']
        lo, hi = self.apns[0].side_range
        if not lo <= side <= hi:
            raise ValueError(f'alternation.apn_init_side {side} must lie in '
                             f'the APN side_range {self.apns[0].side_range}')
        self.rank_loss = MODELS.build(
            rank_loss or dict(type='InterScaleRankingLoss', margin=0.05))
        if fusion == 'concat':
            width = fusion_in_channels or head.get('in_channels')
            if not width:
                raise ValueError("fusion='concat' needs fusion_in_channels "
                                 "or head['in_channels']")
            num_classes = head.get('num_classes')
            if not num_classes:
                raise ValueError("fusion='concat' needs head['num_classes']")
            self.fusion_fc = nn.Linear(width * num_scales, num_classes)
        else:
            self.fusion_fc = None
        self._local_iter = 0

    # ------------------------------------------------------------------
    # parameter groups
    def apn_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters the ``apn`` phases update."""
        return self.apns.parameters()

    def classifier_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters the ``classifier`` phase updates (all but the APNs)."""
        apn_ids = {id(p) for p in self.apns.parameters()}
        return (p for p in self.parameters() if id(p) not in apn_ids)

    def phase(self, iteration: int) -> str:
        """The training phase of a (0-based) iteration.

        Args:
            iteration (int): Training iteration.

        Returns:
            str: ``'apn_init'``, ``'classifier'`` or ``'apn'``.
        """
        cfg = self.alternation
        if iteration < cfg['classifier_warmup_iters']:
            return 'classifier'
        iteration -= cfg['classifier_warmup_iters']
        if iteration < cfg['apn_init_iters']:
            return 'apn_init'
        cycle = cfg['classifier_iters'] + cfg['apn_iters']
        pos = (iteration - cfg['apn_init_iters']) % cycle
        return 'classifier' if pos < cfg['classifier_iters'] else 'apn'

    @contextmanager
    def frozen_classifiers(self):
        """Classifiers without parameter gradients and in eval mode."""
        params = list(self.classifier_parameters())
        flags = [p.requires_grad for p in params]
        modules = [self.backbones, self.necks, self.heads]
        modes = [[m.training for m in mod.modules()] for mod in modules]
        try:
            for p in params:
                p.requires_grad_(False)
            for mod in modules:
                mod.eval()
            yield
        finally:
            for p, flag in zip(params, flags):
                p.requires_grad_(flag)
            for mod, mode in zip(modules, modes):
                for m, training in zip(mod.modules(), mode):
                    m.training = training

    # ------------------------------------------------------------------
    # forward
    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor]:
        """Scale 0's pooled features (what a single-scale model sees)."""
        return self._scale_forward(0, inputs)[1]

    def _scale_forward(self, k: int, x: torch.Tensor
                       ) -> Tuple[torch.Tensor, tuple, torch.Tensor]:
        """Conv map, pooled features and logits of scale ``k``."""
        feats = self.backbones[k](x)
        conv = feats[-1]
        if conv.dim() != 4:
            raise ValueError(
                f'RA-CNN needs the backbone to end in a conv feature map '
                f'(N, C, H, W), got {tuple(conv.shape)}; use num_classes=-1 '
                f'for VGG or out_indices for ResNet')
        pooled = self.necks[k](feats)
        if not isinstance(pooled, tuple):
            pooled = (pooled, )
        return conv, pooled, self.heads[k](pooled)

    def forward_scales(self, inputs: torch.Tensor,
                       apn_grad: bool = True) -> Dict[str, list]:
        """Run every scale.

        Args:
            inputs (torch.Tensor): ``(N, C, H, W)`` square inputs.
            apn_grad (bool): Keep the graph through the APNs' boxes.

        Returns:
            dict: ``logits``, ``pooled`` (last pooled feature per scale),
            ``convs`` (last conv map per scale) and ``boxes`` (``(N, 3)``
            ``(cx, cy, half)`` of scales 1.. in scale 0's frame).
        """
        in_h, in_w = inputs.shape[-2:]
        if in_h != in_w:
            raise ValueError(f'RA-CNN needs square inputs (letterbox them), '
                             f'got {in_h}x{in_w}')
        out: Dict[str, list] = dict(logits=[], pooled=[], convs=[], boxes=[])
        frame = inputs.new_tensor([0.5, 0.5, 0.5]).expand(len(inputs), 3)
        x = inputs
        for k in range(self.num_scales):
            conv, pooled, logits = self._scale_forward(k, x)
            out['logits'].append(logits)
            out['pooled'].append(pooled[-1])
            out['convs'].append(conv)
            if k == self.num_scales - 1:
                break
            with torch.set_grad_enabled(apn_grad and torch.is_grad_enabled()):
                local = self.apns[k](conv if apn_grad else conv.detach())
                frame = compose_boxes(frame, local)
            out['boxes'].append(frame)
            x = attention_crop(inputs, frame, (in_h, in_w))
        return out

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor',
                phase: Optional[str] = None):
        """Dispatch on ``mode`` (``tensor``, ``loss``, ``predict``).

        ``tensor`` returns the fused class scores before softmax
        (``concat``) or the mean probabilities (``mean``). ``loss`` with a
        ``phase`` returns that training phase's losses
        (:meth:`phase_losses`; how the distributed wrapper reaches them),
        without one the joint :meth:`loss`.
        """
        if mode == 'tensor':
            return self._fuse(self.forward_scales(inputs, apn_grad=False))
        if mode == 'loss':
            if phase is not None:
                return self.phase_losses(inputs, data_samples, phase)
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def _fuse(self, out: Dict[str, list]) -> torch.Tensor:
        if self.fusion == 'concat':
            return self.fusion_fc(
                torch.cat([p.detach() for p in out['pooled']], 1))
        return torch.stack([F.softmax(lg, 1) for lg in out['logits']]).mean(0)

    # ------------------------------------------------------------------
    # losses
    def classifier_loss(self, out: Dict[str, list],
                        data_samples: List[DataSample]
                        ) -> Dict[str, torch.Tensor]:
        """Every scale's head loss (``s{k}.*``) and the fusion's."""
        losses = {}
        for k, logits in enumerate(out['logits']):
            for name, value in self.heads[k]._get_loss(
                    logits, data_samples).items():
                losses[f's{k}.{name}'] = value
        if self.fusion == 'concat':
            for name, value in self.heads[0]._get_loss(
                    self._fuse(out), data_samples).items():
                losses[f'fused.{name}'] = value
        return losses

    def apn_loss(self, out: Dict[str, list],
                 data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """The inter-scale ranking loss, and each scale's box side."""
        target = torch.cat([s.gt_label for s in data_samples]).to(
            out['logits'][0].device)
        losses = {'rank.loss': self.rank_loss(out['logits'], target)}
        for k, box in enumerate(out['boxes']):
            losses[f'box{k + 1}_side'] = (2 * box[:, 2]).mean().detach()
        return losses

    def apn_init_loss(self, inputs: torch.Tensor
                      ) -> Dict[str, torch.Tensor]:
        """Regress each APN to the box on its strongest conv response.

        The scales are run with the current (detached) boxes; each APN's
        raw outputs are fitted to the raw values of its target box (centre
        kept 5 % inside the sigmoid's range), which keeps the loss well
        conditioned near the bounds.
        """
        out = self.forward_scales(inputs, apn_grad=False)
        side = self.alternation['apn_init_side']
        loss = 0
        for k, apn in enumerate(self.apns):
            conv = out['convs'][k].detach()
            # eps keeps a box pinned to the frame's edge from asking for an
            # infinite (saturated) raw output.
            target = apn.unbound(apn.response_boxes(conv, side), eps=0.05)
            loss = loss + F.mse_loss(apn.forward_raw(conv), target)
        return {'apn_init.loss': loss}

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Classification losses plus the ranking loss (not alternated).

        :meth:`train_step` alternates the two; this joint form serves
        ``forward(mode='loss')`` callers such as analysis scripts.
        Distributed training goes through
        :class:`RACNNDistributedDataParallel`, which alternates too.
        """
        out = self.forward_scales(inputs)
        losses = self.classifier_loss(out, data_samples)
        losses.update(self.apn_loss(out, data_samples))
        return losses

    # ------------------------------------------------------------------
    def _current_iter(self) -> int:
        info = MessageHub.get_current_instance().runtime_info
        return int(info['iter']) if 'iter' in info else self._local_iter

    def next_phase(self) -> str:
        """The phase of the iteration about to run; advances the local
        counter used when no runner publishes ``iter``."""
        phase = self.phase(self._current_iter())
        self._local_iter += 1
        return phase

    def phase_losses(self, inputs: torch.Tensor,
                     data_samples: List[DataSample],
                     phase: str) -> Dict[str, torch.Tensor]:
        """The losses of one training phase on a preprocessed batch.

        ``classifier``: the scales' and the fusion's softmax losses with the
        APNs run without gradient; ``apn``: the ranking loss through the
        frozen classifiers; ``apn_init``: the APN pre-training regression.
        Frozen parameters are left out of the graph, so the backward pass
        reaches only the phase's own parameters.
        """
        if phase == 'classifier':
            return self.classifier_loss(
                self.forward_scales(inputs, apn_grad=False), data_samples)
        if phase not in PHASES:
            raise ValueError(f'unknown RA-CNN phase {phase!r}; expected one '
                             f'of {PHASES}')
        with self.frozen_classifiers():
            if phase == 'apn':
                return self.apn_loss(self.forward_scales(inputs),
                                     data_samples)
            return self.apn_init_loss(inputs)

    @staticmethod
    def phase_optim_wrapper(optim_wrapper: OptimWrapperDict,
                            phase: str) -> OptimWrapper:
        """The wrapper stepping ``phase``'s parameters."""
        if not isinstance(optim_wrapper, OptimWrapperDict) or \
                set(optim_wrapper.keys()) != {'classifier', 'apn'}:
            raise TypeError(
                'RA-CNN training needs an OptimWrapperDict with '
                "'classifier' and 'apn' (optim_wrapper=dict(constructor="
                "'RACNNOptimWrapperConstructor', classifier=..., apn=...)), "
                f'got {type(optim_wrapper).__name__}')
        return optim_wrapper['classifier' if phase == 'classifier' else
                             'apn']

    def alternating_step(self,
                         data: dict,
                         optim_wrapper: OptimWrapperDict,
                         compute_losses: Callable[[dict, str], dict],
                         context_module: Optional[nn.Module] = None
                         ) -> Dict[str, torch.Tensor]:
        """Preprocess, compute the current phase's losses, step its
        optimiser: the iteration :meth:`train_step` and the distributed
        wrapper share.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): ``classifier`` and ``apn``.
            compute_losses (callable): ``(preprocessed data, phase) ->
                losses``.
            context_module (nn.Module, optional): The module whose
                gradient synchronisation the optim wrapper's context
                manages (the DDP wrapper); this model by default.

        Returns:
            dict: Log variables of the phase (``loss``, its parts and
            ``phase``, the index in ``PHASES``).
        """
        phase = self.next_phase()
        wrapper = self.phase_optim_wrapper(optim_wrapper, phase)
        with wrapper.optim_context(context_module or self):
            data = self.data_preprocessor(data, True)
            losses = compute_losses(data, phase)
        loss, log_vars = self.parse_losses(losses)
        wrapper.update_params(loss)
        log_vars['phase'] = torch.tensor(float(PHASES.index(phase)))
        return log_vars

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One iteration of the phase the iteration falls in.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): With ``classifier`` and
                ``apn`` wrappers.

        Returns:
            dict: Log variables of the phase (``loss`` and its parts).
        """
        return self.alternating_step(
            data, optim_wrapper, lambda batch, phase: self.phase_losses(
                batch['inputs'], batch['data_samples'], phase))

    # ------------------------------------------------------------------
    # prediction
    @staticmethod
    def _meta(data_samples: List[DataSample], key: str,
              device) -> torch.Tensor:
        return meta_tensor(
            data_samples, key, device, 'RACNNClassifier.predict',
            'use LetterboxResize and pass its keys through '
            'PackInputs(meta_keys=...)')

    def boxes_to_original(self, boxes: torch.Tensor, input_size: int,
                          data_samples: List[DataSample]) -> torch.Tensor:
        """``(N, 3)`` frame boxes to ``(N, 4)`` original pixels, clipped.

        Args:
            boxes (torch.Tensor): ``(cx, cy, half)`` in scale 0's frame.
            input_size (int): Side of the network input in pixels.
            data_samples (list[DataSample]): With ``scale_factor``,
                ``letterbox_offset`` and ``ori_shape``.

        Returns:
            torch.Tensor: ``x1, y1, x2, y2`` in original pixels, inside the
            image (a box reaching into the letterbox padding is cut there).
        """
        device = boxes.device
        scale = self._meta(data_samples, 'scale_factor', device)
        offset = self._meta(data_samples, 'letterbox_offset', device)
        ori_hw = self._meta(data_samples, 'ori_shape', device)
        centre = boxes[:, :2] * input_size
        half = boxes[:, 2:3] * input_size
        xyxy = torch.cat([centre - half, centre + half], 1)
        xyxy = (xyxy - offset.repeat(1, 2)) / scale.repeat(1, 2)
        wh = ori_hw.flip(1).repeat(1, 2)
        return torch.minimum(xyxy.clamp(min=0), wh)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Per-scale and fused scores, and each scale's box.

        Args:
            inputs (torch.Tensor): ``(N, C, S, S)`` letterboxed inputs.
            data_samples (list[DataSample], optional): With the letterbox
                metainfo; needed for the boxes.

        Returns:
            list[DataSample]: With ``pred_score``, ``pred_label``,
            ``scale_scores``, ``zoom_boxes`` and ``saliency_peaks``.
        """
        with torch.no_grad():
            out = self.forward_scales(inputs, apn_grad=False)
            fused = self._fuse(out)
        scores = F.softmax(fused, 1) if self.fusion == 'concat' else fused
        per_scale = torch.stack([F.softmax(lg, 1) for lg in out['logits']],
                                1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(inputs))]
            boxes = None
        else:
            boxes = torch.stack([
                self.boxes_to_original(b, inputs.shape[-1], data_samples)
                for b in out['boxes']
            ], 1)
        for i, sample in enumerate(data_samples):
            sample.set_pred_score(scores[i]).set_pred_label(
                scores[i].argmax(0, keepdim=True))
            sample.set_field(per_scale[i], 'scale_scores')
            if boxes is not None:
                sample.set_field(boxes[i], 'zoom_boxes')
                sample.set_field(
                    (boxes[i, :, :2] + boxes[i, :, 2:]) / 2,
                    'saliency_peaks')
        return data_samples
