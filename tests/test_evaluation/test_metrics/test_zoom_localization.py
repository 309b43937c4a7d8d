import math
import warnings

import numpy as np
import pytest
import torch
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample
from shapely.geometry import Point
from shapely.geometry import box as shapely_box

from radplugins.evaluation import ZoomLocalization


def shapely_fraction(inner, outer):
    """Reference: covered fraction of ``inner`` by ``outer``."""
    a = shapely_box(*inner)
    return a.intersection(shapely_box(*outer)).area / a.area


def shapely_iou(a, b):
    pa, pb = shapely_box(*a), shapely_box(*b)
    return pa.intersection(pb).area / pa.union(pb).area


def shapely_points_in(point, box, tol):
    x1, y1, x2, y2 = box
    return shapely_box(x1 - tol, y1 - tol, x2 + tol,
                       y2 + tol).covers(Point(*point))


# ---------------------------------------------------------------- geometry
def test_box_iou_hand_computed():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [10, 0, 20, 10],
                  [20, 20, 30, 30], [0, 0, 5, 10]])
    iou = ZoomLocalization.box_iou(a, b)
    assert iou.shape == (1, 5)
    # 25 / (100 + 100 - 25); identical; touching edge; disjoint; half.
    np.testing.assert_allclose(iou[0], [25 / 175, 1, 0, 0, 0.5])


def test_fraction_inside_hand_computed():
    roi = np.array([[0, 0, 50, 50]])
    inner = np.array([[20, 20, 40, 40], [40, 0, 60, 10], [40, 40, 80, 80],
                      [60, 60, 70, 70], [10, 10, 10, 10], [70, 5, 70, 5]])
    frac = ZoomLocalization.fraction_inside(inner, roi)
    assert frac.shape == (6, 1)
    # Inside; half (10 of 20 wide); 100 / 1600; outside; a point inside
    # and a point outside (the limit of a shrinking box).
    np.testing.assert_allclose(frac[:, 0], [1, 0.5, 100 / 1600, 0, 1, 0])


def test_points_in_boxes_edges_and_tolerance():
    boxes = np.array([[20, 20, 40, 40]])
    points = np.array([[10, 10], [20, 30], [40, 40], [41, 30], [30, 45.5]])
    assert ZoomLocalization.points_in_boxes(
        points, boxes)[:, 0].tolist() == [False, True, True, False, False]
    # Grown by 5 px (41, 30) is in, (30, 45.5) is not: 45.5 > 40 + 5.
    assert ZoomLocalization.points_in_boxes(
        points, boxes, 5)[:, 0].tolist() == [False, True, True, True, False]
    # Grown by 10 px the corner (10, 10) is on the grown edge: inside.
    assert ZoomLocalization.points_in_boxes(
        points, boxes, 10)[:, 0].tolist() == [True, True, True, True, True]


@pytest.mark.parametrize('seed', [0, 1])
def test_geometry_matches_shapely(seed):
    rng = np.random.default_rng(seed)

    def boxes(n):
        xy = rng.uniform(0, 100, (n, 2)).round(1)
        wh = rng.uniform(1, 60, (n, 2)).round(1)
        return np.concatenate([xy, xy + wh], 1)

    a, b = boxes(30), boxes(20)
    iou = ZoomLocalization.box_iou(a, b)
    frac = ZoomLocalization.fraction_inside(a, b)
    points = rng.uniform(-10, 170, (30, 2)).round(0)
    inside = ZoomLocalization.points_in_boxes(points, b, 3.0)
    for i in range(len(a)):
        for j in range(len(b)):
            assert iou[i, j] == pytest.approx(shapely_iou(a[i], b[j]),
                                              abs=1e-12)
            assert frac[i, j] == pytest.approx(
                shapely_fraction(a[i], b[j]), abs=1e-12)
            assert inside[i, j] == shapely_points_in(points[i], b[j], 3.0)
    # Random boxes must exercise all outcomes, or the loop proves little.
    assert 0 < (frac == 0).sum() < frac.size
    assert 0 < inside.sum() < inside.size


