"""What evidence hotspots and 54-view TTA cost, side by side in one run.

Prints one JSON line per figure, each a median over ``--repeats``
interleaved measurements:

- ``hotspots_k32``: evidence hotspots of one disc volume for one task with
  K = 32 augmentations (augment, one batched forward of the 32 copies, one
  input backward, inverse warps, mean) / one batched forward + input
  backward of 32 volumes (target <= 1.3);
- ``hotspots_k32_all4``: the same for the four binary tasks at once (one
  forward, four input backwards) / the same reference;
- ``tta54``: the 54-view test-time prediction of one volume / one forward
  of a batch of 54 volumes (target <= 1.2).

Every forward goes through the model's input normalisation (the data
preprocessor's mean/std, which hotspots and TTA apply after warping the
stored volume), so both sides of a ratio pay for it.

Example::

    python tools/analysis_tools/benchmark_spine.py \\
        configs/spine/spinenet_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py
"""
import argparse
import statistics

import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import radplugins  # noqa: F401
from radplugins.datasets.spine_tasks import LESION_TASKS
from radplugins.saliency import class_score_gradients, saliency_mode
from radplugins.utils import emit, timed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a spine config (its model is used)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model).to(args.device).eval()
    torch.manual_seed(0)
    one = torch.rand(1, 9, 112, 224, device=args.device)
    batch32 = torch.rand(32, 9, 112, 224, device=args.device)
    batch54 = torch.rand(54, 9, 112, 224, device=args.device)
    task = model.tasks.index('upper_endplate')
    binary = list(LESION_TASKS)
    gen = torch.Generator().manual_seed(0)

    def reference_saliency():
        x = batch32.clone().requires_grad_(True)
        with torch.enable_grad(), saliency_mode(model):
            logits = model.volume_logits(x)[task]
            class_score_gradients(logits, x, torch.ones(32, dtype=torch.long,
                                                        device=x.device),
                                  'plain')

    def hotspots(tasks):
        return lambda: model.hotspots(
            one, torch.ones(1, len(tasks), dtype=torch.long,
                            device=one.device), tasks, num_aug=32,
            generator=gen, chunk_size=32)

    def forward54():
        with torch.no_grad():
            model.volume_logits(batch54)

    def tta():
        model.tta, model.tta_chunk = True, 1
        with torch.no_grad():
            model.predict_scores(one)
        model.tta = False

    runs = dict(ref=reference_saliency, hot1=hotspots(['upper_endplate']),
                hot4=hotspots(binary), fwd54=forward54, tta=tta)
    for fn in runs.values():  # warm-up
        fn()
    times = {k: [] for k in runs}
    for _ in range(args.repeats):
        for key, fn in runs.items():
            times[key].append(timed(fn, args.device))
    med = {k: statistics.median(v) for k, v in times.items()}
    common = dict(device=args.device, repeats=args.repeats,
                  widths=list(cfg.model.backbone.get('widths', [])),
                  branch_point=model.branch_point)
    for name, num, den, target in (
            ('hotspots_k32', 'hot1', 'ref', 1.3),
            ('hotspots_k32_all4', 'hot4', 'ref', None),
            ('tta54', 'tta', 'fwd54', 1.2)):
        emit(figure=name, ratio=round(med[num] / med[den], 3),
             seconds=round(med[num], 4),
             reference_seconds=round(med[den], 4), target=target, **common)


if __name__ == '__main__':
    main()
