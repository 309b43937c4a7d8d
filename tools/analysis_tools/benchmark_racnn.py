"""What RA-CNN's training costs, measured side by side in one run.

Prints one JSON line per figure, each the median time of an RA-CNN train
step over that of a single-scale classifier with the same backbone, neck,
head, optimiser, batch and input size (iterations interleaved, so both see
the same machine state):

- ``train_step_classifier``: the classifier phase (three subnetworks
  trained; about 3 expected);
- ``train_step_apn``: the APN phase (three forwards, the backward through
  the frozen subnetworks to the crops and the APNs; no weight gradients);
- ``train_step``: the mean over the config's alternation cycle
  (``classifier_iters`` and ``apn_iters``), the figure the target
  (<= 3.3) refers to.

Example::

    python tools/analysis_tools/benchmark_racnn.py \\
        configs/mura/racnn_vgg19_1xb8_30e_mura.py --batch 2 --input-size 224
"""
import argparse
import copy
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import radplugins  # noqa: F401
from radplugins.utils import emit, sync


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a RACNNClassifier config')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device',
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def build_models(cfg: Config, device: str):
    """The RA-CNN of the config and a single-scale twin of scale 0."""
    racnn_cfg = copy.deepcopy(cfg.model)
    racnn_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    racnn = MODELS.build(racnn_cfg).to(device)
    plain = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=cfg.model.backbone,
            neck=cfg.model.get('neck'),
            head=cfg.model.head,
            data_preprocessor=cfg.get('data_preprocessor'))).to(device)
    plain.backbone.load_state_dict(racnn.backbones[0].state_dict())
    plain.head.load_state_dict(racnn.heads[0].state_dict())
    return racnn, plain


def make_batch(args) -> dict:
    """A dataloader batch of letterboxed inputs with their geometry."""
    g = torch.Generator().manual_seed(0)
    n, s = args.batch, args.input_size
    inputs = torch.randint(0, 256, (n, 3, s, s), generator=g,
                           dtype=torch.uint8)
    samples = []
    for i in range(n):
        sample = DataSample().set_gt_label(i % 2)
        sample.set_metainfo(
            dict(ori_shape=(s, s), scale_factor=(1.0, 1.0),
                 letterbox_offset=(0, 0)))
        samples.append(sample)
    return dict(inputs=list(inputs), data_samples=samples)


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    if cfg.model.get('type') != 'RACNNClassifier':
        raise SystemExit(f'{args.config} is not a RACNNClassifier config')
    racnn, plain = build_models(cfg, args.device)
    racnn.train()
    plain.train()
    racnn_optim = build_optim_wrapper(racnn, cfg.optim_wrapper)
    plain_optim = build_optim_wrapper(
        plain, copy.deepcopy(cfg.optim_wrapper.classifier))
    batch = make_batch(args)
    alt = racnn.alternation
    cycle_start = alt['classifier_warmup_iters'] + alt['apn_init_iters']
    phase_iter = dict(
        classifier=cycle_start,
        apn=cycle_start + alt['classifier_iters'])
    hub = MessageHub.get_current_instance()
    times = dict(plain=[], classifier=[], apn=[])
    for i in range(args.warmup + args.iters):
        for kind in ('plain', 'classifier', 'apn'):
            sync(args.device)
            t = time.perf_counter()
            if kind == 'plain':
                plain.train_step(batch, plain_optim)
            else:
                hub.update_info('iter', phase_iter[kind])
                if racnn.phase(phase_iter[kind]) != kind:
                    raise RuntimeError(f'iteration {phase_iter[kind]} is not '
                                       f'a {kind} iteration')
                racnn.train_step(batch, racnn_optim)
            sync(args.device)
            if i >= args.warmup:
                times[kind].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) for k, v in times.items()}
    common = dict(config=args.config, device=args.device, batch=args.batch,
                  input_size=args.input_size, iters=args.iters,
                  threads=torch.get_num_threads(),
                  plain_s=round(med['plain'], 4))
    for kind in ('classifier', 'apn'):
        emit(figure=f'train_step_{kind}', racnn_s=round(med[kind], 4),
             ratio=round(med[kind] / med['plain'], 3), **common)
    cycle = alt['classifier_iters'] + alt['apn_iters']
    mean = (alt['classifier_iters'] * med['classifier'] +
            alt['apn_iters'] * med['apn']) / cycle
    emit(figure='train_step', racnn_s=round(mean, 4),
         ratio=round(mean / med['plain'], 3), target_max=3.3,
         classifier_iters=alt['classifier_iters'],
         apn_iters=alt['apn_iters'], **common)


if __name__ == '__main__':
    main()
