"""Flag/implant detectors end to end through tools/train.py, tools/test.py
and tools/remove_flags.py, as a user runs them."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'faster': osp.join(ROOT, 'tests', 'data',
                       'tiny_faster-rcnn_r50_fpn_flag-implant.py'),
    'mask': osp.join(ROOT, 'tests', 'data',
                     'tiny_mask-rcnn_r50_fpn_flag-implant.py'),
}


def run(args, ok=True):
    env = {
        k: v
        for k, v in os.environ.items()
        if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
    }
    env.update(OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, (
            f'{" ".join(map(str, args))} failed:\n{proc.stdout[-3000:]}\n'
            f'{proc.stderr[-6000:]}')
    return proc


def logged_metrics(work_dir):
    logs = sorted(glob.glob(osp.join(str(work_dir), '*', '*.json')))
    assert logs, f'no json log under {work_dir}'
    with open(logs[-1]) as f:
        return [json.loads(line) for line in f if line.strip()][-1]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from radplugins.datasets.synthetic import (SyntheticMuraConfig,
                                               generate_synthetic_mura)
    root = str(tmp_path_factory.mktemp('flags'))
    generate_synthetic_mura(
        root,
        SyntheticMuraConfig(
            train_studies=4,
            valid_studies=3,
            body_parts=('XR_HAND', 'XR_WRIST'),
            views_probs=(0, 1),
            long_side_range=(96, 128),
            positive_fraction=0.5,
            lesion_kinds={'implant': 1},
            flag_rate=1.0,
            seed=5),
        workers=1)
    return root


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def trained(request, tmp_path_factory, data_root):
    config = CONFIGS[request.param]
    work_dir = tmp_path_factory.mktemp(request.param)
    run(['tools/train.py', config, '--work-dir', work_dir, '--data-root',
         data_root])
    return request.param, config, work_dir


def test_train_then_test_reports_coco_metrics(trained, data_root):
    name, config, work_dir = trained
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    scalars = glob.glob(osp.join(str(work_dir), '*', 'vis_data',
                                 'scalars.json'))
    assert scalars, f'no training scalars under {work_dir}'
    with open(scalars[0]) as f:
        train_log = [json.loads(line) for line in f if line.strip()][-1]
    losses = ['loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox']
    if name == 'mask':
        losses.append('loss_mask')
    for key in losses:
        assert key in train_log, sorted(train_log)
    test_dir = work_dir / 'test'
    run(['tools/test.py', config, checkpoint, '--work-dir', test_dir,
         '--data-root', data_root])
    metrics = logged_metrics(test_dir)
    keys = ['coco/bbox_mAP', 'coco/bbox_mAP_50']
    if name == 'mask':
        keys += ['coco/segm_mAP', 'coco/segm_mAP_50']
    for key in keys:
        assert key in metrics, sorted(metrics)
        assert -1 <= metrics[key] <= 1
    # Per-class results (classwise=True) name both classes.
    assert any('flag' in k for k in metrics) and \
        any('implant' in k for k in metrics), sorted(metrics)


FAST_CONFIG = osp.join(
    ROOT, 'configs', 'detection',
    'faster-rcnn_r18_fpn_1xb4-384px_12e_synthetic-flag-implant.py')


def with_shipped_tta(config, out):
    """Write ``config`` with the fast configs' TTA, at the tiny scales."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    fast = Config.fromfile(FAST_CONFIG)
    tta_pipeline = fast.tta_pipeline
    (resizes, ) = [t for t in tta_pipeline[1].transforms
                   if t[0].type == 'Resize']
    resizes[:] = [dict(type='Resize', scale=scale, keep_ratio=True)
                  for scale in [(112, 112), (128, 128)]]
    cfg.merge_from_dict(dict(tta_model=fast.tta_model,
                             tta_pipeline=tta_pipeline))
    cfg.dump(str(out))
    return out


def check_tta_run(tta_config, checkpoint, data_root, test_dir, wrapper):
    """tools/test.py --tta: COCO metrics, and the run wrapped in ``wrapper``."""
    run(['tools/test.py', tta_config, checkpoint, '--tta', '--work-dir',
         test_dir, '--data-root', data_root])
    metrics = logged_metrics(test_dir)
    assert -1 <= metrics['coco/bbox_mAP'] <= 1, sorted(metrics)
    (ran, ) = glob.glob(osp.join(str(test_dir), '*', 'vis_data',
                                 'config.py'))
    with open(ran) as f:
        assert f"type='{wrapper}'" in f.read()


def test_test_with_tta_reports_coco_metrics(trained, data_root, tmp_path):
    name, config, work_dir = trained
    if name != 'faster':
        pytest.skip('box voting merges boxes, not masks')
    tta_config = with_shipped_tta(config, tmp_path / 'tiny_faster_tta.py')
    check_tta_run(tta_config, work_dir / 'epoch_1.pth', data_root,
                  tmp_path / 'test', 'BoxVotingDetTTAModel')
    # Without a tta_model the flag is refused, naming the config.
    proc = run(['tools/test.py', config, work_dir / 'epoch_1.pth', '--tta',
                '--data-root', data_root], ok=False)
    assert proc.returncode != 0
    assert f'--tta: {config} has no tta_model or tta_pipeline' in \
        proc.stderr