def test_invalid_boxes_are_named():
    with pytest.raises(ValueError, match=r'x2 >= x1.*\[10\.0, 0\.0, 5\.0'):
        ZoomLocalization.box_iou([[10, 0, 5, 5]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r'shape \(K, 4\).*\(2, 3\)'):
        ZoomLocalization.fraction_inside(np.zeros((2, 3)), [[0, 0, 1, 1]])


# ------------------------------------------------------------ the metric
# Per image: body part, (width, height), ROIs per step, peaks per step,
# lesion boxes, flag boxes. Step 1 ROIs sit exactly on the first lesion
# (or cover the image), to check that ``step`` picks the right row.
IMAGES = [
    # A: lesion fully in the ROI (IoU 400/2500), peak 10 px off the lesion.
    ('XR_WRIST', (100, 100), [[0, 0, 50, 50], [20, 20, 40, 40]],
     [[10, 10], [30, 30]], [[20, 20, 40, 40]], []),
    # B: ROI on the flag, lesion missed: the paper's failure mode.
    ('XR_WRIST', (200, 100), [[100, 0, 200, 100], [0, 0, 20, 20]],
     [[150, 50], [10, 10]], [[0, 0, 20, 20]], [[180, 10, 190, 20]]),
    # C: a quarter of the big lesion in the ROI (a miss, IoU 400/4800),
    # peak inside it; the flag fully in the ROI.
    ('XR_HAND', (100, 100), [[0, 0, 60, 60], [40, 40, 80, 80]],
     [[55, 55], [0, 0]], [[40, 40, 80, 80], [90, 90, 95, 95]],
     [[0, 0, 10, 10]]),
    # D: no lesion; the ROI and the peak on the flag.
    ('XR_HAND', (100, 100), [[0, 0, 50, 50], [0, 0, 100, 100]],
     [[5, 5], [5, 5]], [], [[0, 0, 10, 10]]),
    # E: 600 of the lesion's 800 px in the ROI (hit, IoU 600/3800), peak
    # on the lesion's right edge; the flag outside the ROI.
    ('XR_HAND', (100, 100), [[20, 20, 80, 80], [10, 40, 50, 60]],
     [[50, 50], [50, 50]], [[10, 40, 50, 60]], [[90, 0, 100, 10]]),
    # F: no boxes at all.
    ('XR_ELBOW', (100, 100), [[0, 0, 100, 100], [0, 0, 100, 100]],
     [[0, 0], [0, 0]], [], []),
]
SCORES = ('pointing', 'roi_hit', 'centre_hit', 'roi_iou', 'flag_hit',
          'flag_instead', 'flag_pointing', 'roi_area', 'num_images',
          'num_lesion_images', 'num_flag_images', 'num_lesion_flag_images')


# Lesion kinds for IMAGES, one per lesion box. C holds one of each: its
# fracture is the quarter-covered box under the peak, its implant the
# small box outside the ROI.
KINDS = [['implant'], ['fracture'], ['fracture', 'implant'], [], ['implant'],
         []]


def make_samples(images=IMAGES, drop=(), kinds=None):
    samples = []
    for i, (part, (w, h), rois, peaks, lesions, flags) in enumerate(images):
        meta = dict(
            img_path=f'img{i}.png',
            body_part=part,
            ori_shape=(h, w),
            gt_abnormal_boxes=np.array(lesions, np.float32).reshape(-1, 4),
            gt_flag_boxes=np.array(flags, np.float32).reshape(-1, 4))
        if kinds is not None:
            meta['gt_abnormal_kinds'] = kinds[i]
        sample = DataSample(metainfo={
            k: v
            for k, v in meta.items() if k not in drop
        })
        sample.set_gt_label(int(bool(lesions)))
        sample.set_pred_score(torch.tensor([0.4, 0.6]))
        if 'zoom_boxes' not in drop:
            sample.set_field(torch.tensor(rois, dtype=torch.float32),
                             'zoom_boxes')
        if 'saliency_peaks' not in drop:
            sample.set_field(torch.tensor(peaks, dtype=torch.float32),
                             'saliency_peaks')
        samples.append(sample.to_dict())
    return samples


def run_metric(images=IMAGES, kinds=None, **kwargs):
    """Evaluate with the groups' keys returned (unless told not to)."""
    kwargs.setdefault('per_group_keys', True)
    metric = METRICS.build(dict(type='ZoomLocalization', **kwargs))
    samples = make_samples(images, kinds=kinds)
    # Two batches, as a loop would call it.
    metric.process(None, samples[:3])
    metric.process(None, samples[3:])
    return metric.evaluate(len(samples))


def reference(images, step=0, tolerance=0.0, hit_fraction=0.5, kinds=None):
    """Independent scores from shapely polygons, plain loops and lists."""
    out = {}
    groups = [('', images)] + [(f'{p}/', [im for im in images if im[0] == p])
                               for p in {im[0] for im in images}]
    for kind in {k for ks in kinds or () for k in ks}:
        # The images with a lesion of this kind, holding only those lesions.
        groups.append((f'{kind}/', [
            im[:4] + ([b for b, k in zip(im[4], ks) if k == kind], im[5])
            for im, ks in zip(images, kinds) if kind in ks
        ]))
    for name, group in groups:
        pointing, hit, iou, f_hit, f_point, instead, area, centre = (
            [] for _ in range(8))
        for _, (w, h), rois, peaks, lesions, flags in group:
            roi, peak = rois[step], peaks[step]
            area.append(shapely_box(*roi).area / (w * h))
            les_hit = any(
                shapely_fraction(b, roi) >= hit_fraction for b in lesions)
            flag_hit = any(
                shapely_fraction(b, roi) >= hit_fraction for b in flags)
            if lesions:
                pointing.append(
                    any(shapely_points_in(peak, b, tolerance)
                        for b in lesions))
                hit.append(les_hit)
                # The ROI's own width and height, centred on the image.
                rw, rh = roi[2] - roi[0], roi[3] - roi[1]
                mid = ((w - rw) / 2, (h - rh) / 2, (w + rw) / 2,
                       (h + rh) / 2)
                centre.append(
                    any(shapely_fraction(b, mid) >= hit_fraction
                        for b in lesions))
                iou.append(max(shapely_iou(roi, b) for b in lesions))
            if flags:
                f_hit.append(flag_hit)
                f_point.append(
                    any(shapely_points_in(peak, b, tolerance) for b in flags))
            if lesions and flags:
                instead.append(flag_hit and not les_hit)

        def mean(v):
            return sum(v) / len(v) if v else math.nan

        for key, values in (('pointing', pointing), ('roi_hit', hit),
                            ('centre_hit', centre),
                            ('roi_iou', iou), ('flag_hit', f_hit),
                            ('flag_pointing', f_point),
                            ('flag_instead', instead), ('roi_area', area)):
            out[f'loc/{name}{key}'] = mean(values)
        out[f'loc/{name}num_images'] = len(group)
        out[f'loc/{name}num_lesion_images'] = len(hit)
        out[f'loc/{name}num_flag_images'] = len(f_hit)
        out[f'loc/{name}num_lesion_flag_images'] = len(instead)
    return out


def assert_same(ours, ref):
    assert set(ours) == set(ref)
    for key, value in ref.items():
        if math.isnan(value):
            assert math.isnan(ours[key]), key
        else:
            assert ours[key] == pytest.approx(value, abs=1e-12), key


def test_hand_computed_scores():
    out = run_metric()
    assert out['loc/num_images'] == 6.0
    assert out['loc/num_lesion_images'] == 4.0  # A, B, C, E
    assert out['loc/num_flag_images'] == 4.0  # B, C, D, E
    assert out['loc/num_lesion_flag_images'] == 3.0  # B, C, E
    assert out['loc/pointing'] == pytest.approx(2 / 4)  # C, E
    assert out['loc/roi_hit'] == pytest.approx(2 / 4)  # A, E
    # ROI-sized boxes in the image centres: A [25,25,75,75] holds 225 of
    # 400 px, B [50,0,150,100] none, C [20,20,80,80] all, E [20,20,80,80]
    # 600 of 800.
    assert out['loc/centre_hit'] == pytest.approx(3 / 4)  # A, C, E
    assert out['loc/roi_iou'] == pytest.approx(
        (400 / 2500 + 0 + 400 / 4800 + 600 / 3800) / 4)
    assert out['loc/flag_hit'] == pytest.approx(3 / 4)  # B, C, D
    assert out['loc/flag_pointing'] == pytest.approx(1 / 4)  # D
    assert out['loc/flag_instead'] == pytest.approx(2 / 3)  # B, C
    assert out['loc/roi_area'] == pytest.approx(
        (.25 + .5 + .36 + .25 + .36 + 1) / 6)
    assert out['loc/XR_WRIST/flag_instead'] == 1.0
    assert out['loc/XR_HAND/pointing'] == 1.0
    assert out['loc/XR_HAND/flag_hit'] == pytest.approx(2 / 3)
    assert out['loc/XR_ELBOW/roi_area'] == 1.0
    for key in ('pointing', 'roi_hit', 'roi_iou', 'flag_hit', 'flag_instead',
                'flag_pointing'):
        assert math.isnan(out[f'loc/XR_ELBOW/{key}']), key
    # Every key is a float, so MMEngine's JSON log keeps it.
    assert all(type(v) is float for v in out.values())


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(tolerance=10.0),
    dict(hit_fraction=0.25),
    dict(step=1),
    dict(step=-1, tolerance=3.0, hit_fraction=1.0),
])
def test_every_key_matches_the_shapely_reference(kwargs):
    assert_same(run_metric(**kwargs), reference(IMAGES, **kwargs))


