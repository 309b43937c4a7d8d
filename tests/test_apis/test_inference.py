"""Reading PNG/DICOM files and runner-free inference."""
import os.path as osp

import cv2
import numpy as np
import pytest
from pydicom.dataset import Dataset

from radplugins.apis import (apply_window, build_inference_pipeline,
                             inference_model, init_model, list_image_files,
                             load_image_any, mirrored_output_names,
                             positive_class_index, prediction_to_dict,
                             read_dicom)
from tests.helpers import write_dicom

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data',
                  'tiny_zoom_resnet18_synthetic-mura.py')

# Stored values, and after RescaleSlope 2 / RescaleIntercept -100.
STORED = np.array([[0, 50, 100, 150, 200]] * 2, np.uint16)
MODALITY = [-100., 0., 100., 200., 300.]


# Window center 100.5, width 201: values <= 0 are black, > 200 white, and
# 100 is mid-grey: ((100 - 100) / 200 + 0.5) * 255 = 127.5.
WINDOWED = [0., 0., 127.5, 255., 255.]


def test_dicom_rescale_and_window(tmp_path):
    path = write_dicom(
        tmp_path / 'a.dcm',
        STORED,
        RescaleSlope=2,
        RescaleIntercept=-100,
        WindowCenter=100.5,
        WindowWidth=201)
    img = read_dicom(path)
    assert img.dtype == np.float32 and img.shape == (2, 5)
    np.testing.assert_allclose(img[0], WINDOWED, atol=1e-4)


def test_dicom_monochrome1_is_inverted_after_the_window(tmp_path):
    path = write_dicom(
        tmp_path / 'a.dcm',
        STORED,
        'MONOCHROME1',
        RescaleSlope=2,
        RescaleIntercept=-100,
        WindowCenter=100.5,
        WindowWidth=201)
    np.testing.assert_allclose(
        read_dicom(path)[0], [255., 255., 127.5, 0., 0.], atol=1e-4)


def test_dicom_without_window_is_min_max_of_modality_values(tmp_path):
    path = write_dicom(
        tmp_path / 'a.dcm', STORED, RescaleSlope=2, RescaleIntercept=-100)
    # -100..300 -> 0..255 in steps of 100 * 255 / 400 = 63.75.
    np.testing.assert_allclose(
        read_dicom(path)[0], [0., 63.75, 127.5, 191.25, 255.], atol=1e-4)


def test_dicom_window_uses_rescaled_values(tmp_path):
    # Without the rescale the window would see 0..200, i.e. 63.75 at 50.
    path = write_dicom(
        tmp_path / 'a.dcm', STORED, WindowCenter=100.5, WindowWidth=201)
    np.testing.assert_allclose(
        read_dicom(path)[0], [0., 63.75, 127.5, 191.25, 255.], atol=1e-4)


def test_multivalued_window_takes_the_first(tmp_path):
    path = write_dicom(
        tmp_path / 'a.dcm',
        STORED,
        RescaleSlope=2,
        RescaleIntercept=-100,
        WindowCenter=[100.5, 0],
        WindowWidth=[201, 10])
    np.testing.assert_allclose(read_dicom(path)[0], WINDOWED, atol=1e-4)


def test_apply_window_functions_by_hand():
    x = np.array([0., 50., 100., 150., 200.])
    np.testing.assert_allclose(
        apply_window(x, 100, 100, 'LINEAR_EXACT'),
        [0., 0., 127.5, 255., 255.])
    np.testing.assert_allclose(
        apply_window(np.array([100.]), 100, 50, 'SIGMOID'), [127.5])
    np.testing.assert_allclose(
        apply_window(np.array([125.]), 100, 50, 'SIGMOID'),
        [255 / (1 + np.exp(-2.0))])
    with pytest.raises(ValueError, match="'GAMMA'"):
        apply_window(x, 100, 100, 'GAMMA')
    with pytest.raises(ValueError, match='width must be >= 1, got 0.5'):
        apply_window(x, 100, 0.5)
    with pytest.raises(ValueError, match='SIGMOID window width must be > 0, '
                       'got 0'):
        apply_window(x, 100, 0, 'sigmoid')
    # LINEAR with width 1 is a step at center - 0.5 (inclusive below).
    np.testing.assert_array_equal(
        apply_window(np.array([99.4, 99.5, 99.6]), 100, 1), [0., 0., 255.])
    # Center 100.5, width 201: 0 -> minimum, 100 -> mid, 200 -> maximum,
    # in any output range.
    np.testing.assert_allclose(
        apply_window(np.array([0., 100., 200.]), 100.5, 201,
                     out_range=(-1., 1.)), [-1., 0., 1.])


