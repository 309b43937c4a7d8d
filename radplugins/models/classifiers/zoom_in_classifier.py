"""Learn to zoom from network response (paper §III-C, Fig. 2)."""
import warnings
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...saliency import (boxes_from_maps, class_score_gradients,
                         crop_and_resize, fit_boxes, map_boxes, record_relus,
                         saliency_entropy, saliency_peaks)
from ..utils import meta_tensor

COMBINE_MODES = ('last', 'mean_logits', 'mean_probs')


@MODELS.register_module()
class ZoomInClassifier(ImageClassifier):
    """Classify, look where the network looks, zoom in, classify again.

    One step, as in Fig. 2 of the paper:

    1. forward the network-size input (the letterboxed radiograph);
    2. guided backpropagation of the predicted class score (or, in
       training, optionally the ground-truth class; in prediction,
       optionally a fixed class such as "abnormal") to the input;
    3. local entropy (eq. 5) of the quantised saliency;
    4. threshold it and take the region's box, map it to original-image
       pixels, enlarge it to at least the network input size there and keep
       it inside the image;
    5. crop the box from the high-resolution original, resize it to the
       input size, and classify the crop.

    ``num_steps`` repeats 2-5 on each crop (1 is the paper). Training sums
    every scale's classification loss with ``loss_weights``; prediction
    combines the scales (``combine``) and stores, per step, the ROI box in
    original pixels (``zoom_boxes``, ``(num_steps, 4)``), the saliency
    maximum in original pixels (``saliency_peaks``, ``(num_steps, 2)``),
    the per-scale scores (``scale_scores``) and, with ``return_maps``, the
    saliency (``saliency_maps``) and entropy maps (``entropy_maps``).

    Cost: the saliency comes from the same forward pass that gives the
    first scale's loss. Every ReLU is recorded with a switchable backward
    rule (:func:`radplugins.saliency.record_relus`), so the guided,
    input-only backward and the ordinary loss backward share one graph. In
    training, batch-norm uses batch statistics in that forward, so a
    sample's saliency also carries the (small) terms through the batch
    mean and variance; prediction runs in eval mode and has none.

    Mixed precision (``CPUAmpOptimWrapper``, ``tools/train.py --amp``,
    ``AutocastInferenceHook``): the network's forward and backward run in
    bfloat16, but the logits are taken to float32 and the saliency comes
    back in float32, so the entropy's quantisation, the ROI threshold, the
    boxes and the crops are computed in float32 as without autocast.

    Inputs: the data samples need ``hr_img`` (a batched high-resolution copy
    from :class:`KeepHighRes` + :class:`RadDataPreprocessor`) and the
    metainfo ``scale_factor``, ``letterbox_offset`` (from
    :class:`LetterboxResize`), ``hr_scale`` and ``ori_shape``. Apply flips
    and other geometric augmentation *before* ``KeepHighRes`` so the copy
    and the input agree.

    Args:
        backbone (dict): Backbone config.
        neck (dict, optional): Neck config.
        head (dict): Head config (an MMPretrain ``ClsHead`` subclass).
        num_steps (int): Zoom steps. Defaults to 1.
        saliency_rule (str): ``'guided'`` or ``'plain'``.
        train_target (str): Class explained during training: ``'pred'`` or
            ``'gt'``.
        predict_target (str | int): Class explained in prediction:
            ``'pred'`` (the predicted class, the paper) or a class index,
            e.g. 1 to look for the evidence of abnormality in every image,
            also in those the first scale calls normal. Defaults to
            ``'pred'``.
        entropy_cfg (dict): ``num_bins`` and ``window`` of the entropy.
        roi_cfg (dict): ``method`` (``'otsu'``, ``'percentile'``,
            ``'fixed'``), ``value``, ``region`` (``'largest'``, ``'all'``),
            ``square``, ``min_size`` (``(w, h)`` in original pixels;
            None means the network input size) and ``sampling_ratio`` of
            the crop (see :func:`radplugins.saliency.crop_and_resize`;
            default 2, 0 for a full area average).
        loss_weights (Sequence[float]): Weight of each scale's loss, one per
            scale (``num_steps + 1``). Defaults to all 1 (the paper sums).
        combine (str): ``'last'``, ``'mean_logits'`` or ``'mean_probs'``.
        return_maps (bool): Keep saliency and entropy maps in predictions.
        backward_per_scale (bool): In :meth:`train_step`, back-propagate each
            scale's loss as soon as it is computed, so only one scale's
            activations are alive at a time (the gradients are the same as
            for the summed loss). MMEngine's DDP wrapper calls ``loss``
            instead, so distributed runs use the summed loss.
        **kwargs: ``pretrained``, ``train_cfg``, ``data_preprocessor``,
            ``init_cfg`` of :class:`ImageClassifier`.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 num_steps: int = 1,
                 saliency_rule: str = 'guided',
                 train_target: str = 'pred',
                 predict_target: Union[str, int] = 'pred',
                 entropy_cfg: Optional[dict] = None,
                 roi_cfg: Optional[dict] = None,
                 loss_weights: Optional[Sequence[float]] = None,
                 combine: str = 'mean_probs',
                 return_maps: bool = False,
                 backward_per_scale: bool = True,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        if num_steps < 1:
            raise ValueError(f'num_steps must be >= 1, got {num_steps}')
        if saliency_rule not in ('guided', 'plain'):
            raise ValueError(f'unknown saliency_rule {saliency_rule!r}')
        if train_target not in ('pred', 'gt'):
            raise ValueError(f"train_target must be 'pred' or 'gt', got "
                             f'{train_target!r}')
        if predict_target != 'pred' and (
                isinstance(predict_target, bool)
                or not isinstance(predict_target, int) or predict_target < 0):
            raise ValueError("predict_target must be 'pred' or a class "
                             f'index >= 0, got {predict_target!r}')
        if combine not in COMBINE_MODES:
            raise ValueError(f'unknown combine {combine!r}; expected one of '
                             f'{COMBINE_MODES}')
        loss_weights = [1.0] * (num_steps + 1) if loss_weights is None \
            else list(loss_weights)
        if len(loss_weights) != num_steps + 1:
            raise ValueError(
                f'loss_weights needs one weight per scale ({num_steps + 1}), '
                f'got {loss_weights}')
        self.num_steps = num_steps
        self.saliency_rule = saliency_rule
        self.train_target = train_target
        self.predict_target = predict_target
        self.entropy_cfg = {'num_bins': 16, 'window': 9, **(entropy_cfg or {})}
        self.roi_cfg = {
            'method': 'otsu',
            'value': 0.5,
            'region': 'largest',
            'square': True,
            'min_size': None,
            'sampling_ratio': 2,
            **(roi_cfg or {})
        }
        self.loss_weights = loss_weights
        self.combine = combine
        self.return_maps = return_maps
        self.backward_per_scale = backward_per_scale
        self._warn_about_strided_pointwise_convs()

    def _warn_about_strided_pointwise_convs(self) -> None:
        """Warn when the saliency will reach the input on a lattice.

        A strided 1x1 convolution (ResNet's shortcut downsampling) passes
        gradient only to every other pixel. In a trained ResNet the guided
        signal flows mostly through those shortcuts, so the saliency becomes
        a lattice of spots one total stride apart and the entropy ROI lands
        on a lattice point, not on the evidence.
        """
        strided = [
            name for name, m in self.backbone.named_modules()
            if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)
            and max(m.stride) > 1
        ]
        if strided:
            more = f' and {len(strided) - 1} more' if len(strided) > 1 else ''
            warnings.warn(
                f'the backbone has strided 1x1 convolutions ({strided[0]}'
                f'{more}): their gradient reaches only every other pixel, so the '
                'saliency of a trained network tends to be a lattice of '
                'spots; prefer average-pool shortcuts (e.g. ResNetV1d, or '
                'avg_down=True) or a VGG-style backbone', UserWarning)

    # ------------------------------------------------------------------
    # geometry helpers
    @staticmethod
    def _meta_tensor(data_samples: List[DataSample], key: str,
                     device) -> torch.Tensor:
        return meta_tensor(
            data_samples, key, device, 'ZoomInClassifier',
            'use LetterboxResize and KeepHighRes in the pipeline and pass '
            'their keys through PackInputs(meta_keys=...)')

    def _high_res_batch(self, data_samples: List[DataSample]) -> torch.Tensor:
        if 'hr_img' not in data_samples[0]:
            raise KeyError(
                'ZoomInClassifier needs the high-resolution copy hr_img: add '
                'KeepHighRes to the pipeline, PackInputs(algorithm_keys='
                "('hr_img', )) and type='RadDataPreprocessor'")
        copies = [s.hr_img for s in data_samples]
        # RadDataPreprocessor hands out views of one batch tensor; use it
        # rather than copying hundreds of MB again with torch.stack.
        base = copies[0]._base
        if base is not None and base.dim() == 4 and \
                base.shape[0] == len(copies) and all(
                    c._base is base and c.data_ptr() == base[i].data_ptr()
                    for i, c in enumerate(copies)):
            return base
        return torch.stack(copies)

    def _network_crops(self, crops: torch.Tensor,
                       channels: int) -> torch.Tensor:
        """Crops of the high-resolution batch as network inputs (gray
        copies are replicated and normalised by the data preprocessor)."""
        finish = getattr(self.data_preprocessor, 'finish_high_res_crops',
                         None)
        if finish is not None:
            return finish(crops, channels)
        if crops.shape[1] != channels:
            raise ValueError(
                f'{crops.shape[1]}-channel high-resolution crops for a '
                f'{channels}-channel network: use RadDataPreprocessor')
        return crops

    @staticmethod
    def _image_mask(scale: torch.Tensor, offset: torch.Tensor,
                    image_wh: torch.Tensor, height: int,
                    width: int) -> torch.Tensor:
        """``(N, 1, H, W)`` mask of input pixels whose centre lies in the
        original image (``input = original * scale + offset``)."""
        lo = offset
        hi = offset + scale * image_wh
        xs = torch.arange(width, device=scale.device) + 0.5
        ys = torch.arange(height, device=scale.device) + 0.5
        in_x = (xs[None] >= lo[:, :1]) & (xs[None] <= hi[:, :1])
        in_y = (ys[None] >= lo[:, 1:]) & (ys[None] <= hi[:, 1:])
        return (in_y[:, :, None] & in_x[:, None, :]).unsqueeze(1).float()

    # ------------------------------------------------------------------
    def _saliency_target(self, logits: torch.Tensor,
                         gt: Optional[torch.Tensor],
                         training: bool) -> torch.Tensor:
        """The class whose score each sample's saliency explains."""
        if gt is not None:
            return gt
        if training or self.predict_target == 'pred':
            return logits.detach().argmax(1)
        if self.predict_target >= logits.shape[1]:
            raise ValueError(
                f'predict_target {self.predict_target} is not a class of a '
                f'head with {logits.shape[1]} classes')
        return torch.full((logits.shape[0], ), self.predict_target,
                          dtype=torch.long, device=logits.device)

    def _zoom_steps(self,
                    inputs: torch.Tensor,
                    data_samples: List[DataSample],
                    training: bool,
                    on_logits: Optional[Callable[[int, torch.Tensor],
                                                 None]] = None
                    ) -> Dict[str, list]:
        """Run all scales; return logits, boxes and maps per step.

        ``on_logits(k, logits)``, when given, runs once scale ``k``'s
        saliency has been taken, e.g. to back-propagate its loss and free
        its graph before the next scale's forward.
        """
        device = inputs.device
        hr = self._high_res_batch(data_samples)
        ori_hw = self._meta_tensor(data_samples, 'ori_shape', device)
        image_wh = ori_hw.flip(1)
        hr_scale = self._meta_tensor(data_samples, 'hr_scale', device)
        # original -> current input: input = original * scale + offset
        scale = self._meta_tensor(data_samples, 'scale_factor', device)
        offset = self._meta_tensor(data_samples, 'letterbox_offset', device)
        in_h, in_w = inputs.shape[-2:]
        min_size = self.roi_cfg['min_size'] or (in_w, in_h)
        gt = torch.cat([s.gt_label for s in data_samples]) \
            if training and self.train_target == 'gt' else None

        out: Dict[str, list] = dict(
            logits=[], boxes=[], peaks=[], saliency=[], entropy=[])
        x = inputs
        for step in range(self.num_steps + 1):
            last = step == self.num_steps
            x = x.detach().requires_grad_(not last)
            # The last scale needs no saliency, so its ReLUs stay native.
            with nullcontext() if last else record_relus():
                logits = self.head(self.extract_feat(x))
            # Under autocast the head gives bfloat16 logits; the saliency
            # target, the losses and the probabilities use float32.
            logits = logits.to(torch.promote_types(logits.dtype,
                                                   torch.float32))
            out['logits'].append(logits)
            if last:
                if on_logits is not None:
                    on_logits(step, logits)
                break
            target = self._saliency_target(logits, gt, training)
            sal = class_score_gradients(
                logits, x, target, self.saliency_rule, retain_graph=training)
            if on_logits is not None:
                on_logits(step, logits)
            with torch.no_grad():
                # Letterbox padding is not image: its saliency must not
                # pull the ROI or the peak outside the radiograph.
                mask = self._image_mask(scale, offset, image_wh, in_h, in_w)
                sal = sal * mask
                # Where the saliency peaks, in original pixels (pointing
                # game), never outside the image, even for a flat map.
                out['peaks'].append(
                    saliency_peaks(sal, scale, offset, image_wh, mask))
                ent = saliency_entropy(sal, **self.entropy_cfg)
                boxes, _ = boxes_from_maps(
                    ent, self.roi_cfg['method'], self.roi_cfg['value'],
                    self.roi_cfg['region'])
                boxes = map_boxes(boxes, scale, offset)
                boxes = fit_boxes(boxes, image_wh, min_size,
                                  self.roi_cfg['square'])
                crop = self._network_crops(
                    crop_and_resize(hr, boxes * hr_scale[:, None],
                                    (in_h, in_w),
                                    self.roi_cfg['sampling_ratio']),
                    inputs.shape[1])
            out['boxes'].append(boxes)
            if self.return_maps:
                out['saliency'].append(sal.detach())
                out['entropy'].append(ent)
            # The crop becomes the next input: its pixels map back as
            # original = box_origin + input / (input size / box size).
            scale = torch.stack([
                in_w / (boxes[:, 2] - boxes[:, 0]).clamp(min=1e-6),
                in_h / (boxes[:, 3] - boxes[:, 1]).clamp(min=1e-6)
            ], 1)
            offset = -boxes[:, :2] * scale
            x = crop
        return out

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Weighted sum of every scale's classification loss.

        Args:
            inputs (torch.Tensor): ``(N, C, H, W)`` network-size inputs.
            data_samples (list[DataSample]): With ``gt_label``, ``hr_img``
                and the geometry metainfo.

        Returns:
            dict: ``s{k}.loss`` (weighted) and the head's other outputs per
            scale ``k``.
        """
        steps = self._zoom_steps(inputs, data_samples, training=True)
        losses = {}
        for k, logits in enumerate(steps['logits']):
            losses.update(self._scale_losses(k, logits, data_samples))
        return losses

    def _scale_losses(self, k: int, logits: torch.Tensor,
                      data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Scale ``k``'s head losses, weighted, with an ``s{k}.`` prefix."""
        losses = {}
        for name, value in self.head._get_loss(logits, data_samples).items():
            if 'loss' in name:
                value = value * self.loss_weights[k]
            losses[f's{k}.{name}'] = value
        return losses

    def train_step(self, data: dict, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One optimisation step, back-propagating scale by scale.

        Each scale's loss is back-propagated right after its saliency is
        taken, which frees that scale's activations before the next
        forward; the parameters are updated once, after the last scale.
        Gradient accumulation and AMP loss scaling follow the optim
        wrapper. With ``backward_per_scale=False`` this is MMEngine's
        default step on the summed loss.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapper): The optimiser wrapper.

        Returns:
            dict: Log variables (``loss`` and each scale's entries).
        """
        if not self.backward_per_scale:
            return super().train_step(data, optim_wrapper)
        log_vars: Dict[str, torch.Tensor] = {}
        final: List[torch.Tensor] = []
        params = [p for p in self.parameters() if p.requires_grad]

        def backward_scale(k: int, logits: torch.Tensor) -> None:
            loss, scale_vars = self.parse_losses(
                self._scale_losses(k, logits, data['data_samples']))
            scale_vars.pop('loss')
            log_vars.update(scale_vars)
            if k < self.num_steps:
                loss = optim_wrapper.scale_loss(loss)
                scaler = getattr(optim_wrapper, 'loss_scaler', None)
                # Only the parameters: the scale's input also requires grad
                # (for its saliency), and its gradient through the stem is
                # as costly as the stem's weight gradient, for nothing.
                (scaler.scale(loss) if scaler is not None else loss).backward(
                    inputs=params)
            else:
                final.append(loss)

        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            self._zoom_steps(data['inputs'], data['data_samples'],
                             training=True, on_logits=backward_scale)
        # The wrapper counts one backward per iteration (accumulation), so
        # the last scale's loss goes through update_params.
        optim_wrapper.update_params(final[0])
        log_vars['loss'] = sum(v for k, v in log_vars.items() if 'loss' in k)
        return log_vars

    def _combine(self, logits: List[torch.Tensor]) -> torch.Tensor:
        """Class probabilities from all scales."""
        if self.combine == 'last':
            return F.softmax(logits[-1], dim=1)
        if self.combine == 'mean_logits':
            return F.softmax(torch.stack(logits).mean(0), dim=1)
        return torch.stack([F.softmax(lg, dim=1) for lg in logits]).mean(0)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Zoom and classify; attach boxes, per-scale scores and maps.

        Args:
            inputs (torch.Tensor): ``(N, C, H, W)`` network-size inputs.
            data_samples (list[DataSample]): With ``hr_img`` and geometry.

        Returns:
            list[DataSample]: With ``pred_score``, ``pred_label``,
            ``zoom_boxes`` and ``scale_scores`` (and maps if asked).
        """
        if data_samples is None:
            raise ValueError('ZoomInClassifier.predict needs data samples '
                             'carrying hr_img and the geometry metainfo')
        # Validation and test loops run under no_grad; the saliency is a
        # gradient, so it is switched back on here (input gradients only).
        with torch.enable_grad():
            steps = self._zoom_steps(inputs, data_samples, training=False)
        logits = [lg.detach() for lg in steps['logits']]
        scores = self._combine(logits)
        per_scale = torch.stack([F.softmax(lg, dim=1) for lg in logits], 1)
        boxes = torch.stack(steps['boxes'], 1)
        peaks = torch.stack(steps['peaks'], 1)
        for i, sample in enumerate(data_samples):
            # The copy is an input, not a result, and a view into the whole
            # batch's tensor: kept, every sample would pickle the batch
            # (tools/test.py --out ran out of memory on the valid split).
            if 'hr_img' in sample:
                del sample.hr_img
            sample.set_pred_score(scores[i]).set_pred_label(
                scores[i].argmax(0, keepdim=True))
            sample.set_field(boxes[i], 'zoom_boxes')
            sample.set_field(peaks[i], 'saliency_peaks')
            sample.set_field(per_scale[i], 'scale_scores')
            if self.return_maps:
                sample.set_field(
                    torch.stack([s[i] for s in steps['saliency']]),
                    'saliency_maps')
                sample.set_field(
                    torch.stack([e[i] for e in steps['entropy']]),
                    'entropy_maps')
        return data_samples