def test_options_change_the_scores():
    # Guards the parametrised comparison above against options that are
    # silently ignored.
    base = run_metric()
    # A's peak lies exactly 10 px from its lesion: a hit with tolerance.
    assert run_metric(tolerance=10.0)['loc/pointing'] == pytest.approx(3 / 4)
    # C's quarter-covered lesion becomes a hit, so C no longer counts as
    # looking at the flag instead.
    assert run_metric(hit_fraction=0.25)['loc/roi_hit'] == pytest.approx(3 / 4)
    last = run_metric(step=-1)
    assert last['loc/roi_iou'] == 1.0 and base['loc/roi_iou'] < 0.2
    # Step 1 peaks: A and B now on their lesions, C off its lesion.
    assert last['loc/pointing'] == pytest.approx(3 / 4)


def test_no_eligible_image_gives_nan_without_warnings():
    blank = [im[:4] + ([], []) for im in IMAGES]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = run_metric(blank)
        empty = ZoomLocalization.calculate(
            np.zeros((0, 4)), np.zeros((0, 2)), [], [],
            image_sizes=np.zeros((0, 2)))
    for key in ('pointing', 'roi_hit', 'roi_iou', 'flag_hit', 'flag_instead',
                'flag_pointing'):
        assert math.isnan(out[f'loc/{key}']), key
        assert math.isnan(empty[key]), key
    assert out['loc/num_lesion_images'] == 0.0
    assert out['loc/num_images'] == 6.0
    assert not math.isnan(out['loc/roi_area'])
    assert math.isnan(empty['roi_area']) and empty['num_images'] == 0.0