def remove_flags(*args):
    """tools/remove_flags.py in this process (no second mmdet import)."""
    return load_tool('remove_flags.py').main([str(a) for a in args])


def test_remove_flags_refuses_an_output_inside_its_input(data_root):
    config = CONFIGS['faster']
    for output in (data_root, osp.join(data_root, 'clean')):
        with pytest.raises(SystemExit,
                           match='refusing to write into the input'):
            remove_flags(config, 'missing.pth', '--input', data_root,
                         '--output', output)
    assert not osp.exists(osp.join(data_root, 'clean'))


def test_remove_flags_dry_run_and_real_run(trained, data_root, tmp_path,
                                           capsys):
    import cv2
    import numpy as np

    from radplugins.datasets.transforms.flag_removal import regions_to_mask
    name, config, work_dir = trained
    if name != 'faster':
        # The untrained mask head would give hundreds of tiny masks: slow.
        pytest.skip('the box detector is enough for the tool')
    # Untrained detectors score low: a low threshold still removes some.
    common = [config, work_dir / 'epoch_1.pth', '--input', data_root,
              '--score-thr', '0.01', '--margin', '1']
    from mmengine.registry import DefaultScope
    def current_scope():
        scope = DefaultScope.get_current_instance()
        return None if scope is None else scope.scope_name

    scope_before = current_scope()
    dry = tmp_path / 'dry'
    remove_flags(*common, '--output', dry, '--dry-run')
    # The tool leaves the caller's default scope as it was.
    assert current_scope() == scope_before
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['dry_run'] is True
    files = [osp.relpath(p, dry) for p in glob.glob(
        osp.join(str(dry), '**', '*'), recursive=True) if osp.isfile(p)]
    assert files == ['removed_flags.json']

    out = tmp_path / 'clean'
    remove_flags(*common, '--output', out)
    with open(dry / 'removed_flags.json') as f:
        dry_report = json.load(f)['images']
    with open(out / 'removed_flags.json') as f:
        report = json.load(f)['images']
    assert dry_report == report
    listed = []
    for split in ('train', 'valid'):
        with open(osp.join(data_root, 'MURA-v1.1',
                           f'{split}_image_paths.csv')) as f:
            listed += [line.strip() for line in f if line.strip()]
    assert sorted(report) == sorted(listed)
    assert (out / 'MURA-v1.1' / 'valid_labeled_studies.csv').is_file()
    changed = 0
    for rel, record in report.items():
        for region in record['flags']:
            assert region['label'] == 'flag' and region['score'] >= 0.01
            assert 'polygon' not in region  # boxes only
        src = cv2.imread(osp.join(data_root, rel), cv2.IMREAD_UNCHANGED)
        dst = cv2.imread(str(out / rel), cv2.IMREAD_UNCHANGED)
        assert dst is not None and dst.shape == src.shape
        mask = regions_to_mask(record['flags'], src.shape[:2], 1)
        np.testing.assert_array_equal(dst[~mask], src[~mask])
        changed += int((dst != src).any())
    assert changed > 0


