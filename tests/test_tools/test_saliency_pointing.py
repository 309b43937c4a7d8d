import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from tests.helpers import fracatlas_row, load_tool, write_fracatlas_fixture

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'fracatlas',
                  'baseline_resnetv1d18_1xb16_10e_fracatlas.py')
tool = load_tool('analysis_tools/saliency_pointing.py')


def test_boxes_at_input_follow_the_letterbox():
    # A 200x100 (w x h) image letterboxed into 100x100: scale 0.5, the
    # image 50 px high, placed 25 px down.
    boxes = tool.boxes_at_input([[20, 40, 60, 80]], (0.5, 0.5), (0, 25))
    np.testing.assert_allclose(boxes, [[10, 45, 30, 65]])


def test_box_mask_counts_pixel_centres_and_margin():
    mask = tool.box_mask(np.array([[2, 1, 5, 3]]), 6, 8)
    assert mask.sum() == 3 * 2 and mask[1:3, 2:5].all()
    wide = tool.box_mask(np.array([[2, 1, 5, 3]]), 6, 8, margin=1)
    assert wide.sum() == 5 * 4


def test_score_map_hand_computed():
    image = np.zeros((10, 10), bool)
    image[:, 2:8] = True  # the letterbox border is columns 0-1 and 8-9
    lesion = np.zeros((10, 10), bool)
    lesion[0:2, 2:5] = True  # 6 of the image's 60 pixels
    flat = np.ones((10, 10))
    flat[:, 0] = 100  # on the border: must not count
    scores = tool.score_map(flat, lesion, lesion, image)
    assert scores['mass_in_box'] == pytest.approx(6 / 60)
    assert scores['enrichment'] == pytest.approx(1.0)
    peaked = np.ones((10, 10))
    peaked[1, 3] = 55  # mass inside: 5 + 55 of 59 + 55
    scores = tool.score_map(peaked, lesion, lesion, image)
    assert scores['pointing'] is True
    assert scores['mass_in_box'] == pytest.approx(60 / 114)
    assert scores['enrichment'] == pytest.approx(60 / 114 * 10)
    peaked[1, 3], peaked[5, 5] = 1, 55
    assert tool.score_map(peaked, lesion, lesion, image)['pointing'] is False


def test_tool_scores_every_boxed_image_of_the_split(tmp_path, capsys):
    data_root = str(tmp_path / 'FracAtlas')
    rows = [
        fracatlas_row(f'IMG{i:07d}.jpg', ('hand', ),
                      [[10, 12, 20, 16]] if i % 2 else [])
        for i in range(8)
    ]
    write_fracatlas_fixture(data_root, rows, size=(96, 80))
    split = tmp_path / 'split.csv'
    split.write_text('image_id,split\n' + ''.join(
        f'{r["image_id"]},{"valid" if i < 6 else "train"}\n'
        for i, r in enumerate(rows)))
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(CONFIG)
    ckpt = str(tmp_path / 'model.pth')
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(
                        classes=('normal', 'fractured')))), ckpt)
    tool.main([
        CONFIG, ckpt, '--data-root', data_root, '--split', 'valid',
        '--batch-size', '2', '--cfg-options',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'test_dataloader.dataset.split_file={split}'
    ])
    lines = [json.loads(line) for line in
             capsys.readouterr().out.splitlines() if line.startswith('{')]
    assert [line['map'] for line in lines] == list(tool.METHODS) + ['random']
    # valid holds images 0-5; 1, 3 and 5 are fractured.
    assert {line['images'] for line in lines} == {3}
    assert {line['target'] for line in lines} == {1}
    # An 80x96 (w x h) image in 224 px: scale 224/96, 186.67 px wide; the
    # 20x16 box is 46.67x37.33 input px. Its share of the image by pixel
    # centres, counted independently of the tool's masks:
    scale = 224 / 96
    off_x = (224 - round(80 * scale)) // 2
    xs, ys = np.arange(224) + 0.5, np.arange(224) + 0.5
    in_x = (xs >= 10 * scale + off_x) & (xs <= 30 * scale + off_x)
    in_y = (ys >= 12 * scale) & (ys <= 28 * scale)
    image_px = round(80 * scale) * 224
    share = in_x.sum() * in_y.sum() / image_px
    random = lines[-1]
    assert random['mass_in_box'] == pytest.approx(share, abs=1e-4)
    # Every image has the same box share, so the mean enrichment is the
    # mean mass over that share.
    for line in lines[:-1]:
        if line['empty_maps'] == 3:  # an untrained model's Grad-CAM can be
            assert line['mass_in_box'] is None  # zero: no mass to share
            continue
        assert 0 < line['mass_in_box'] < 1
        assert line['enrichment'] == pytest.approx(
            line['mass_in_box'] / share, abs=5e-3)


def test_tool_refuses_a_split_without_boxes(tmp_path):
    data_root = str(tmp_path / 'FracAtlas')
    rows = [fracatlas_row(f'IMG{i:07d}.jpg', ('hand', ), [])
            for i in range(4)]
    write_fracatlas_fixture(data_root, rows)
    split = tmp_path / 'split.csv'
    split.write_text('image_id,split\n' + ''.join(
        f'{r["image_id"]},valid\n' for r in rows))
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(CONFIG)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), ckpt)
    with pytest.raises(SystemExit, match='no image with gt_abnormal_boxes'):
        tool.main([
            CONFIG, ckpt, '--data-root', data_root, '--cfg-options',
            'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False',
            f'test_dataloader.dataset.split_file={split}'
        ])