def test_without_body_parts():
    out = run_metric(per_body_part=False)
    assert not [k for k in out if k.count('/') > 1]
    assert out['loc/roi_hit'] == pytest.approx(0.5)


def test_scores_per_lesion_kind():
    out = run_metric(kinds=KINDS)
    # Implants: A (hit, peak off), C's small box (miss, peak off), E (hit,
    # peak on the edge). Fractures: B (miss), C's big box (a quarter
    # covered, a miss, but the peak is on it).
    assert out['loc/implant/num_lesion_images'] == 3.0
    assert out['loc/implant/roi_hit'] == pytest.approx(2 / 3)
    assert out['loc/implant/pointing'] == pytest.approx(1 / 3)
    assert out['loc/fracture/num_lesion_images'] == 2.0
    assert out['loc/fracture/roi_hit'] == 0.0
    assert out['loc/fracture/pointing'] == pytest.approx(1 / 2)
    # The overall and body-part scores do not change with kinds.
    plain = run_metric()
    assert {k: v for k, v in out.items() if k in plain} == pytest.approx(
        plain, nan_ok=True)
    assert_same(out, reference(IMAGES, kinds=KINDS))
    assert_same(
        run_metric(kinds=KINDS, step=1, hit_fraction=0.25),
        reference(IMAGES, step=1, hit_fraction=0.25, kinds=KINDS))
    without = run_metric(kinds=KINDS, per_lesion_kind=False)
    assert not [k for k in without if 'implant' in k or 'fracture' in k]


