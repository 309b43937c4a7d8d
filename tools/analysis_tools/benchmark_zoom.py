"""What zooming costs, measured side by side in one run.

Prints one JSON line per figure:

- ``train_step``: ZoomInClassifier train step / plain classifier train step
  with the same backbone, neck, head, batch and input size, iterations
  interleaved; the median over iterations of each zoom step divided by
  the plain step just before it, with the quartiles (target <= 2.5; the
  floor is about 2.33: one forward, one input-only backward and two
  trainings);
- ``entropy_vs_skimage``: our batched local entropy vs
  ``skimage.filters.rank.entropy`` on the same 32 quantised 224x224 maps,
  same square window and bins: maximum difference in bits and the speed
  ratio (also on CUDA when available);
- ``entropy_share``: the entropy's time as a share of one zoom train step
  (target <= 5 %);
- ``memory``: peak memory of a zoom train step / a plain one (target
  <= 1.6), each measured in a fresh subprocess on the CPU (peak RSS growth)
  or as ``torch.cuda.max_memory_allocated`` on a GPU;
- ``phases`` (with ``--phases N``): where the time of each step goes,
  median seconds per phase over N more steps of each model, timed apart
  from the ratio above (the timers synchronise the device around every
  phase).

Precision and memory format, side by side (``--precision float32
bfloat16``, ``--channels-last``): every variant (each precision, and with
``--channels-last`` each also channels-last) has its own copies of the two
models, trained as ``tools/train.py --amp`` trains (``CPUAmpOptimWrapper``
for bfloat16 on a CPU); the variants take turns on each iteration. Each
variant gets its own ``train_step``, ``phases`` and ``memory`` lines
(with ``variant``, ``precision``, ``channels_last`` and ``autocast``, what
really ran), and each variant after the first a ``train_speedup`` per
model: the median over iterations of the first variant's step over this
one's (target >= 1.8 for bfloat16 against float32). ``--infer-iters N``
adds ``inference`` lines (images/s of ``test_step``, zoom and plain, the
amp variants through the tools' ``amp_inference``) and ``infer_speedup``
lines alike. The entropy figures are the first variant's: the entropy runs
in float32 whatever the network does.

Examples::

    python tools/analysis_tools/benchmark_zoom.py \\
        configs/mura/zoom_resnet18_1xb16_8e_synthetic-mura.py --batch 16
    python tools/analysis_tools/benchmark_zoom.py CONFIG --batch 16 \\
        --precision float32 bfloat16 --channels-last --infer-iters 5
"""
import argparse
import contextlib
import copy
import json
import subprocess
import sys
import time
from collections import defaultdict
from typing import Dict, Iterator, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import radplugins  # noqa: F401
from radplugins.models.classifiers import zoom_in_classifier
from radplugins.saliency import local_entropy, saliency_entropy
from radplugins.utils.precision import (add_variant_args, optim_cfg_for,
                                        variant_names)
from radplugins.utils import amp_inference, emit, sync, to_channels_last

KINDS = ('plain', 'zoom')