def test_load_image_any_dicom_without_extension_and_channels(tmp_path):
    path = write_dicom(
        tmp_path / 'IM0001',
        STORED,
        RescaleSlope=2,
        RescaleIntercept=-100,
        WindowCenter=100.5,
        WindowWidth=201)
    img = load_image_any(path, channels=3)
    assert img.shape == (2, 5, 3)
    np.testing.assert_allclose(img[0, :, 1], WINDOWED, atol=1e-4)
    assert load_image_any(path, channels=1).shape == (2, 5)


def test_load_image_any_png_and_errors(tmp_path):
    png = str(tmp_path / 'a.png')
    cv2.imwrite(png, np.arange(12, dtype=np.uint8).reshape(3, 4))
    img = load_image_any(png, channels=3)
    assert img.dtype == np.uint8 and img.shape == (3, 4, 3)
    assert img[2, 3, 0] == 11
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(OSError, match='bad.png'):
        load_image_any(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.png'):
        load_image_any(str(tmp_path / 'missing.png'))
    nopix = tmp_path / 'nopix.dcm'
    ds = Dataset()
    ds.PatientName = 'x'
    ds.save_as(str(nopix), implicit_vr=True, little_endian=True)
    with pytest.raises(ValueError, match='nopix.dcm: DICOM file has no pixel'):
        load_image_any(str(nopix))


def test_list_image_files_walks_folders_sorted(tmp_path):
    root = tmp_path / 'in'
    (root / 'b').mkdir(parents=True)
    (root / 'a').mkdir()
    for rel in ('b/2.png', 'a/1.jpg', 'a/0.DCM', 'b/notes.txt'):
        (root / rel).write_bytes(b'x')
    write_dicom(root / 'b' / 'IM0001', STORED)
    (root / 'b' / 'README').write_text('not dicom')
    single = tmp_path / 'z.txt'
    single.write_text('named explicitly, so it is kept (and will fail)')
    files = list_image_files([str(root), str(single)])
    rel = [osp.relpath(f, str(tmp_path)) for f in files]
    assert rel == ['in/a/0.DCM', 'in/a/1.jpg', 'in/b/2.png', 'in/b/IM0001',
                   'z.txt']
    with pytest.raises(FileNotFoundError, match='nowhere'):
        list_image_files([str(tmp_path / 'nowhere')])


def test_mirrored_output_names_keep_extensions_and_folders(tmp_path):
    """Names written out by hand: what once collided (``a.dcm``/``a.png``/
    ``a_2.png``; ``x/v.npy``/``y/v.npy``) stays apart."""
    src = tmp_path / 'in'
    (src / 'sub').mkdir(parents=True)
    (tmp_path / 'other').mkdir()
    for rel in ('in/a.dcm', 'in/a.png', 'in/a_2.png', 'in/sub/a.png',
                'other/a.png'):
        (tmp_path / rel).write_bytes(b'x')
    (src / 'link.png').symlink_to(src / 'a.png')

    def names(*inputs, **kwargs):
        return [(osp.relpath(p, str(tmp_path)), n)
                for p, n in mirrored_output_names(
                    [str(i) for i in inputs], **kwargs)]

    # One folder: its layout; the same file named again, or reached
    # through a link, runs once.
    assert names(src, src / 'a.png') == [
        ('in/a.dcm', 'a.dcm'), ('in/a.png', 'a.png'),
        ('in/a_2.png', 'a_2.png'), ('in/sub/a.png', 'sub/a.png')
    ]
    # A folder and a file elsewhere: below their common folder.
    assert names(src / 'sub', tmp_path / 'other' / 'a.png') == [
        ('in/sub/a.png', 'in/sub/a.png'), ('other/a.png', 'other/a.png')
    ]
    # Files named alone in one folder keep their file names.
    assert names(src / 'a.png', src / 'a.dcm') == [('in/a.png', 'a.png'),
                                                    ('in/a.dcm', 'a.dcm')]
    # Volumes (not walked): same file name in two folders.
    for folder in ('x', 'y'):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / 'v.npy').write_bytes(b'x')
    assert names(tmp_path / 'x' / 'v.npy', tmp_path / 'y' / 'v.npy',
                 expand=lambda item: [item]) == [('x/v.npy', 'x/v.npy'),
                                                 ('y/v.npy', 'y/v.npy')]
    assert mirrored_output_names([]) == []


