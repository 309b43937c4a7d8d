"""Write pictures of the zoom (ROI, GBP, entropy, crop) during val/test."""
import math
import os.path as osp
from typing import List, Optional, Sequence

import mmengine.fileio as fileio
import numpy as np
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ...datasets.transforms.loading import decode_radiograph, to_channels
from ...visualization import (map_to_frame, render_zoom_panel,
                              sample_to_panel_args, save_image)


@HOOKS.register_module()
class ZoomVisualizationHook(Hook):
    """Save zoom panels of every ``interval``-th val/test sample.

    For the chosen samples it writes one PNG each (see
    :func:`radplugins.visualization.render_zoom_panel`: the radiograph with
    every step's ROI box, the GBP and local-entropy maps and the crops) to
    ``<work_dir>/<timestamp>/zoom_vis/<tag>/<image-stem>_<idx>.png``, where
    ``tag`` is ``epoch_<n>`` (``iter_<n>`` for iteration-based training) for
    validation during training, ``val`` for a standalone validation and
    ``test`` for testing, and ``idx`` is the sample's dataset index.

    The maps exist only when the model keeps them (``return_maps``). The
    hook switches :attr:`ZoomInClassifier.return_maps` on just for the
    batches it draws from and restores the model's own setting at the end
    of the epoch, so metrics and dumped predictions of other batches do not
    carry the maps. Models without zoom (no ``zoom_boxes``) still get the
    radiograph with the predicted label. Enable it in a config with::

        custom_hooks = [dict(type='ZoomVisualizationHook', interval=50)]

    Samples are counted per process; with ``W`` processes each writes at
    most ``ceil(max_images / W)`` panels.

    Args:
        interval (int): Draw samples ``0, interval, 2 * interval, ...`` of
            each epoch. Defaults to 50.
        max_images (int): At most this many panels per epoch. Defaults
            to 16.
        tile_size (int): Side of a panel tile in pixels. Defaults to 320.
        enable_val (bool): Draw during validation. Defaults to True.
        enable_test (bool): Draw during testing. Defaults to True.
        backend_args (dict, optional): mmengine file backend for reading the
            original images.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 50,
                 max_images: int = 16,
                 tile_size: int = 320,
                 enable_val: bool = True,
                 enable_test: bool = True,
                 backend_args: Optional[dict] = None) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval!r}')
        if max_images < 0:
            raise ValueError(f'max_images must be >= 0, got {max_images!r}')
        if tile_size < 32:
            raise ValueError(f'tile_size must be >= 32, got {tile_size!r}')
        self.interval = interval
        self.max_images = max_images
        self.tile_size = tile_size
        self.enable = dict(val=enable_val, test=enable_test)
        self.backend_args = backend_args
        self._reset(None, '')

    # ------------------------------------------------------------------
    def _reset(self, out_dir: Optional[str], mode: str) -> None:
        self._out_dir = out_dir
        self._mode = mode
        self._seen = 0
        self._written: List[str] = []
        self._picks: List[int] = []
        self._saved_return_maps = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    @staticmethod
    def _tag(runner, mode: str) -> str:
        if mode == 'test':
            return 'test'
        if runner.epoch > 0:
            return f'epoch_{runner.epoch}'
        if runner.iter > 0:
            return f'iter_{runner.iter}'
        return 'val'

    def _budget(self) -> int:
        return math.ceil(self.max_images / max(1, get_world_size()))

    def _start(self, runner, mode: str) -> None:
        if not self.enable[mode]:
            self._reset(None, mode)
            return
        self._reset(
            osp.join(runner.work_dir, runner.timestamp, 'zoom_vis',
                     self._tag(runner, mode)), mode)
        model = self._model(runner)
        if hasattr(model, 'return_maps'):
            self._saved_return_maps = model.return_maps

    def _finish(self, runner) -> None:
        if self._saved_return_maps is not None:
            self._model(runner).return_maps = self._saved_return_maps
        if self._written:
            runner.logger.info(
                f'ZoomVisualizationHook: wrote {len(self._written)} zoom '
                f'panel(s) to {self._out_dir}')
        self._reset(None, '')

    def _before_iter(self, runner, data_batch) -> None:
        self._picks = []
        if self._out_dir is None:
            return
        samples = (data_batch or {}).get('data_samples') or []
        left = self._budget() - len(self._written)
        for i in range(len(samples)):
            if left <= 0:
                break
            if (self._seen + i) % self.interval == 0:
                self._picks.append(i)
                left -= 1
        if self._saved_return_maps is not None:
            # Maps only for the batches that are drawn: they are large.
            self._model(runner).return_maps = \
                bool(self._picks) or self._saved_return_maps

    def _after_iter(self, runner, data_batch, outputs: Sequence) -> None:
        if self._out_dir is None:
            return
        for i in self._picks:
            if i < len(outputs):
                self._draw(runner, data_batch, i, outputs[i])
        self._seen += len((data_batch or {}).get('data_samples') or
                          outputs or [])
        self._picks = []

    # ------------------------------------------------------------------
    def _class_names(self, runner) -> Optional[Sequence[str]]:
        loader = runner.test_dataloader if self._mode == 'test' else \
            runner.val_dataloader
        meta = getattr(getattr(loader, 'dataset', None), 'metainfo', None)
        if meta and meta.get('classes'):
            return meta['classes']
        meta = getattr(self._model(runner), 'dataset_meta', None) or {}
        return meta.get('classes')

    def _original(self, runner, data_batch, index: int,
                  sample) -> np.ndarray:
        """The radiograph as loaded, or the un-letterboxed input."""
        path = sample.get('img_path', None)
        if path is not None:
            try:
                content = fileio.get(path, backend_args=self.backend_args)
                return to_channels(decode_radiograph(content, path), 3, path)
            except Exception as exc:  # a picture must not stop validation
                runner.logger.warning(
                    f'ZoomVisualizationHook: cannot re-read {path} ({exc}); '
                    'drawing on the network input instead')
        # No file to read (e.g. in-memory inputs): undo the letterbox of
        # the network input, at its lower resolution.
        inputs = data_batch['inputs'][index]
        img = inputs.detach().cpu().numpy().astype(np.float32)
        if 'scale_factor' not in sample:
            return img.transpose(1, 2, 0)
        return map_to_frame(img, sample.scale_factor, sample.letterbox_offset,
                            tuple(sample.ori_shape)).transpose(1, 2, 0)

    def _draw(self, runner, data_batch, index: int, sample) -> None:
        idx = sample.get('sample_idx', self._seen + index)
        path = sample.get('img_path', None)
        stem = osp.splitext(osp.basename(path))[0] if path else 'sample'
        names = self._class_names(runner)
        title = f'{stem} #{idx}'
        if 'gt_label' in sample:
            gt = int(np.asarray(sample.gt_label.cpu()).reshape(-1)[0])
            gt_name = names[gt] if names and gt < len(names) else str(gt)
            title += f'   truth: {gt_name}'
        panel = render_zoom_panel(
            self._original(runner, data_batch, index, sample),
            class_names=names,
            title=title,
            tile_size=self.tile_size,
            **sample_to_panel_args(sample))
        out = osp.join(self._out_dir, f'{stem}_{idx}.png')
        self._written.append(save_image(out, panel))

    # ------------------------------------------------------------------
    def before_val_epoch(self, runner) -> None:
        """Start counting and pick the output folder."""
        self._start(runner, 'val')

    def before_val_iter(self, runner, batch_idx: int,
                        data_batch: Optional[dict] = None) -> None:
        """Choose the samples of this batch; ask for maps if any."""
        self._before_iter(runner, data_batch)

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        """Draw the chosen samples of this batch."""
        self._after_iter(runner, data_batch, outputs or [])

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        """Restore the model's ``return_maps`` and log the folder."""
        self._finish(runner)

    def before_test_epoch(self, runner) -> None:
        """Start counting and pick the output folder."""
        self._start(runner, 'test')

    def before_test_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None) -> None:
        """Choose the samples of this batch; ask for maps if any."""
        self._before_iter(runner, data_batch)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        """Draw the chosen samples of this batch."""
        self._after_iter(runner, data_batch, outputs or [])

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        """Restore the model's ``return_maps`` and log the folder."""
        self._finish(runner)
