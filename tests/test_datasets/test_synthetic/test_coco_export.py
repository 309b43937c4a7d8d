import json
import os.path as osp

import numpy as np
import pytest

from radplugins.datasets.synthetic import (COCO_CLASSES, GROUND_TRUTH_FILE,
                                           SyntheticMuraConfig,
                                           coco_annotation_file,
                                           generate_synthetic_mura,
                                           ground_truth_to_coco)

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('coco'))
    cfg = SyntheticMuraConfig(
        train_studies=6,
        valid_studies=4,
        long_side_range=(96, 160),
        positive_fraction=0.6,
        # Fractures too: they must not become objects.
        lesion_kinds={'implant': 1, 'fracture': 1},
        flag_rate=0.7,
        seed=3)
    generate_synthetic_mura(out, cfg, workers=1)
    with open(osp.join(out, 'MURA-v1.1', GROUND_TRUTH_FILE)) as f:
        return out, json.load(f)


def test_coco_files_load_with_pycocotools_and_match_the_ground_truth(
        generated):
    from pycocotools.coco import COCO
    out, gt = generated
    seen_images = 0
    for split in ('train', 'valid'):
        coco = COCO(osp.join(out, coco_annotation_file(split)))
        names = {c['id']: c['name'] for c in coco.loadCats(coco.getCatIds())}
        assert sorted(names.values()) == sorted(COCO_CLASSES)
        records = {p: r for p, r in gt['images'].items()
                   if r['split'] == split}
        assert sorted(img['file_name'] for img in coco.dataset['images']) \
            == sorted(records)
        seen_images += len(records)
        for img in coco.dataset['images']:
            record = records[img['file_name']]
            assert osp.isfile(osp.join(out, img['file_name']))
            assert (img['width'], img['height']) == (record['width'],
                                                     record['height'])
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
            counts = {n: sum(names[a['category_id']] == n for a in anns)
                      for n in COCO_CLASSES}
            assert counts['flag'] == len(record['flags'])
            assert counts['implant'] == sum(
                a['kind'] == 'implant' for a in record['abnormalities'])
            for ann in anns:
                x, y, w, h = ann['bbox']
                assert w > 0 and h > 0
                assert 0 <= x and x + w <= img['width'] + 1e-6
                assert 0 <= y and y + h <= img['height'] + 1e-6
                # The polygon rasterised by pycocotools fills its box.
                mask = coco.annToMask(ann)
                ys, xs = np.nonzero(mask)
                assert len(xs) > 0
                assert xs.min() >= int(x) - 1 and xs.max() <= x + w + 1
                assert ys.min() >= int(y) - 1 and ys.max() <= y + h + 1
                assert abs(mask.sum() - ann['area']) <= \
                    0.5 * ann['area'] + 2 * (w + h)
    assert seen_images == len(gt['images'])
    # The fixture draws both classes, and fractures that are left out.
    kinds = [a['kind'] for r in gt['images'].values()
             for a in r['abnormalities']]
    assert 'implant' in kinds and 'fracture' in kinds


def test_mmdet_coco_dataset_reads_the_files(generated):
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    out, gt = generated
    cfg = Config.fromfile(
        osp.join(ROOT, 'tests', 'data',
                 'tiny_faster-rcnn_r50_fpn_flag-implant.py'))
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(data_root=out, indices=None, pipeline=[])
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(dataset_cfg)
    valid = {p: r for p, r in gt['images'].items() if r['split'] == 'valid'}
    assert len(dataset) == len(valid)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        rel = osp.relpath(info['img_path'], out)
        record = valid[rel]
        labels = sorted(inst['bbox_label'] for inst in info['instances'])
        expected = sorted([0] * len(record['flags']) + [1] * sum(
            a['kind'] == 'implant' for a in record['abnormalities']))
        assert labels == expected


def test_invalid_ground_truth_is_named():
    gt = dict(images={
        'a.png': dict(width=10, height=10, split='train', flags=[
            dict(bbox=[2, 2, 12, 5], polygon=[[2, 2, 12, 2, 12, 5]],
                 area=15)], abnormalities=[])
    })
    with pytest.raises(ValueError, match=r'gt.json: a.png: flag 0: box'):
        ground_truth_to_coco(gt, 'train', 'gt.json')
    with pytest.raises(ValueError, match="'test'"):
        ground_truth_to_coco(gt, 'test')
