"""What study-level fusion costs, measured side by side in one run.

Prints one JSON line per figure:

- ``late_fusion_step``: one late-fusion train step on ``B`` studies of
  ``V`` views / the sum of the ``V`` single-view train steps on the same
  images (``B`` images a step, view ``v`` of every study), same backbone,
  head and weights, iterations interleaved (target <= 1.1: the shared
  backbone sees the same ``B * V`` images, in one batch);
- ``early_fusion_step``: one early-fusion train step on the same studies /
  one single-view step on ``B`` images (only the first convolution grows).

Example::

    python tools/analysis_tools/benchmark_fusion.py \\
        configs/mura/latefusion_resnet18_1xb8_8e_synthetic-mura.py \\
        --batch 8 --views 4
"""
import argparse
import copy
import statistics

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import radplugins  # noqa: F401
from radplugins.utils import emit, timed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a StudyClassifier (late fusion) '
                        'config')
    parser.add_argument('--batch', type=int, default=8, help='studies a step')
    parser.add_argument('--views', type=int, default=4)
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--device',
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def build_models(cfg: Config, views: int, device: str):
    """Late-fusion model of the config, a single-view twin with the same
    weights and an early-fusion model on the same backbone."""
    if cfg.model.type != 'StudyClassifier':
        raise ValueError(f'{cfg.filename}: expected a StudyClassifier model,'
                         f' got {cfg.model.type!r}')
    pre = copy.deepcopy(cfg.data_preprocessor)
    late = MODELS.build(dict(cfg.model, data_preprocessor=pre)).to(device)
    single_pre = dict(pre, type='ClsDataPreprocessor')
    single = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=cfg.model.backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=cfg.model.head,
            data_preprocessor=single_pre)).to(device)
    missing, _ = single.load_state_dict(late.state_dict(), strict=False)
    if missing:
        raise RuntimeError(f'single-view twin lacks weights {missing}')
    early = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='EarlyFusionBackbone',
                num_views=views,
                backbone=cfg.model.backbone),
            neck=dict(type='GlobalAveragePooling'),
            head=cfg.model.head,
            data_preprocessor=pre)).to(device)
    return late, single, early


def make_batches(args, seed: int = 0):
    """The study batch and, for each view position, its single-view batch."""
    g = torch.Generator().manual_seed(seed)
    b, v, s = args.batch, args.views, args.input_size
    studies = torch.randint(0, 256, (b, v, 3, s, s), generator=g,
                            dtype=torch.uint8)
    labels = [i % 2 for i in range(b)]
    study_batch = dict(
        inputs=list(studies),
        data_samples=[
            DataSample(view_mask=torch.ones(v, dtype=torch.bool))
            .set_gt_label(label) for label in labels
        ])
    view_batches = [
        dict(
            inputs=list(studies[:, i]),
            data_samples=[DataSample().set_gt_label(x) for x in labels])
        for i in range(v)
    ]
    return study_batch, view_batches


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    torch.manual_seed(0)
    late, single, early = build_models(cfg, args.views, args.device)
    optims = {
        name: build_optim_wrapper(model, cfg.optim_wrapper)
        for name, model in (('late', late), ('single', single),
                            ('early', early))
    }
    for model in (late, single, early):
        model.train()
    study_batch, view_batches = make_batches(args)

    def late_step():
        late.train_step(copy.copy(study_batch), optims['late'])

    def early_step():
        early.train_step(copy.copy(study_batch), optims['early'])

    def single_steps():
        return [
            timed(
                lambda b=b: single.train_step(copy.copy(b), optims['single']),
                args.device) for b in view_batches
        ]

    t_late, t_early, t_singles = [], [], []
    for it in range(args.warmup + args.iters):
        # Interleaved, so load on the machine hits all three alike.
        tl = timed(late_step, args.device)
        ts = single_steps()
        te = timed(early_step, args.device)
        if it >= args.warmup:
            t_late.append(tl)
            t_early.append(te)
            t_singles.append(ts)
    late_s = statistics.median(t_late)
    sum_single_s = statistics.median(sum(ts) for ts in t_singles)
    one_single_s = statistics.median(x for ts in t_singles for x in ts)
    early_s = statistics.median(t_early)
    common = dict(
        device=args.device,
        threads=torch.get_num_threads(),
        backbone=cfg.model.backbone.type,
        batch_studies=args.batch,
        views=args.views,
        input_size=args.input_size,
        iters=args.iters)
    emit(
        figure='late_fusion_step',
        ratio=round(late_s / sum_single_s, 4),
        target=1.1,
        late_step_ms=round(late_s * 1e3, 2),
        late_ms_per_study=round(late_s * 1e3 / args.batch, 3),
        sum_single_view_steps_ms=round(sum_single_s * 1e3, 2),
        **common)
    emit(
        figure='early_fusion_step',
        ratio=round(early_s / one_single_s, 4),
        early_step_ms=round(early_s * 1e3, 2),
        single_view_step_ms=round(one_single_s * 1e3, 2),
        **common)


if __name__ == '__main__':
    main()