# The saliency core's calls in a zoom step, by the module-level names the
# zoom classifier calls them through, and the phase each one counts for.
ZOOM_CALL_PHASES = {
    'class_score_gradients': 'saliency (input-only backward)',
    'saliency_entropy': 'entropy',
    'boxes_from_maps': 'roi boxes',
    'crop_and_resize': 'crops',
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a ZoomInClassifier config')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--hr-size', type=int, nargs=2, default=(1024, 768),
                        help='high-resolution copy (h, w)')
    parser.add_argument('--iters', type=int, default=15)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device',
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--entropy-maps', type=int, default=32)
    parser.add_argument('--phases', type=int, default=0, metavar='N',
                        help='also time each phase of N more steps per '
                        'model (default 0: off)')
    add_variant_args(parser, 'of both models ')
    parser.add_argument('--memory-worker', choices=['zoom', 'plain'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--memory-channels-last', action='store_true',
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_models(cfg: Config, device: str):
    """The zoom model of the config and a plain twin with equal weights
    (seeded, so every run times the same network)."""
    torch.manual_seed(0)
    zoom_cfg = copy.deepcopy(cfg.model)
    zoom_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    zoom = MODELS.build(zoom_cfg).to(device)
    plain_cfg = dict(
        type='ImageClassifier',
        backbone=cfg.model.backbone,
        neck=cfg.model.get('neck'),
        head=cfg.model.head,
        data_preprocessor=cfg.get('data_preprocessor'))
    plain = MODELS.build(plain_cfg).to(device)
    plain.load_state_dict(zoom.state_dict())
    return zoom, plain


def high_res_channels(cfg: Config) -> int:
    """Channels of the config's high-resolution copies (``KeepHighRes``
    with ``gray=True`` keeps one)."""
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.get('type') == 'KeepHighRes':
            return 1 if step.get('gray', False) else 3
    raise SystemExit('the config\'s train pipeline has no KeepHighRes')


def make_batch(args, seed: int = 0, high_res: bool = True) -> dict:
    """A dataloader batch as the zoom pipeline makes it.

    Radiograph-like pixels: smooth random fields in [0, 255] at the
    high-resolution size; the network inputs are their letterboxed
    downscales (gray copies replicated to 3 channels), so the data
    preprocessor's normalisation sees pixel values, as in training, and the
    zoom's crops hold the same image as the inputs. A plain classifier's
    pipeline has no high-resolution copies.
    """
    g = torch.Generator().manual_seed(seed)
    n, s = args.batch, args.input_size
    hr_h, hr_w = args.hr_size
    coarse = torch.rand(n, args.hr_channels, hr_h // 32 + 1, hr_w // 32 + 1,
                        generator=g)
    hr = F.interpolate(coarse, size=(hr_h, hr_w), mode='bilinear',
                       align_corners=False)
    hr = (hr * 255 + torch.randn(hr.shape, generator=g) * 8).clamp_(0, 255)
    scale = s / max(hr_h, hr_w)
    new_h, new_w = round(hr_h * scale), round(hr_w * scale)
    offset = ((s - new_w) // 2, (s - new_h) // 2)
    inputs = torch.zeros(n, 3, s, s)
    inputs[:, :, offset[1]:offset[1] + new_h,
           offset[0]:offset[0] + new_w] = F.interpolate(
               hr, size=(new_h, new_w), mode='area').expand(n, 3, -1, -1)
    samples = []
    for i in range(n):
        sample = DataSample().set_gt_label(i % 2)
        sample.set_metainfo(
            dict(
                ori_shape=(hr_h, hr_w),
                scale_factor=(scale, scale),
                letterbox_offset=offset,
                hr_scale=1.0))
        if high_res:
            sample.set_field(hr[i].to(args.device), 'hr_img')
        samples.append(sample)
    return dict(inputs=inputs.to(args.device), data_samples=samples)


def train_step(model, optim_wrapper, batch) -> None:
    """The runner's call: preprocess, forward, backward, update."""
    model.train_step(batch, optim_wrapper)


@contextlib.contextmanager
def phase_timer(models: dict, device: str) -> Iterator[Dict[str, float]]:
    """Seconds spent per phase of the train steps run inside the block.

    Wraps, for the duration of the block, the calls a train step makes:
    each model's data preprocessor and ``extract_feat`` (the backbone and
    neck forward; the linear head is left in ``other``), the saliency
    core's functions as the zoom classifier calls them, ``Tensor.backward``
    (a backward restricted to ``inputs=`` is the zoom's parameter-only one)
    and the optimiser step. Every wrapped call synchronises the device
    before and after, so GPU time is charged to the phase that queued it.
    Everything is restored on exit, also on errors.

    Args:
        models (dict): The models whose calls are timed.
        device (str): Their device.

    Yields:
        dict: Phase name -> seconds, filled while the block runs; the
        caller clears it between steps.
    """
    spent: Dict[str, float] = defaultdict(float)

    def timed(phase, fn):

        def wrapper(*args, **kwargs):
            sync(device)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                sync(device)
                spent[phase] += time.perf_counter() - start

        return wrapper

    tensor_backward = torch.Tensor.backward

    def backward(tensor, *args, **kwargs):
        phase = ('backward (parameters only)'
                 if kwargs.get('inputs') is not None else 'backward')
        return timed(phase, tensor_backward)(tensor, *args, **kwargs)

    restore = []
    try:
        for name, phase in ZOOM_CALL_PHASES.items():
            restore.append((zoom_in_classifier, name,
                            getattr(zoom_in_classifier, name)))
            setattr(zoom_in_classifier, name,
                    timed(phase, getattr(zoom_in_classifier, name)))
        for model in models.values():
            for owner, name, phase in (
                    (model, 'extract_feat', 'forward'),
                    (model.data_preprocessor, 'forward', 'preprocess')):
                setattr(owner, name, timed(phase, getattr(owner, name)))
                # The wrapper is an instance attribute shadowing the
                # class's method: removing it brings the method back.
                restore.append((owner, name, None))
        restore.append((torch.Tensor, 'backward', tensor_backward))
        torch.Tensor.backward = backward
        yield spent
    finally:
        for owner, name, original in reversed(restore):
            if original is None:
                owner.__dict__.pop(name, None)
            else:
                setattr(owner, name, original)


def time_phases(models: dict, optims: dict, batches: dict, steps: int,
                device: str) -> dict:
    """Median seconds per phase and per step of each model.

    Args:
        models (dict): ``zoom`` and ``plain`` models.
        optims (dict): Their optimiser wrappers.
        batches (dict): Their batches.
        steps (int): Steps timed per model, interleaved.
        device (str): The models' device.

    Returns:
        dict: Per model, phase -> median seconds, with ``step`` (the whole
        train step) and ``other`` (the step minus its phases: the head,
        the losses, the optimiser step and bookkeeping).
    """
    records = defaultdict(list)
    with phase_timer(models, device) as spent:
        for _ in range(steps):
            for kind in ('plain', 'zoom'):
                spent.clear()
                sync(device)
                start = time.perf_counter()
                train_step(models[kind], optims[kind], batches[kind])
                sync(device)
                step = dict(spent, step=time.perf_counter() - start)
                step['other'] = step['step'] - sum(spent.values())
                records[kind].append(step)
    return {
        kind: {
            phase: round(float(np.median([r.get(phase, 0.0) for r in steps_])),
                         4)
            for phase in steps_[0]
        }
        for kind, steps_ in records.items()
    }


def _proc_status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def memory_worker(args, cfg) -> None:
    """Run a few train steps of one model; print its peak memory growth.

    On the CPU the process's peak RSS (VmHWM) is reset after set-up
    (``/proc/self/clear_refs``), so imports and model building do not mask
    the training peak. The model trains in ``args.precision[0]``,
    channels-last with ``--memory-channels-last``.
    """
    zoom, plain = build_models(cfg, args.device)
    model = zoom if args.memory_worker == 'zoom' else plain
    del zoom, plain
    if args.memory_channels_last:
        to_channels_last(model)
    model.train()
    optim = build_optim_wrapper(
        model, optim_cfg_for(cfg.optim_wrapper, args.precision[0],
                             args.device))
    batch = make_batch(args, high_res=args.memory_worker == 'zoom')
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
    else:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current RSS
        base = _proc_status_mb('VmRSS')
    for _ in range(3):
        train_step(model, optim, batch)
    sync(args.device)
    if args.device.startswith('cuda'):
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = _proc_status_mb('VmHWM')
    emit(peak_growth_mb=peak - base)


def measure_memory(args, precision: str = 'float32',
                   channels_last: bool = False) -> dict:
    """Peak memory growth of each model's train steps, a fresh process
    each, in one precision and memory format."""
    out = {}
    for kind in KINDS:
        cmd = [sys.executable, __file__, args.config, '--batch',
               str(args.batch), '--input-size', str(args.input_size),
               '--hr-size', *map(str, args.hr_size), '--device', args.device,
               '--memory-worker', kind, '--precision', precision]
        if channels_last:
            cmd.append('--memory-channels-last')
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'memory worker {kind} ({precision}) failed:'
                               f'\n{proc.stderr[-3000:]}')
        line = [x for x in proc.stdout.splitlines() if x.startswith('{')][-1]
        out[kind] = json.loads(line)['peak_growth_mb']
    return out


def build_variants(cfg: Config, args) -> List[dict]:
    """Per variant: ``name``, ``precision``, ``channels_last``, and its own
    ``models`` and ``optims`` (``zoom`` and ``plain``), all variants from
    the same initial weights."""
    zoom, plain = build_models(cfg, args.device)
    variants = []
    for name, precision, cl in variant_names(args.precision,
                                             args.channels_last):
        models = dict(zoom=copy.deepcopy(zoom), plain=copy.deepcopy(plain))
        optims = {}
        for kind, model in models.items():
            if cl:
                to_channels_last(model)
            model.train()
            optims[kind] = build_optim_wrapper(
                model, optim_cfg_for(cfg.optim_wrapper, precision,
                                     args.device))
        dtype = getattr(optims['zoom'], 'cast_dtype', None)
        if precision != 'float32' and dtype is None and \
                type(optims['zoom']).__name__ == 'AmpOptimWrapper':
            dtype = torch.float16  # AmpOptimWrapper's default on a GPU
        variants.append(
            dict(name=name, precision=precision, channels_last=cl,
                 autocast=None if dtype is None else
                 str(dtype).replace('torch.', ''),
                 models=models, optims=optims))
    return variants


def variant_fields(variant: dict, many: bool) -> dict:
    """The fields that tell a variant's lines apart (none for a single
    float32 run, whose lines stay as they were)."""
    if not many and variant['precision'] == 'float32' and \
            not variant['channels_last']:
        return {}
    return dict(variant=variant['name'], precision=variant['precision'],
                channels_last=variant['channels_last'],
                autocast=variant['autocast'])


def emit_speedups(figure: str, times: dict, variants: List[dict],
                  **fields) -> None:
    """Per variant after the first and per model: the median and quartiles
    of the first variant's time over this one's, iteration by
    iteration."""
    reference = variants[0]
    for variant in variants[1:]:
        for kind in KINDS:
            paired = np.array(times[reference['name']][kind]) / np.array(
                times[variant['name']][kind])
            record = dict(
                figure=figure, model=kind, variant=variant['name'],
                reference=reference['name'],
                ratio=round(float(np.median(paired)), 3),
                ratio_quartiles=[round(float(q), 3)
                                 for q in np.percentile(paired, (25, 75))],
                **fields)
            if figure == 'train_speedup' and \
                    variant['precision'] == 'bfloat16' and \
                    reference['precision'] == 'float32':
                record['target_min'] = 1.8
            emit(**record)


def time_inference(variants: List[dict], batches: dict, iters: int,
                   device: str) -> dict:
    """Seconds of each model's ``test_step`` per variant and iteration
    after one warm-up, the variants taking turns; the amp variants run
    through ``amp_inference`` as the tools do."""
    times = {v['name']: {kind: [] for kind in KINDS} for v in variants}
    for variant in variants:
        for model in variant['models'].values():
            model.eval()
    for i in range(iters + 1):
        for variant in variants:
            for kind in KINDS:
                model = variant['models'][kind]
                # test_step drops the samples' high-resolution copies.
                batch = copy.deepcopy(batches[kind])
                sync(device)
                start = time.perf_counter()
                with amp_inference(
                        model, variant['precision'],
                        enabled=variant['precision'] != 'float32'), \
                        torch.no_grad():
                    model.test_step(batch)
                sync(device)
                if i:
                    times[variant['name']][kind].append(
                        time.perf_counter() - start)
    return times


def bench_entropy(args) -> None:
    try:
        from skimage.filters.rank import entropy as rank_entropy
    except ImportError:
        emit(figure='entropy_vs_skimage', skipped='scikit-image missing')
        return
    bins, window, size = 16, 9, 224
    rng = np.random.default_rng(0)
    # Saliency-like maps: smooth blobs plus noise, quantised like ours.
    maps = torch.from_numpy(rng.standard_normal(
        (args.entropy_maps, size, size)).astype(np.float32))
    maps = torch.nn.functional.avg_pool2d(maps[:, None], 5, 1, 2)[:, 0]
    levels = (maps.abs() / maps.abs().amax(dim=(1, 2), keepdim=True) *
              bins).long().clamp(0, bins - 1)
    footprint = np.ones((window, window), np.uint8)
    levels_np = levels.numpy().astype(np.uint8)

    def ours(device):
        lv = levels.to(device)
        local_entropy(lv, bins, window)  # warm-up
        sync(device)
        t = time.perf_counter()
        out = local_entropy(lv, bins, window)
        sync(device)
        return out.cpu().numpy(), time.perf_counter() - t

    rank_entropy(levels_np[0], footprint)
    t = time.perf_counter()
    ref = np.stack([rank_entropy(m, footprint) for m in levels_np])
    t_ref = time.perf_counter() - t
    ours_cpu, t_cpu = ours('cpu')
    record = dict(
        figure='entropy_vs_skimage',
        maps=args.entropy_maps, size=size, bins=bins, window=window,
        max_abs_diff_bits=float(np.abs(ours_cpu - ref).max()),
        skimage_s=round(t_ref, 4), ours_cpu_s=round(t_cpu, 4),
        speedup_cpu=round(t_ref / t_cpu, 2),
        threads=torch.get_num_threads())
    if torch.cuda.is_available():
        ours_gpu, t_gpu = ours('cuda')
        record.update(
            ours_cuda_s=round(t_gpu, 5), speedup_cuda=round(t_ref / t_gpu, 1),
            max_abs_diff_bits_cuda=float(np.abs(ours_gpu - ref).max()))
    emit(**record)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if cfg.model.get('type') != 'ZoomInClassifier':
        raise SystemExit(f'{args.config} is not a ZoomInClassifier config')
    args.hr_channels = high_res_channels(cfg)
    if args.memory_worker:
        memory_worker(args, cfg)
        return

    variants = build_variants(cfg, args)
    many = len(variants) > 1
    batches = dict(
        zoom=make_batch(args), plain=make_batch(args, high_res=False))
    times = {v['name']: {kind: [] for kind in KINDS} for v in variants}
    for i in range(args.warmup + args.iters):
        for variant in variants:  # interleaved: same machine state
            for kind in KINDS:
                sync(args.device)
                t = time.perf_counter()
                train_step(variant['models'][kind], variant['optims'][kind],
                           batches[kind])
                sync(args.device)
                if i >= args.warmup:
                    times[variant['name']][kind].append(
                        time.perf_counter() - t)
    for variant in variants:
        spent = times[variant['name']]
        zoom_s = float(np.median(spent['zoom']))
        plain_s = float(np.median(spent['plain']))
        # A shared CPU's speed drifts by 10-20 % within minutes; each zoom
        # step is divided by the plain step run just before it, and the
        # median of those paired ratios is the figure.
        paired = np.array(spent['zoom']) / np.array(spent['plain'])
        emit(
            figure='train_step', config=args.config, device=args.device,
            batch=args.batch, input_size=args.input_size,
            hr_size=list(args.hr_size), hr_channels=args.hr_channels,
            zoom_s=round(zoom_s, 4), plain_s=round(plain_s, 4),
            ratio=round(float(np.median(paired)), 3),
            ratio_quartiles=[round(float(q), 3)
                             for q in np.percentile(paired, (25, 75))],
            target_max=2.5, iters=args.iters, threads=torch.get_num_threads(),
            **variant_fields(variant, many))
    emit_speedups('train_speedup', times, variants, config=args.config,
                  device=args.device, batch=args.batch, iters=args.iters)

    reference = variants[0]
    zoom_s = float(np.median(times[reference['name']]['zoom']))
    zoom = reference['models']['zoom']
    grads = torch.randn(args.batch, 3, args.input_size, args.input_size,
                        device=args.device)
    saliency_entropy(grads, **zoom.entropy_cfg)
    reps = 5
    sync(args.device)
    t = time.perf_counter()
    for _ in range(reps):
        saliency_entropy(grads, **zoom.entropy_cfg)
    sync(args.device)
    entropy_s = (time.perf_counter() - t) / reps
    emit(
        figure='entropy_share', device=args.device, batch=args.batch,
        entropy_s=round(entropy_s, 5), zoom_step_s=round(zoom_s, 4),
        share=round(entropy_s / zoom_s, 4), target_max=0.05,
        **zoom.entropy_cfg, **variant_fields(reference, many))

    bench_entropy(args)

    if args.phases:
        for variant in variants:
            emit(figure='phases', device=args.device, batch=args.batch,
                 steps=args.phases, **variant_fields(variant, many),
                 **time_phases(variant['models'], variant['optims'], batches,
                               args.phases, args.device))

    if args.infer_iters:
        infer = time_inference(variants, batches, args.infer_iters,
                               args.device)
        for variant in variants:
            spent = infer[variant['name']]
            rates = {
                f'{kind}_images_per_s':
                round(args.infer_iters * args.batch / sum(spent[kind]), 2)
                for kind in KINDS
            }
            paired = np.array(spent['zoom']) / np.array(spent['plain'])
            emit(figure='inference', config=args.config, device=args.device,
                 batch=args.batch, iters=args.infer_iters, **rates,
                 zoom_over_plain=round(float(np.median(paired)), 3),
                 **variant_fields(variant, True))
        emit_speedups('infer_speedup', infer, variants, config=args.config,
                      device=args.device, batch=args.batch,
                      iters=args.infer_iters)

    for variant in variants:
        mem = measure_memory(args, variant['precision'],
                             variant['channels_last'])
        emit(
            figure='memory', device=args.device, batch=args.batch,
            plain_mb=round(mem['plain'], 1), zoom_mb=round(mem['zoom'], 1),
            ratio=round(mem['zoom'] / max(mem['plain'], 1e-6), 3),
            target_max=1.6,
            what='peak CUDA allocation' if args.device.startswith('cuda')
            else 'peak RSS growth over 3 train steps, fresh process each',
            **variant_fields(variant, many))


if __name__ == '__main__':
    main()
