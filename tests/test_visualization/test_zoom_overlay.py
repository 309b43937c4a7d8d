"""Zoom pictures: geometry back to the original, panel layout, drawing."""
import cv2
import numpy as np
import pytest
import torch

from radplugins.datasets.transforms import LetterboxResize
from radplugins.visualization import (STEP_COLORS, map_to_frame,
                                      render_overlay, render_zoom_panel,
                                      saliency_magnitude, to_display_bgr,
                                      unletterbox_map, zoom_step_frames)


def test_unletterbox_hand_case():
    # 128 wide x 64 high into a 64 canvas: scale 0.5, image on rows 16..47.
    m = np.zeros((64, 64), np.float32)
    m[20, 10] = 1.0
    out = unletterbox_map(m, (0.5, 0.5), (0, 16), (64, 128))
    assert out.shape == (64, 128)
    # Input pixel (x=10, y=20) covers original x in [20, 22), y in [8, 10).
    # Output centres 20.5, 21.5 sit at input 9.75, 10.25 (bilinear weight
    # 0.75 on column 10); 19.5 and 22.5 at 9.25, 10.75 (weight 0.25).
    np.testing.assert_allclose(out[8:10, 20:22], 0.5625, atol=1e-6)
    np.testing.assert_allclose(out[8, 19], 0.75 * 0.25, atol=1e-6)
    np.testing.assert_allclose(out[7, 20], 0.25 * 0.75, atol=1e-6)
    assert out[:, :18].max() == 0 and out[12:].max() == 0


def test_unletterbox_equals_crop_and_resize_and_ignores_padding():
    rng = np.random.default_rng(0)
    m = np.zeros((64, 64), np.float32)
    m[16:48] = rng.random((32, 64), dtype=np.float32) + 1.0
    out = unletterbox_map(m, (0.5, 0.5), (0, 16), (64, 128))
    ref = cv2.resize(m[16:48], (128, 64), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    # The zero padding must not darken the image's first and last rows.
    assert out.min() >= 1.0


@pytest.mark.parametrize('ori_hw', [(90, 150), (150, 90), (77, 77)])
def test_letterboxed_point_returns_to_its_original_position(ori_hw):
    h, w = ori_hw
    x0, y0 = 0.7 * w, 0.3 * h
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-((xx + 0.5 - x0)**2 + (yy + 0.5 - y0)**2) / (2 * 6.0**2))
    res = LetterboxResize(scale=64, interpolation='bilinear').transform(
        dict(img=blob.astype(np.float32)))
    back = unletterbox_map(res['img'], res['scale_factor'],
                           res['letterbox_offset'], (h, w))
    y, x = np.unravel_index(back.argmax(), back.shape)
    assert abs(x + 0.5 - x0) <= 1.5 and abs(y + 0.5 - y0) <= 1.5


def test_zoom_step_frames_map_box_to_the_whole_input():
    boxes = np.array([[10., 20., 50., 60.], [15., 25., 35., 45.]])
    frames = zoom_step_frames((0.5, 0.5), (0, 16), boxes, (64, 64))
    assert len(frames) == 2
    np.testing.assert_allclose(frames[0][0], [0.5, 0.5])
    scale, offset = frames[1]
    np.testing.assert_allclose(boxes[0, :2] * scale + offset, [0, 0])
    np.testing.assert_allclose(boxes[0, 2:] * scale + offset, [64, 64])
    # A hot pixel at the crop input's centre returns to the box centre.
    m = np.zeros((64, 64), np.float32)
    m[31:33, 31:33] = 1
    out = map_to_frame(m, scale, offset, (80, 80))
    y, x = np.unravel_index(out.argmax(), out.shape)
    assert abs(x + 0.5 - 30) <= 1 and abs(y + 0.5 - 40) <= 1


def test_map_to_frame_channels_and_bad_shape():
    m = np.ones((3, 8, 8), np.float32)
    assert map_to_frame(m, (1, 1), (0, 0), (4, 5)).shape == (3, 4, 5)
    with pytest.raises(ValueError, match='shape'):
        map_to_frame(np.ones((1, 1, 8, 8)), (1, 1), (0, 0), (4, 4))


def test_saliency_magnitude_is_abs_max_over_channels():
    sal = torch.tensor([[[1., -3.]], [[-2., 2.]], [[0., 1.]]])
    np.testing.assert_array_equal(saliency_magnitude(sal), [[2., 3.]])


def test_display_of_16bit_float_image():
    img = np.linspace(0, 255, 40 * 30, dtype=np.float32).reshape(40, 30)
    out = to_display_bgr(img)
    assert out.shape == (40, 30, 3) and out.dtype == np.uint8
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


