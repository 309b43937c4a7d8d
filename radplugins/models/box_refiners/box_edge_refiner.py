"""Box-edge refiner: where each edge of a box lies, read from the pixels."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from torch import Tensor

#: Edge order of a box and of the refiner's outputs.
EDGES = ('x1', 'y1', 'x2', 'y2')

#: The window's symmetries as ``(transpose, flip_x, flip_y)``, transposed
#: first: the first 1, 2, 4 or all 8 are what ``test_symmetries`` averages.
WINDOW_SYMMETRIES = ((False, False, False), (False, True, False),
                     (False, False, True), (False, True, True),
                     (True, False, False), (True, True, False),
                     (True, False, True), (True, True, True))


def crop_windows(image: Tensor, boxes: Tensor, size: int,
                 expand: float) -> Tuple[Tensor, Tensor]:
    """Sample a square window around each box from an image.

    Window ``k`` is box ``k`` grown about its centre by ``expand`` in each
    direction, resampled (bilinear, edge pixels repeated outside the
    image) to ``size x size``. Coordinates are continuous pixel
    coordinates: pixel ``i`` covers ``[i, i + 1)``, as in COCO and
    MMDetection boxes.

    Args:
        image (Tensor): ``(C, H, W)`` float image.
        boxes (Tensor): ``(K, 4)`` boxes ``x1, y1, x2, y2`` in ``image``'s
            pixels.
        size (int): Side of the windows.
        expand (float): Window side over box side.

    Returns:
        tuple: ``(windows, frames)``: ``(K, C, size, size)`` windows and
        ``(K, 4)`` frames ``(x0, y0, sx, sy)``: window position ``u``
        (in window pixels, continuous) is image position ``x0 + u * sx``.
    """
    if boxes.numel() == 0:
        return (image.new_zeros(0, image.shape[0], size, size),
                image.new_zeros(0, 4))
    boxes = boxes.to(image.dtype)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    # A degenerate box still gets a window of a few pixels.
    extent = (boxes[:, 2:] - boxes[:, :2]).clamp(min=2.0) * expand
    origin = centre - extent / 2
    step = extent / size
    frames = torch.cat([origin, step], dim=1)
    grid_pos = torch.arange(size, dtype=image.dtype,
                            device=image.device) + 0.5
    height, width = image.shape[-2:]
    xs = origin[:, 0:1] + grid_pos[None] * step[:, 0:1]
    ys = origin[:, 1:2] + grid_pos[None] * step[:, 1:2]
    # grid_sample with align_corners=False: -1 and 1 are the outer edges
    # of the first and last pixels, which matches continuous coordinates.
    gx = (2 * xs / width - 1)[:, None, :].expand(-1, size, -1)
    gy = (2 * ys / height - 1)[:, :, None].expand(-1, -1, size)
    grid = torch.stack([gx, gy], dim=-1)
    windows = F.grid_sample(
        image[None].expand(len(boxes), -1, -1, -1),
        grid,
        mode='bilinear',
        padding_mode='border',
        align_corners=False)
    return windows, frames


def to_window(boxes: Tensor, frames: Tensor) -> Tensor:
    """Image-pixel boxes ``(K, 4)`` to window positions of ``frames``."""
    origin, step = frames[:, :2].repeat(1, 2), frames[:, 2:].repeat(1, 2)
    return (boxes - origin) / step


def from_window(edges: Tensor, frames: Tensor) -> Tensor:
    """Window positions ``(K, 4)`` of ``frames`` to image-pixel boxes."""
    origin, step = frames[:, :2].repeat(1, 2), frames[:, 2:].repeat(1, 2)
    return origin + edges * step


def edge_soft_targets(edges: Tensor, size: int) -> Tensor:
    """Two-hot targets over the ``size`` pixel centres of a window.

    An edge at continuous position ``e`` (pixel centres at ``i + 0.5``)
    puts weight ``1 - f`` on the centre just below it and ``f`` on the
    one above, ``f`` its fraction between them, so that the expectation
    of the target is ``e`` itself. Edges outside the centres' span are
    clamped to the first or last centre.

    Args:
        edges (Tensor): ``(K, 4)`` edge positions in window pixels.
        size (int): Number of positions.

    Returns:
        Tensor: ``(K, 4, size)`` targets, each row summing to 1.
    """
    pos = (edges - 0.5).clamp(0, size - 1)
    low = pos.floor().long().clamp(max=size - 2)
    frac = pos - low
    targets = edges.new_zeros(*edges.shape, size)
    targets.scatter_(2, low[..., None], (1 - frac)[..., None])
    targets.scatter_add_(2, (low + 1)[..., None], frac[..., None])
    return targets


def near_mode_probabilities(logits: Tensor, window: int) -> Tensor:
    """The softmax over the last axis, zero beyond ``window`` of its mode."""
    prob = logits.softmax(dim=-1)
    positions = torch.arange(logits.shape[-1], device=prob.device)
    near = (positions - prob.argmax(dim=-1, keepdim=True)).abs() <= window
    return prob * near


def decode_edges(logits: Tensor, window: int = 3) -> Tensor:
    """Sub-pixel edge positions from the refiner's logits.

    The expectation of the softmax, taken within ``window`` positions of
    its mode, so that a second, weaker peak elsewhere in the window does
    not drag the edge off.

    Args:
        logits (Tensor): ``(K, 4, S)`` logits over the pixel centres.
        window (int): Half-width around the mode. Defaults to 3.

    Returns:
        Tensor: ``(K, 4)`` positions in window pixels.
    """
    prob = near_mode_probabilities(logits, window)
    positions = torch.arange(
        logits.shape[-1], dtype=prob.dtype, device=prob.device)
    return (prob * (positions + 0.5)).sum(-1) / prob.sum(-1)


def edge_peak_mass(logits: Tensor, window: int = 3) -> Tensor:
    """How sure the refiner is of each edge: the softmax's mass near its mode.

    The probability within ``window`` positions of the mode, i.e. the mass
    :func:`decode_edges` averages over: near 1 for a sharp edge, low where
    the refiner sees no edge or several.

    Args:
        logits (Tensor): ``(K, 4, S)`` logits over the pixel centres.
        window (int): Half-width around the mode. Defaults to 3.

    Returns:
        Tensor: ``(K, 4)`` masses in ``(0, 1]``.
    """
    return near_mode_probabilities(logits, window).sum(-1)


def normalise_windows(windows: Tensor) -> Tensor:
    """Zero mean and unit standard deviation per window.

    Markers and implants come bright on dark or dark on bright, under any
    exposure; the refiner only needs where the contrast changes.
    """
    flat = windows.flatten(1)
    mean = flat.mean(dim=1)[:, None, None, None]
    std = flat.std(dim=1)[:, None, None, None]
    return (windows - mean) / (std + 1e-3)


@MODELS.register_module()
class BoxEdgeRefiner(BaseModel):
    """Move each edge of a detected box to where the object ends.

    A detector's box comes from pooled features at a fraction of the
    image's resolution, so its edges are off by a pixel or two; COCO's
    mAP over IoU 0.5-0.95 pays for every one of them on small objects
    such as radiograph markers. The refiner looks at each box again at
    the image's own resolution: a window of the box grown by ``expand``
    is resampled to ``size x size``, a small dilated CNN reads it, and,
    as in LocNet (Gidaris and Komodakis, 2016), the features are pooled
    along each axis into a profile from which a 1-D head gives, per
    class, a distribution over the window's columns for the left and
    right edges and over its rows for the top and bottom. The edge is
    the distribution's local expectation (:func:`decode_edges`), so it
    falls between pixels. Trained with cross-entropy against two-hot
    targets (:func:`edge_soft_targets`) on windows around jittered
    ground-truth boxes (``SampleBoxEdgeWindows``).

    Args:
        num_classes (int): Object classes (each has its own edge heads).
        size (int): Window side in pixels. Defaults to 64.
        expand (float): Window side over box side; the true edges must
            fall inside the window, so it bounds how far off a box may
            be. Defaults to 2.0.
        channels (int): Feature channels. Defaults to 16.
        dilations (Sequence[int]): One 3x3 conv layer each, with this
            dilation. Defaults to ``(1, 1, 2, 2, 4, 4)``.
        decode_window (int): See :func:`decode_edges`. Defaults to 3.
        test_symmetries (int): At test time (:meth:`refine`,
            :meth:`edge_confidence`) average the edge log-probabilities
            over this many of the window's symmetries
            (:data:`WINDOW_SYMMETRIES`): 1 (none), 2 (left-right flip),
            4 (and up-down flips) or 8 (and transposes: every rotation
            and reflection of the square). The training windows are
            flipped and transposed at random (``SampleBoxEdgeWindows``),
            so each is a view the refiner knows; their mean makes the
            answer equivariant: flipping or transposing the image moves
            the refined box with it. Costs that many times the windows.
            Defaults to 1.
        data_preprocessor (dict, optional): Defaults to MMEngine's
            ``BaseDataPreprocessor`` (device transfer only; windows are
            normalised here, the same in training and test).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 size: int = 64,
                 expand: float = 2.0,
                 channels: int = 16,
                 dilations: Sequence[int] = (1, 1, 2, 2, 4, 4),
                 decode_window: int = 3,
                 test_symmetries: int = 1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes!r}')
        if size < 8:
            raise ValueError(f'size must be >= 8, got {size!r}')
        if expand <= 1.0:
            raise ValueError(f'expand must be > 1, got {expand!r}')
        if test_symmetries not in (1, 2, 4, 8):
            raise ValueError('test_symmetries must be 1, 2, 4 or 8, got '
                             f'{test_symmetries!r}')
        self.test_symmetries = test_symmetries
        self.num_classes = num_classes
        self.size = size
        self.expand = float(expand)
        self.decode_window = decode_window
        layers, in_channels = [], 1
        for dilation in dilations:
            layers += [
                nn.Conv2d(in_channels, channels, 3, padding=dilation,
                          dilation=dilation, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True)
            ]
            in_channels = channels
        self.body = nn.Sequential(*layers)
        self.head_x = self._profile_head(channels, num_classes)
        self.head_y = self._profile_head(channels, num_classes)

    @staticmethod
    def _profile_head(channels: int, num_classes: int) -> nn.Module:
        """1-D convs from a pooled profile to two edges per class."""
        return nn.Sequential(
            nn.Conv1d(2 * channels, channels, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv1d(channels, channels, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv1d(channels, 2 * num_classes, 5, padding=2))

    def edge_logits(self, windows: Tensor, labels: Tensor) -> Tensor:
        """Logits over the window's positions for each edge.

        Args:
            windows (Tensor): ``(K, 1, S, S)`` windows, not normalised.
            labels (Tensor): ``(K,)`` class of each box.

        Returns:
            Tensor: ``(K, 4, S)`` logits for ``x1, y1, x2, y2``.
        """
        features = self.body(normalise_windows(windows))
        # Column profile (pooled over rows) for x, row profile for y.
        cols = torch.cat([features.amax(2), features.mean(2)], dim=1)
        rows = torch.cat([features.amax(3), features.mean(3)], dim=1)
        num = len(windows)
        lx = self.head_x(cols).view(num, self.num_classes, 2, -1)
        ly = self.head_y(rows).view(num, self.num_classes, 2, -1)
        index = torch.arange(num, device=windows.device)
        lx, ly = lx[index, labels], ly[index, labels]
        return torch.stack([lx[:, 0], ly[:, 0], lx[:, 1], ly[:, 1]], dim=1)

    def symmetric_edge_log_probs(self, windows: Tensor,
                                 labels: Tensor) -> Tensor:
        """Edge log-probabilities averaged over ``test_symmetries`` views.

        Each view of the windows (flipped and/or transposed) is read in
        one batch; its edges are mapped back to the original window's (a
        left-right flip makes the right edge the left one and reverses its
        positions, a transpose swaps the axes) and the log-probabilities
        are averaged, i.e. the distributions' geometric mean.

        Args:
            windows (Tensor): ``(K, 1, S, S)`` windows, not normalised.
            labels (Tensor): ``(K,)`` class of each box.

        Returns:
            Tensor: ``(K, 4, S)`` log-probabilities (up to a constant per
            edge) for ``x1, y1, x2, y2``.
        """
        symmetries = WINDOW_SYMMETRIES[:self.test_symmetries]
        views = []
        for transpose, flip_x, flip_y in symmetries:
            view = windows.transpose(-1, -2) if transpose else windows
            dims = [d for d, flip in ((-1, flip_x), (-2, flip_y)) if flip]
            views.append(view.flip(dims) if dims else view)
        log_probs = self.edge_logits(
            torch.cat(views), labels.repeat(len(symmetries))).log_softmax(-1)
        total = 0
        for (transpose, flip_x, flip_y), view_log_probs in zip(
                symmetries, log_probs.split(len(windows))):
            x1, y1, x2, y2 = view_log_probs.unbind(1)
            if flip_x:
                x1, x2 = x2.flip(-1), x1.flip(-1)
            if flip_y:
                y1, y2 = y2.flip(-1), y1.flip(-1)
            if transpose:
                x1, y1, x2, y2 = y1, x1, y2, x2
            total = total + torch.stack([x1, y1, x2, y2], dim=1)
        return total / len(symmetries)

    def forward(self,
                inputs: Union[Tensor, List[Tensor]],
                data_samples: Optional[List[dict]] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], Tensor]:
        """Windows in, losses (``'loss'``) or edge logits (``'tensor'``).

        Args:
            inputs (Tensor | list[Tensor]): ``(K, 1, S, S)`` windows, or
                one such tensor per image (``SampleBoxEdgeWindows``).
            data_samples (list, optional): Per image, an ``InstanceData``
                (or dict) with ``edges`` ``(K_i, 4)`` (true edges in window
                pixels) and ``labels`` ``(K_i,)``.
            mode (str): ``'loss'`` or ``'tensor'``.

        Returns:
            dict | Tensor: ``loss_edge`` and ``edge_error`` (mean absolute
            error in window pixels, logged), or the logits.
        """
        windows = torch.cat(inputs) if isinstance(inputs, (list, tuple)) \
            else inputs
        if data_samples is None:
            raise ValueError('BoxEdgeRefiner needs data_samples with labels')
        labels = torch.cat([torch.as_tensor(s['labels']) for s in data_samples
                            ]).to(windows.device, torch.long)
        if len(labels) != len(windows):
            raise ValueError(f'BoxEdgeRefiner: {len(windows)} windows but '
                             f'{len(labels)} labels')
        if mode == 'tensor':
            return self.edge_logits(windows, labels)
        if mode != 'loss':
            raise ValueError(f"BoxEdgeRefiner: mode must be 'loss' or "
                             f"'tensor', got {mode!r}")
        edges = torch.cat([torch.as_tensor(s['edges']) for s in data_samples
                           ]).to(windows)
        if len(windows) == 0:
            zero = sum(p.sum() for p in self.parameters()) * 0
            return dict(loss_edge=zero, edge_error=zero.detach())
        logits = self.edge_logits(windows, labels)
        targets = edge_soft_targets(edges, self.size)
        loss = -(targets * logits.log_softmax(dim=-1)).sum(-1).mean()
        with torch.no_grad():
            error = (decode_edges(logits, self.decode_window) -
                     edges.clamp(0.5, self.size - 0.5)).abs().mean()
        return dict(loss_edge=loss, edge_error=error)

    def _gray_image(self, image: Tensor) -> Tensor:
        """``(1, H, W)`` float image on the refiner's device."""
        device = next(self.parameters()).device
        image = torch.as_tensor(image, device=device, dtype=torch.float32)
        if image.dim() == 2:
            image = image[None]
        return image.mean(dim=0, keepdim=True)

    @torch.no_grad()
    def refine(self,
               image: Tensor,
               boxes: Tensor,
               labels: Tensor,
               rounds: int = 1) -> Tensor:
        """Refined boxes of one image.

        Args:
            image (Tensor): ``(H, W)`` or ``(C, H, W)`` image at the
                resolution ``boxes`` are given in (colour is averaged).
            boxes (Tensor): ``(K, 4)`` boxes ``x1, y1, x2, y2``.
            labels (Tensor): ``(K,)`` their classes.
            rounds (int): Refine the refined boxes again this many times
                in all. Defaults to 1.

        Returns:
            Tensor: ``(K, 4)`` refined boxes, on ``boxes``' device and
            dtype.
        """
        if labels.numel() and (int(labels.min()) < 0
                               or int(labels.max()) >= self.num_classes):
            raise ValueError(
                f'labels must be in [0, {self.num_classes}), got '
                f'{labels.unique().tolist()}')
        image = self._gray_image(image)
        refined = boxes.to(image.device, torch.float32)
        labels = labels.to(image.device, torch.long)
        for _ in range(rounds):
            if refined.numel() == 0:
                break
            windows, frames = crop_windows(image, refined, self.size,
                                           self.expand)
            edges = decode_edges(
                self.symmetric_edge_log_probs(windows, labels),
                self.decode_window)
            refined = from_window(edges, frames)
        return refined.to(boxes.device, boxes.dtype)

    @torch.no_grad()
    def edge_confidence(self, image: Tensor, boxes: Tensor,
                        labels: Tensor) -> Tensor:
        """How sharply each box's edges are found, averaged over its four.

        The mean over the edges of :func:`edge_peak_mass` for a window
        around each box (typically already refined): a box that sits on an
        object's outline scores near 1, one on background or on part of a
        larger structure lower. Used to rank boxes by how well they are
        localised, not only by how sure the detector is of the class.

        Args:
            image (Tensor): As for :meth:`refine`.
            boxes (Tensor): ``(K, 4)`` boxes ``x1, y1, x2, y2``.
            labels (Tensor): ``(K,)`` their classes.

        Returns:
            Tensor: ``(K,)`` confidences in ``(0, 1]``, on ``boxes``'
            device.
        """
        if boxes.numel() == 0:
            return boxes.new_zeros(0)
        image = self._gray_image(image)
        windows, _ = crop_windows(image, boxes.to(image.device,
                                                  torch.float32),
                                  self.size, self.expand)
        log_probs = self.symmetric_edge_log_probs(
            windows, labels.to(image.device, torch.long))
        mass = edge_peak_mass(log_probs, self.decode_window)
        return mass.mean(dim=1).to(boxes.device)