def test_groups_go_to_the_table_not_the_keys(monkeypatch):
    import radplugins.evaluation.metrics.zoom_localization as module
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, logger=None: logged.append(msg))
    out = run_metric(kinds=KINDS, per_group_keys=False)
    full = run_metric(kinds=KINDS)
    # Only the overall scores and counts are returned ...
    assert set(out) == {k for k in full if k.count('/') == 1}
    assert len(out) == 12
    assert out == pytest.approx({k: full[k] for k in out}, nan_ok=True)
    # ... and the same table, every body part and kind a row, is logged.
    assert logged[0] == logged[1]
    lines = logged[0].splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith('group')]
    rows = [line.split()[0] for line in lines[header[0] + 1:]
            if not line.startswith('-')]
    assert set(rows) == {'XR_ELBOW', 'XR_HAND', 'XR_WRIST', 'fracture',
                         'implant', 'ALL'}


def test_bad_lesion_kinds_are_named():
    sample = make_samples(IMAGES[2:3], kinds=[['fracture']])[0]
    with pytest.raises(ValueError, match=r'img0.png: 1 gt_abnormal_kinds '
                       'for 2 gt_abnormal_boxes'):
        ZoomLocalization().process(None, [sample])
    metric = ZoomLocalization()
    metric.process(None, make_samples(IMAGES[:1], kinds=[['XR_WRIST']]))
    with pytest.raises(ValueError, match=r"\['XR_WRIST'\].*body part"):
        metric.evaluate(1)


def test_missing_model_outputs_name_the_zoom_model():
    metric = ZoomLocalization()
    for key in ('zoom_boxes', 'saliency_peaks'):
        with pytest.raises(KeyError, match=f"'{key}'.*img0.png.*"
                           'ZoomInClassifier'):
            metric.process(None, make_samples(IMAGES[:1], drop=(key, )))


def test_missing_ground_truth_explains_the_config():
    metric = ZoomLocalization()
    for key in ('gt_abnormal_boxes', 'gt_flag_boxes'):
        with pytest.raises(KeyError, match=f"'{key}'.*img0.png.*"
                           r'ground_truth.*meta_keys'):
            metric.process(None, make_samples(IMAGES[:1], drop=(key, )))
    with pytest.raises(KeyError, match="'body_part'.*meta_keys"):
        metric.process(None, make_samples(IMAGES[:1], drop=('body_part', )))


def test_bad_arguments_and_steps():
    with pytest.raises(ValueError, match=r'hit_fraction.*\(0, 1\].*got 0'):
        ZoomLocalization(hit_fraction=0)
    with pytest.raises(ValueError, match='tolerance.*-1'):
        ZoomLocalization(tolerance=-1)
    with pytest.raises(TypeError, match='step.*0.5'):
        ZoomLocalization(step=0.5)
    metric = ZoomLocalization(step=2)
    with pytest.raises(ValueError, match=r'step=2.*2 zoom step.*img0.png'):
        metric.process(None, make_samples(IMAGES[:1]))
    sample = make_samples(IMAGES[:1])[0]
    sample['saliency_peaks'] = sample['saliency_peaks'][:1]
    with pytest.raises(ValueError, match=r'\(2, 4\) and \(1, 2\).*img0'):
        ZoomLocalization().process(None, [sample])


@pytest.mark.parametrize('prefix', ['loc/', 'val/loc/', ''])
def test_table_lists_every_body_part(prefix):
    out = {
        k.replace('loc/', prefix, 1): v
        for k, v in run_metric().items()
    }
    table = ZoomLocalization.format_table(out)
    rows = {
        line.split()[0]: line.split()
        for line in table.splitlines()[1:] if not line.startswith('-')
    }
    assert set(rows) == {'group', 'XR_ELBOW', 'XR_HAND', 'XR_WRIST', 'ALL'}
    col = {name: i for i, name in enumerate(rows['group'])}
    assert rows['ALL'][col['images']] == '6'
    assert rows['XR_HAND'][col['images']] == '3'
    assert rows['XR_WRIST'][col['flag_instead']] == '1.000'
    assert rows['ALL'][col['roi_hit']] == '0.500'
    assert rows['XR_ELBOW'][col['pointing']] == 'nan'
    # The overall row comes last, after the rule under the body parts.
    assert table.splitlines()[-1].startswith('ALL')