def test_remove_flags_refuses_a_box_detectors_checkpoint_for_masks(
        data_root, tmp_path):
    """A Faster R-CNN checkpoint on a Mask R-CNN config would leave a random
    mask head whose masks get filled: the checkpoint is refused, naming the
    file and the mask head's keys, before anything is written."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        faster = MODELS.build(Config.fromfile(CONFIGS['faster']).model)
    path = tmp_path / 'faster.pth'
    torch.save(dict(state_dict=faster.state_dict(),
                    meta=dict(dataset_meta=dict(
                        classes=('flag', 'implant')))), path)
    out = tmp_path / 'clean'
    with pytest.raises(SystemExit) as exc:
        remove_flags(CONFIGS['mask'], path, '--input', data_root,
                     '--output', out)
    message = str(exc.value)
    assert message.startswith(f'error: {path} does not fit the model '
                              '(MaskRCNN): ')
    assert 'missing key(s) (the model has them, the file does not): ' \
        'roi_head.mask_head.' in message
    assert not out.exists()


def test_remove_flags_fills_predicted_masks_not_their_boxes():
    """A mask detector's flags become polygons that rasterise back to the
    predicted masks, so only the marker's own pixels are filled."""
    import cv2
    import numpy as np
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from radplugins.datasets.transforms.flag_removal import (fill_regions,
                                                             regions_to_mask)
    module = load_tool('remove_flags.py')

    height, width = 60, 80
    disc = np.zeros((height, width), np.uint8)
    cv2.circle(disc, (30, 25), 9, 1, thickness=-1)
    ring = np.zeros((height, width), np.uint8)
    cv2.circle(ring, (62, 40), 8, 1, thickness=-1)
    cv2.circle(ring, (62, 40), 3, 0, thickness=-1)  # a ring-shaped marker
    masks = np.stack([disc, ring, disc]).astype(bool)
    inst = InstanceData()
    inst.bboxes = torch.tensor([[21.0, 16.0, 40.0, 35.0],
                                [54.0, 32.0, 71.0, 49.0],
                                [21.0, 16.0, 40.0, 35.0]])
    inst.labels = torch.tensor([0, 0, 1])
    inst.scores = torch.tensor([0.9, 0.8, 0.95])
    inst.masks = torch.from_numpy(masks)
    pred = DetDataSample()
    pred.pred_instances = inst

    regions = module.detections_to_regions(pred, ['flag', 'implant'],
                                           ['flag'], score_thr=0.5)
    assert [r['label'] for r in regions] == ['flag', 'flag']
    assert [r['score'] for r in regions] == [0.9, 0.8]
    assert all(r['polygon'] for r in regions)
    # The disc's outline rasterises back to the disc, pixel for pixel.
    np.testing.assert_array_equal(
        regions_to_mask(regions[:1], (height, width)), disc.astype(bool))
    # Outer contours only: the ring's hole is filled too (a marker's
    # inside is marker), never anything outside the ring.
    ring_region = regions_to_mask(regions[1:], (height, width))
    outer = np.zeros_like(ring)
    cv2.circle(outer, (62, 40), 8, 1, thickness=-1)
    np.testing.assert_array_equal(ring_region, outer.astype(bool))

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (height, width), dtype=np.uint8)
    region_mask = regions_to_mask(regions, (height, width))
    cleaned = fill_regions(img, region_mask, 'ring_mean', 3)
    np.testing.assert_array_equal(cleaned[~region_mask], img[~region_mask])
    # The box corners outside the disc are not the marker: untouched.
    box = np.zeros((height, width), bool)
    box[16:35, 21:40] = True
    corners = box & ~disc.astype(bool)
    assert corners.any()
    np.testing.assert_array_equal(cleaned[corners], img[corners])


REFINER_CONFIG = osp.join(
    ROOT, 'configs', 'detection',
    'box-edge-refiner_1xb8-64px_30e_synthetic-flag-implant.py')
REFINED_CONFIG = osp.join(
    ROOT, 'configs', 'detection',
    'cascade-rcnn_r18_fpn_1xb4-384px_24e_synthetic-flag-implant_'
    'box-edge-refined.py')


def test_box_edge_refiner_trains_and_refines_a_detectors_test(
        trained, data_root, tmp_path):
    name, config, work_dir = trained
    if name != 'faster':
        pytest.skip('the refiner refines boxes, not masks')
    refiner_dir = tmp_path / 'refiner'
    run(['tools/train.py', REFINER_CONFIG, '--work-dir', refiner_dir,
         '--data-root', data_root, '--cfg-options', 'train_cfg.max_epochs=1',
         'default_hooks.checkpoint.interval=1'])
    scalars = glob.glob(osp.join(str(refiner_dir), '*', 'vis_data',
                                 'scalars.json'))
    with open(scalars[0]) as f:
        train_log = [json.loads(line) for line in f if line.strip()][-1]
    assert 'loss_edge' in train_log and 'edge_error' in train_log, \
        sorted(train_log)
    refiner_checkpoint = refiner_dir / 'epoch_1.pth'
    assert refiner_checkpoint.is_file()

    # The shipped refined config's tta_model and tta_pipeline on the tiny
    # detector, at the tiny images' scale.
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    refined = Config.fromfile(REFINED_CONFIG)
    tta_pipeline = refined.tta_pipeline
    (resizes, ) = [t for t in tta_pipeline[-1].transforms
                   if t[0].type == 'Resize']
    resizes[:] = [dict(type='Resize', scale=(128, 128), keep_ratio=True)]
    tta_model = refined.tta_model
    tta_model.refiner_checkpoint = str(refiner_checkpoint)
    cfg.merge_from_dict(dict(tta_model=tta_model, tta_pipeline=tta_pipeline))
    tta_config = tmp_path / 'tiny_faster_refined.py'
    cfg.dump(str(tta_config))
    check_tta_run(tta_config, work_dir / 'epoch_1.pth', data_root,
                  tmp_path / 'test', 'EdgeRefinedDetTTAModel')

    # A refiner checkpoint that is not there is named.
    proc = run(['tools/test.py', tta_config, work_dir / 'epoch_1.pth',
                '--tta', '--data-root', data_root, '--cfg-options',
                'tta_model.refiner_checkpoint=/nonexistent/refiner.pth'],
               ok=False)
    assert proc.returncode != 0
    assert "'/nonexistent/refiner.pth' does not exist" in proc.stderr
