"""RA-CNN pictures: one tile per scale, boxes where the next scale looks."""
import numpy as np
import pytest

from radplugins.visualization import STEP_COLORS, render_attention_panel


def test_panel_has_one_tile_per_scale_with_the_next_box_drawn():
    img = np.full((200, 100), 128, np.uint8)
    boxes = np.array([[10., 20., 90., 100.], [30., 40., 70., 80.]])
    tile = 100
    panel = render_attention_panel(
        img, boxes, scale_scores=np.array([[0.9, 0.1], [0.6, 0.4],
                                           [0.2, 0.8]]),
        pred_score=np.array([0.3, 0.7]), class_names=['neg', 'pos'],
        title='x', tile_size=tile)
    caption_h = max(16, tile // 16)
    assert panel.shape == (2 * caption_h + tile + caption_h, 3 * tile, 3)
    body = panel[2 * caption_h + caption_h:]
    # Scale 0's tile shows the 200x100 image at 0.5, centred: box 1's left
    # edge (x = 10) lands at tile column 25 + 5 = 30, in scale 1's colour.
    col = body[:, 30]
    assert (col == STEP_COLORS[0]).all(axis=1).any()
    # Scale 1's tile shows box 1 (80x80 px) at 100/80: box 2's left edge
    # (x = 30) lands at (30 - 10) * 1.25 = 25, in scale 2's colour.
    col = body[:, tile + 25]
    assert (col == STEP_COLORS[1]).all(axis=1).any()
    # The last tile (scale 2) has no box to draw: only gray levels.
    last = body[:, 2 * tile:].astype(int)
    assert (np.abs(last[..., 0] - last[..., 1]) <= 1).all()


def test_scale_count_mismatch_is_named():
    with pytest.raises(ValueError, match='scale_scores has 2 scales'):
        render_attention_panel(
            np.zeros((10, 10), np.uint8), np.zeros((2, 4)) + [0, 0, 5, 5],
            scale_scores=np.ones((2, 2)) / 2)
