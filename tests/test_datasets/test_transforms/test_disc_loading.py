"""LoadDiscVolume: padding, and bad files named with their CSV row."""
import re

import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

LESIONS = ('upper_endplate', 'lower_endplate', 'upper_marrow',
           'lower_marrow')


def load(path, **kwargs):
    t = TRANSFORMS.build(dict(type='LoadDiscVolume', **kwargs))
    return t(dict(img_path=str(path)))


def load_row(path, csv_row='discs.csv:7', **kwargs):
    t = TRANSFORMS.build(dict(type='LoadDiscVolume', **kwargs))
    return t(dict(img_path=str(path), csv_row=csv_row))


def test_pads_a_hand_made_volume_centred(tmp_path):
    volume = np.arange(3 * 2 * 4, dtype=np.float64).reshape(3, 2, 4)
    np.save(tmp_path / 'v.npy', volume)
    out = load(tmp_path / 'v.npy', num_slices=6)
    # 3 slices into 6: one zero slice before, two after.
    assert out['pad_slices'] == 1
    assert out['img'].dtype == np.float32 and out['img'].shape == (2, 4, 6)
    for s in range(6):
        expected = volume[s - 1] if 1 <= s <= 3 else np.zeros((2, 4))
        np.testing.assert_array_equal(out['img'][..., s], expected)
    # The same volume in an .npz.
    np.savez(tmp_path / 'v.npz', volume=volume)
    np.testing.assert_array_equal(
        load(tmp_path / 'v.npz', num_slices=6)['img'], out['img'])


@pytest.mark.parametrize('value', [np.nan, np.inf, -np.inf])
def test_non_finite_volume_names_file_row_and_place(tmp_path, value):
    volume = np.ones((3, 2, 4), np.float32)
    volume[2, 1, 0] = value
    np.save(tmp_path / 'v.npy', volume)
    expected = (f'{tmp_path / "v.npy"}: disc volume has 1 non-finite values '
                '(NaN or inf), the first at index (2, 1, 0)')
    with pytest.raises(ValueError, match=re.escape(expected) + '$'):
        load(tmp_path / 'v.npy')
    with pytest.raises(ValueError,
                       match=re.escape(expected + ' (discs.csv:7)') + '$'):
        load_row(tmp_path / 'v.npy')
    # float64 values beyond float32 become inf when loaded: also an error.
    np.save(tmp_path / 'big.npy', np.full((1, 2, 2), 1e300))
    with pytest.raises(ValueError, match='4 non-finite values'):
        load(tmp_path / 'big.npy')


def write_damaged(tmp_path, damage):
    path = tmp_path / ('v.npz' if damage == 'truncated_npz' else 'v.npy')
    volume = np.ones((3, 2, 4), np.float32)
    if damage == 'truncated':
        np.save(path, volume)
        path.write_bytes(path.read_bytes()[:-10])  # data cut short
    elif damage == 'truncated_header':
        np.save(path, volume)
        path.write_bytes(path.read_bytes()[:20])
    elif damage == 'truncated_npz':
        np.savez(path, volume=volume)
        path.write_bytes(path.read_bytes()[:60])
    elif damage == 'pickled':
        np.save(path, np.array([volume, None], dtype=object),
                allow_pickle=True)
    elif damage == 'pickle_file':
        import pickle
        path.write_bytes(pickle.dumps(volume))
    elif damage == 'empty':
        path.write_bytes(b'')
    elif damage == 'complex':
        np.save(path, volume.astype(np.complex64))
    return path


@pytest.mark.parametrize('damage, reason', [
    ('truncated', r'\(ValueError: Failed to read all data for array'),
    ('truncated_header', r'\(ValueError: EOF: reading array header'),
    ('truncated_npz', r'\(BadZipFile: '),
    ('pickled', r'\(ValueError: Object arrays cannot be loaded when '
     r'allow_pickle=False\)'),
    ('pickle_file', r': not a \.npy array or \.npz archive \(pickles are '
     r'never loaded\)'),
    ('empty', r': not a \.npy array or \.npz archive'),
    ('complex', r' of dtype complex64; expected numbers'),
])
def test_unreadable_volume_names_file_and_row(tmp_path, damage, reason):
    path = write_damaged(tmp_path, damage)
    with pytest.raises(ValueError) as info:
        load_row(path)
    message = str(info.value)
    assert message.startswith(f'{path}: '), message
    assert message.endswith(' (discs.csv:7)'), message
    assert re.search(reason, message), message
    assert 'allow_pickle=`' not in message  # no advice to unpickle


def test_missing_volume_and_bad_masks(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=re.escape(f'{tmp_path / "no.npy"}: disc volume '
                                       'not found (discs.csv:7)')):
        load_row(tmp_path / 'no.npy')
    np.save(tmp_path / 'v.npy', np.ones((2, 3, 4), np.float32))
    masks = {t: np.zeros((2, 3, 4), bool) for t in LESIONS}
    masks['lower_marrow'][1, 2, 3] = True
    np.savez(tmp_path / 'm.npz', **masks)
    t = TRANSFORMS.build(dict(type='LoadDiscVolume', num_slices=4,
                              with_masks=True))
    out = t(dict(img_path=str(tmp_path / 'v.npy'),
                 mask_path=str(tmp_path / 'm.npz')))
    assert out['gt_masks'].shape == (4, 4, 3, 4)
    assert np.argwhere(out['gt_masks']).tolist() == [[3, 2, 2, 3]]
    del masks['upper_marrow']
    np.savez(tmp_path / 'm.npz', **masks)
    with pytest.raises(ValueError, match=re.escape(
            f"{tmp_path / 'm.npz'}: lesion masks without ['upper_marrow'] "
            '(discs.csv:7)')):
        t(dict(img_path=str(tmp_path / 'v.npy'),
               mask_path=str(tmp_path / 'm.npz'), csv_row='discs.csv:7'))
    (tmp_path / 'm.npz').write_bytes(b'\x80\x04junk')
    with pytest.raises(ValueError, match=re.escape(
            f"{tmp_path / 'm.npz'}: cannot read the lesion masks: not an "
            '.npz archive')):
        t(dict(img_path=str(tmp_path / 'v.npy'),
               mask_path=str(tmp_path / 'm.npz')))


def test_npz_without_a_volume_array_names_file_and_row(tmp_path):
    np.savez(tmp_path / 'two.npz', a=np.ones((1, 2, 2)), b=np.ones((1, 2, 2)))
    with pytest.raises(ValueError) as info:
        load_row(tmp_path / 'two.npz')
    assert type(info.value) is ValueError
    assert str(info.value) == (f"{tmp_path / 'two.npz'}: .npz holds ['a', "
                               "'b']; expected a 'volume' array "
                               '(discs.csv:7)')