def _zoom_outputs(num_steps, in_size=64):
    rng = np.random.default_rng(1)
    boxes = np.array([[40., 20., 120., 100.], [60., 40., 100., 80.],
                      [70., 50., 90., 70.]])[:num_steps]
    return dict(
        boxes=boxes,
        saliency_maps=rng.normal(size=(num_steps, 3, in_size, in_size)),
        entropy_maps=rng.random((num_steps, in_size, in_size)),
        scale_factor=(0.4, 0.4),
        letterbox_offset=(0, 8),
        peaks=(boxes[:, :2] + boxes[:, 2:]) / 2,
        pred_score=np.array([0.3, 0.7]),
        scale_scores=np.tile([[0.4, 0.6]], (num_steps + 1, 1)))


@pytest.mark.parametrize('num_steps', [1, 2])
def test_panel_size_with_maps(num_steps):
    img = np.random.default_rng(0).integers(0, 255, (120, 160), np.uint8)
    panel = render_zoom_panel(
        img,
        class_names=('negative', 'positive'),
        title='x',
        tile_size=128,
        **_zoom_outputs(num_steps))
    caption = 16  # max(16, 128 // 16)
    assert panel.shape == (2 * caption + num_steps * (128 + caption), 4 * 128,
                           3)
    assert panel.dtype == np.uint8


def test_panel_without_maps_or_boxes():
    img = np.zeros((50, 80, 3), np.uint8)
    out = _zoom_outputs(1)
    panel = render_zoom_panel(
        img, boxes=out['boxes'], pred_score=out['pred_score'],
        tile_size=96)
    assert panel.shape == (2 * 16 + 96 + 16, 2 * 96, 3)  # image + crop
    plain = render_zoom_panel(img, pred_score=[0.9, 0.1], tile_size=96)
    assert plain.shape == (2 * 16 + 96 + 16, 96, 3)


def test_panel_rejects_maps_without_geometry_and_step_mismatch():
    out = _zoom_outputs(2)
    img = np.zeros((120, 160), np.uint8)
    with pytest.raises(ValueError, match='scale_factor'):
        render_zoom_panel(img, out['boxes'], out['saliency_maps'])
    with pytest.raises(ValueError, match='entropy_maps has 1 steps'):
        render_zoom_panel(
            img,
            out['boxes'],
            entropy_maps=out['entropy_maps'][:1],
            scale_factor=(0.4, 0.4),
            letterbox_offset=(0, 8))


def test_overlay_draws_each_step_box_where_it_is():
    img = np.full((400, 200), 100, np.uint8)
    img[0, 0] = 0  # some contrast for the display stretch
    boxes = np.array([[20., 100., 180., 260.], [60., 140., 120., 200.]])
    out = render_overlay(img, boxes, max_side=200)
    assert out.shape == (200, 100, 3)  # shrunk to the long side 200
    for k, box in enumerate(boxes):
        ys, xs = np.nonzero(np.all(out == STEP_COLORS[k], axis=2))
        assert len(xs) > 0, f'no pixel of step {k} colour'
        # Box in display pixels is box / 2; lines are 1-2 px wide.
        assert abs(xs.min() - box[0] / 2) <= 2
        assert abs(xs.max() - box[2] / 2) <= 2
        assert abs(ys.min() - box[1] / 2) <= 2
        assert abs(ys.max() - box[3] / 2) <= 12  # the S<k> tag hangs below


def test_overlay_keeps_small_images_at_their_size():
    out = render_overlay(np.zeros((60, 40), np.uint8), label='negative')
    assert out.shape == (60, 40, 3)


def test_panel_draws_flag_boxes_where_they_are():
    from radplugins.visualization.zoom_overlay import FLAG_COLOR
    img = np.full((400, 200), 100, np.uint8)
    img[0, 0] = 0
    flag = np.array([[20., 40., 100., 120.]])
    panel = render_zoom_panel(img, flag_boxes=flag, tile_size=200)
    without = render_zoom_panel(img, tile_size=200)
    assert panel.shape == without.shape
    # Anti-aliased dots: every pixel the flag changed is cyan-ish (blue
    # and green up, red down) and they outline the box.
    changed = np.any(panel != without, axis=2)
    ys, xs = np.nonzero(changed)
    assert len(xs) > 0
    delta = panel[changed].astype(int) - without[changed].astype(int)
    assert np.all(delta[:, 2] <= 0) and np.all(delta[:, :2].max(1) >= 0)
    assert FLAG_COLOR == (255, 255, 0)
    # The image tile shows the radiograph at half size, centred: the
    # 80 x 80 px flag is 40 x 40 there.
    assert abs((xs.max() - xs.min()) - 40) <= 2
    assert abs((ys.max() - ys.min()) - 40) <= 2