def test_inference_pipeline_drops_loading_step():
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.pipeline[0]['channels'] = 1
    pipeline, channels = build_inference_pipeline(cfg)
    assert channels == 1
    names = [type(t).__name__ for t in pipeline.transforms]
    assert 'LoadRadiograph' not in names and names[0] == 'RescaleIntensity'


def test_inference_pipeline_unwraps_cached_transforms():
    """A test pipeline whose deterministic steps are cached: inference
    runs them directly, still without the loading step."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    steps = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='CachedTransforms', transforms=steps[:3])
    ] + steps[3:]
    pipeline, channels = build_inference_pipeline(cfg)
    reference, _ = build_inference_pipeline(cfg, steps)
    assert channels == 3
    assert [type(t).__name__ for t in pipeline.transforms
            ] == [type(t).__name__ for t in reference.transforms]
    assert 'CachedTransforms' not in repr(pipeline)


def test_inference_model_on_a_decoded_dicom(tmp_path):
    model = init_model(CONFIG)
    assert model.dataset_meta['classes'] == ('negative', 'positive')
    assert not model.training
    pixels = np.zeros((90, 120), np.uint16)
    pixels[20:70, 30:60] = 3000
    path = write_dicom(tmp_path / 'x.dcm', pixels)
    pipeline, channels = build_inference_pipeline(model.cfg)
    sample = inference_model(model, pipeline,
                             load_image_any(path, channels), path)
    out = prediction_to_dict(sample, model.dataset_meta['classes'])
    assert out['image_shape'] == [90, 120]
    assert out['label'] in ('negative', 'positive')
    assert out['probability'] == pytest.approx(
        float(sample.pred_score[1]), abs=1e-4)
    assert len(out['roi_boxes']) == 1 and len(out['scale_probabilities']) == 2
    x1, y1, x2, y2 = out['roi_boxes'][0]
    assert 0 <= x1 < x2 <= 120 and 0 <= y1 < y2 <= 90
    assert out['saliency_peak'] == out['saliency_peaks'][0]


def test_init_model_refuses_a_checkpoint_of_another_model(tmp_path):
    """infer.py, mura_predict.py, feature_svm.py and the visualisers load
    through init_model: another model's weights are an error naming the
    file and the first keys, not a half-random classifier."""
    import torch

    from radplugins.utils import CheckpointError
    state = init_model(CONFIG).state_dict()
    state = {k: v for k, v in state.items() if not k.startswith('head.')}
    state['apn.fc.weight'] = torch.zeros(3)
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict=state), path)
    with pytest.raises(CheckpointError) as err:
        init_model(CONFIG, str(path))
    message = str(err.value)
    assert message.startswith(f'{path} does not fit the model '
                              '(ZoomInClassifier): 2 missing key(s) (the '
                              'model has them, the file does not): '
                              'head.fc.weight, head.fc.bias; 1 unexpected '
                              'key(s) (the file has them, the model does '
                              'not): apn.fc.weight')


def test_positive_class_index():
    assert positive_class_index(('negative', 'positive')) == 1
    assert positive_class_index(('Positive', 'negative')) == 0
    assert positive_class_index(('a', 'b')) == 1
    assert positive_class_index(('a', 'b', 'c')) is None
    assert positive_class_index(None) is None


def test_load_image_any_warns_about_a_tiny_image(tmp_path):
    import cv2
    cv2.imwrite(str(tmp_path / 'tiny.png'), np.zeros((4, 6), np.uint8))
    with pytest.warns(UserWarning, match=r'tiny\.png: the image is only '
                      r'6x4 px \(a side is under 32 px\)'):
        assert load_image_any(str(tmp_path / 'tiny.png')).shape == (4, 6, 3)
    path = write_dicom(tmp_path / 'tiny.dcm', STORED)
    with pytest.warns(UserWarning, match=r'tiny\.dcm: the image is only '
                      r'5x2 px'):
        load_image_any(path)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load_image_any(str(tmp_path / 'tiny.png'), min_size=4)
