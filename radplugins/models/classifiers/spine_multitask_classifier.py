"""SpineNet: multi-task disc grading with a configurable branch point."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...datasets.spine_tasks import (LESION_TASKS, SPINE_NUM_CLASSES,
                                     SPINE_TASKS)
from ...datasets.transforms.disc_augment import (NUM_TTA_VIEWS,
                                                 disc_tta_views)
from ...saliency import evidence_hotspots
from ..backbones.vgg_m import VGGM_STAGES, kaiming_init
from ..losses.class_balanced_ce import (class_balanced_cross_entropy,
                                        inverse_frequency_weights)

BRANCH_POINTS = VGGM_STAGES + (None, )
# What ``hotspot_cfg['task_overrides']`` may set per task.
HOTSPOT_TASK_SETTINGS = ('num_aug', 'aug_kwargs', 'attribution', 'baseline',
                         'score', 'smooth_sigma')


@MODELS.register_module()
class SpineMultiTaskClassifier(BaseClassifier):
    """Six radiological scores of a disc volume from one network.

    The backbone's stages up to and including ``branch_point`` are shared;
    every stage after it is duplicated per task (independently
    initialised), and each task ends in its own linear layer (FC8). With
    ``branch_point=None`` the six tasks are six separate networks. Training
    sums ``task_weights[t] * L_t`` where ``L_t`` is the class-balanced
    cross-entropy of task ``t`` over the samples labelled for it (the class
    weights ``alpha_c = 1 / freq(c)`` are buffers set once from the
    training set by :class:`SpineClassBalanceHook`, uniform until then).

    Data samples carry ``task_labels`` (``(T,)``, -1 = missing). Prediction
    stores ``task_scores`` (``{task: (K_t,) probabilities}``) and
    ``task_preds`` (``(T,)``); with ``tta`` the scores average SpineNet's 54
    test-time views; with ``hotspot_cfg['enabled']`` it also stores
    ``hotspots`` (``(len(hotspot tasks), S, H, W)``, on the CPU) and the
    metainfo ``hotspot_tasks``.

    Args:
        backbone (dict): A staged backbone config, e.g. ``VGGM1024``.
        branch_point (str, optional): One of conv1..conv5, fc6, fc7, None.
        tasks (Sequence[str]): Task names.
        num_classes (Sequence[int]): Classes per task.
        task_weights (Sequence[float], optional): ``omega_t``; all 1.
        tta (bool): Average the 54 test-time views in ``predict``.
        tta_chunk (int): Volumes per TTA forward pass (54 views each).
        hotspot_cfg (dict, optional): ``enabled`` (bool), ``num_aug`` (K),
            ``tasks`` (names; default: the model's tasks that are in
            :data:`~radplugins.datasets.spine_tasks.LESION_TASKS`),
            ``target`` (``'pred'`` explains the predicted class;
            ``'positive'`` class 1 of binary tasks),
            ``chunk_size``, ``seed``, ``aug_kwargs``, ``attribution``
            (``'gradient'``, the paper's, ``'gradient_x_input'`` or
            ``'integrated_gradients'``), ``baseline`` (the reference of
            integrated gradients in the raw volume's units: a number or
            ``dict(type='blur', sigma=...)``), ``score`` (``'logit'``, the
            paper's class score, or ``'log_odds'`` of the class against
            the others), ``smooth_sigma`` (an in-plane Gaussian blur of the
            finished maps, in pixels; 0, the paper's, keeps them); see
            :func:`radplugins.saliency.evidence_hotspots`.
            ``task_overrides`` (``{task: {setting: value}}``, default
            empty) gives a hotspot task its own ``num_aug``,
            ``aug_kwargs``, ``attribution``, ``baseline``, ``score`` or
            ``smooth_sigma``: tasks that end with the same settings share
            one batched pass, and each pass draws its augmentations from
            ``seed`` afresh, so a task's map does not depend on which
            other tasks are explained with it.
        data_preprocessor (dict, optional): Defaults to
            ``ClsDataPreprocessor``.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 backbone: dict,
                 branch_point: Optional[str] = 'conv5',
                 tasks: Sequence[str] = SPINE_TASKS,
                 num_classes: Sequence[int] = SPINE_NUM_CLASSES,
                 task_weights: Optional[Sequence[float]] = None,
                 tta: bool = False,
                 tta_chunk: int = 4,
                 hotspot_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')
        super().__init__(
            init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        if branch_point not in BRANCH_POINTS:
            raise ValueError(f'unknown branch point {branch_point!r}; '
                             f'expected one of {BRANCH_POINTS}')
        if len(tasks) != len(num_classes):
            raise ValueError(f'{len(tasks)} tasks but {len(num_classes)} '
                             'class counts')
        self.tasks = tuple(tasks)
        self.num_classes = tuple(num_classes)
        self.task_weights = tuple(task_weights or [1.0] * len(tasks))
        if len(self.task_weights) != len(tasks):
            raise ValueError(f'{len(self.task_weights)} task weights for '
                             f'{len(tasks)} tasks')
        self.branch_point = branch_point
        net = MODELS.build(backbone)
        stages = list(net.stages)
        cut = 0 if branch_point is None else VGGM_STAGES.index(
            branch_point) + 1
        self.trunk = nn.Sequential(*stages[:cut])
        tower = nn.Sequential(*stages[cut:])
        self.towers = nn.ModuleList()
        for i in range(len(tasks)):
            copy_i = tower if i == 0 else copy.deepcopy(tower)
            if i > 0:
                kaiming_init(copy_i)
            self.towers.append(copy_i)
        self.heads = nn.ModuleList(
            nn.Linear(net.out_channels, k) for k in self.num_classes)
        for k, task in zip(self.num_classes, self.tasks):
            self.register_buffer(f'class_weights_{task}', torch.ones(k))
        self.tta = tta
        self.tta_chunk = tta_chunk
        self.hotspot_cfg = dict(
            enabled=False,
            num_aug=32,
            tasks=tuple(t for t in self.tasks if t in LESION_TASKS),
            target='pred',
            chunk_size=64,
            seed=0,
            aug_kwargs=None,
            attribution='gradient',
            baseline=0.0,
            score='logit',
            smooth_sigma=0.0,
            task_overrides=None)
        self.hotspot_cfg.update(hotspot_cfg or {})

    # -- structure ---------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Output of the shared trunk (the input itself for six towers)."""
        return self.trunk(inputs)

    def task_logits(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """``[(N, K_t) logits for each task]``."""
        shared = self.extract_feat(inputs)
        return [
            head(tower(shared))
            for tower, head in zip(self.towers, self.heads)
        ]

    def _input_normalisation(
            self) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        """The data preprocessor's ``(mean, std)``, each ``(C, 1, 1)``, or
        None when it does not normalise."""
        pre = self.data_preprocessor
        if getattr(pre, '_enable_normalize', False):
            return pre.mean, pre.std
        return None

    def _raw_volumes(self, inputs: torch.Tensor) -> torch.Tensor:
        """Undo the preprocessor's normalisation of ``inputs``."""
        norm = self._input_normalisation()
        return inputs if norm is None else inputs * norm[1] + norm[0]

    def volume_logits(self, volumes: torch.Tensor) -> List[torch.Tensor]:
        """Task logits of raw (un-normalised) volumes."""
        norm = self._input_normalisation()
        if norm is not None:
            volumes = (volumes - norm[0]) / norm[1]
        return self.task_logits(volumes)

    def class_weights(self, task: str) -> torch.Tensor:
        return getattr(self, f'class_weights_{task}')

    def set_class_frequencies(self, labels: np.ndarray) -> None:
        """Set ``alpha_c = 1 / freq(c)`` per task from ``(N, T)`` training
        labels (-1 = missing)."""
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[1] != len(self.tasks):
            raise ValueError(f'labels of shape {labels.shape}; expected '
                             f'(N, {len(self.tasks)})')
        for t, (task, k) in enumerate(zip(self.tasks, self.num_classes)):
            weights = inverse_frequency_weights(labels[:, t], k)
            self.class_weights(task).copy_(torch.from_numpy(weights))

    # -- modes -------------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self.task_logits(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    @staticmethod
    def _labels(data_samples: List[DataSample],
                device: torch.device) -> torch.Tensor:
        return torch.stack([
            torch.as_tensor(np.asarray(s.task_labels), dtype=torch.long)
            for s in data_samples
        ]).to(device)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        labels = self._labels(data_samples, inputs.device)
        losses = {}
        for t, logits in enumerate(self.task_logits(inputs)):
            task = self.tasks[t]
            losses[f'loss_{task}'] = self.task_weights[
                t] * class_balanced_cross_entropy(logits, labels[:, t],
                                                  self.class_weights(task))
        return losses

    def predict_scores(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Per-task probabilities ``(N, K_t)``, TTA-averaged if enabled."""
        if not self.tta:
            return [lg.softmax(-1) for lg in self.task_logits(inputs)]
        # The views are cut from the raw volumes, as the training pipeline
        # warps them before normalising: what leaves the field of view is
        # then the volume's zero, not the normalised zero (its mean).
        raw = self._raw_volumes(inputs)
        chunks = []
        for start in range(0, inputs.shape[0], self.tta_chunk):
            part = raw[start:start + self.tta_chunk]
            views = disc_tta_views(part)
            probs = [lg.softmax(-1) for lg in self.volume_logits(views)]
            chunks.append([
                p.view(part.shape[0], NUM_TTA_VIEWS, -1).mean(1)
                for p in probs
            ])
        return [torch.cat(c) for c in zip(*chunks)]

    def hotspots(self,
                 inputs: torch.Tensor,
                 targets: torch.Tensor,
                 tasks: Sequence[str],
                 num_aug: int = 32,
                 generator: Optional[torch.Generator] = None,
                 chunk_size: int = 64,
                 aug_kwargs: Optional[dict] = None,
                 attribution: str = 'gradient',
                 baseline: Union[float, dict] = 0.0,
                 score: str = 'logit',
                 smooth_sigma: float = 0.0) -> torch.Tensor:
        """Evidence hotspots ``(N, len(tasks), S, H, W)`` of the classes
        ``targets`` (``(N, len(tasks))``) for normalised ``inputs``.

        The copies are augmented from the raw volumes, as in training
        (zero fill, intensity shift in the volume's units), and the maps
        are gradients with respect to the raw volume (times the raw copy
        with ``attribution='gradient_x_input'``; the path from
        ``baseline`` to the raw copy with ``'integrated_gradients'``), of
        the class logit or, with ``score='log_odds'``, of its log-odds;
        ``smooth_sigma > 0`` blurs each slice of the finished maps.
        """
        index = [self.tasks.index(t) for t in tasks]
        return evidence_hotspots(
            self.volume_logits,
            self,
            self._raw_volumes(inputs),
            targets,
            index,
            num_aug=num_aug,
            aug_kwargs=aug_kwargs,
            generator=generator,
            chunk_size=chunk_size,
            attribution=attribution,
            baseline=baseline,
            score=score,
            smooth_sigma=smooth_sigma)

    def _hotspot_groups(self, tasks: Sequence[str]
                        ) -> List[Tuple[dict, List[int]]]:
        """``[(settings, indices into tasks)]``: the hotspot tasks grouped
        by their settings (``hotspot_cfg`` with the task's
        ``task_overrides`` applied), in order of first appearance."""
        cfg = self.hotspot_cfg
        overrides = cfg.get('task_overrides') or {}
        # An override for a task of the model that is not explained this
        # time (a tool asked for fewer tasks) is unused, not an error; a
        # name that is no task at all is a typo.
        unknown = sorted(set(overrides) - set(self.tasks))
        if unknown:
            raise ValueError(f'hotspot task_overrides for {unknown}, which '
                             f'are not tasks of this model {self.tasks}')
        for task, extra in overrides.items():
            bad = sorted(set(extra or {}) - set(HOTSPOT_TASK_SETTINGS))
            if bad:
                raise ValueError(
                    f'hotspot task_overrides[{task!r}] sets {bad}; a task '
                    f'can set {HOTSPOT_TASK_SETTINGS}')
        groups: List[Tuple[dict, List[int]]] = []
        for j, task in enumerate(tasks):
            extra = dict(overrides.get(task) or {})
            settings = {k: extra.get(k, cfg[k]) for k in
                        HOTSPOT_TASK_SETTINGS}
            for known, columns in groups:
                if known == settings:
                    columns.append(j)
                    break
            else:
                groups.append((settings, [j]))
        return groups

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        with torch.no_grad():
            scores = self.predict_scores(inputs)
        preds = torch.stack([s.argmax(-1) for s in scores], 1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.shape[0])]
        cfg = self.hotspot_cfg
        maps = None
        if cfg['enabled']:
            tasks = tuple(cfg['tasks'])
            index = [self.tasks.index(t) for t in tasks]
            targets = preds[:, index].clone()
            if cfg['target'] == 'positive':
                for j, t in enumerate(index):
                    if self.num_classes[t] == 2:
                        targets[:, j] = 1
            elif cfg['target'] != 'pred':
                raise ValueError(f"unknown hotspot target {cfg['target']!r}"
                                 "; expected 'pred' or 'positive'")
            maps = inputs.new_empty((inputs.shape[0], len(tasks)) +
                                    tuple(inputs.shape[1:]), device='cpu')
            for settings, columns in self._hotspot_groups(tasks):
                generator = torch.Generator().manual_seed(int(cfg['seed']))
                maps[:, columns] = self.hotspots(
                    inputs, targets[:, columns],
                    [tasks[j] for j in columns],
                    generator=generator,
                    chunk_size=cfg['chunk_size'],
                    **settings).cpu()
        for i, sample in enumerate(data_samples):
            sample.set_field(
                {t: s[i].detach()
                 for t, s in zip(self.tasks, scores)}, 'task_scores')
            sample.set_field(preds[i], 'task_preds')
            if maps is not None:
                sample.set_field(maps[i], 'hotspots')
                sample.set_field(
                    tuple(cfg['tasks']), 'hotspot_tasks',
                    field_type='metainfo')
        return data_samples
