import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

REFINER = dict(type='BoxEdgeRefiner', num_classes=2, size=16)
TTA_CFG = dict(
    nms=dict(type='nms', iou_threshold=0.5),
    max_per_img=10,
    vote_iou_thr=1.0,
    score_mode='max')


class Detector(torch.nn.Module):
    """Stands in for a detector: the merge never calls it."""

    def test_step(self, data):
        raise AssertionError('the merge must not run the detector')


def build(**kwargs):
    # Scoped: other tests leave MMPretrain as the default scope.
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(
            dict(type='EdgeRefinedDetTTAModel', module=Detector(),
                 refiner=REFINER, tta_cfg=TTA_CFG, **kwargs))


def view(hr_img=None, hr_scale=1.0):
    meta = dict(ori_shape=(40, 60), flip=False, flip_direction=None,
                img_path='a.png')
    if hr_img is not None:
        meta.update(hr_img=hr_img, hr_scale=hr_scale)
    sample = DetDataSample(metainfo=meta)
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[10.0, 8.0, 20.0, 16.0], [30.0, 5.0, 50.0,
                                                       35.0]]),
        scores=torch.tensor([0.9, 0.4]),
        labels=torch.tensor([0, 1]))
    return sample


def test_boxes_are_refined_in_the_high_res_images_pixels(monkeypatch):
    # The high-resolution copy is half the original's size (hr_scale 0.5):
    # the refiner must get the boxes halved and its answer doubled back.
    model = build(refine_rounds=2)
    seen = {}

    def refine(image, boxes, labels, rounds):
        seen.update(image=image, boxes=boxes.clone(), labels=labels,
                    rounds=rounds)
        return boxes + 1.0

    monkeypatch.setattr(model.refiner, 'refine', refine)
    hr_img = np.arange(20 * 30 * 1, dtype=np.uint8).reshape(20, 30, 1)
    merged = model.merge_preds([[view(hr_img, 0.5)]])[0].pred_instances
    torch.testing.assert_close(
        seen['boxes'], torch.tensor([[5.0, 4.0, 10.0, 8.0],
                                     [15.0, 2.5, 25.0, 17.5]]))
    assert seen['rounds'] == 2 and seen['labels'].tolist() == [0, 1]
    # Channels first, as float.
    assert seen['image'].shape == (1, 20, 30)
    assert seen['image'][0, 1, 2].item() == 32.0
    torch.testing.assert_close(
        merged.bboxes, torch.tensor([[12.0, 10.0, 22.0, 18.0],
                                     [32.0, 7.0, 52.0, 37.0]]))
    torch.testing.assert_close(merged.scores, torch.tensor([0.9, 0.4]))


def test_boxes_are_rescored_by_edge_confidence_and_reordered(monkeypatch):
    model = build(confidence_power=2.0)
    monkeypatch.setattr(model.refiner, 'refine',
                        lambda image, boxes, labels, rounds: boxes)
    monkeypatch.setattr(model.refiner, 'edge_confidence',
                        lambda image, boxes, labels: torch.tensor([0.5, 1.0]))
    hr_img = np.zeros((40, 60), np.uint8)
    merged = model.merge_preds([[view(hr_img)]])[0].pred_instances
    # 0.9 * 0.5^2 = 0.225 now ranks below 0.4 * 1^2.
    torch.testing.assert_close(merged.scores, torch.tensor([0.4, 0.225]))
    assert merged.labels.tolist() == [1, 0]
    torch.testing.assert_close(merged.bboxes[0],
                               torch.tensor([30.0, 5.0, 50.0, 35.0]))


def test_without_the_high_res_image_the_file_is_named():
    with pytest.raises(KeyError, match="'a.png' has none"):
        build().merge_preds([[view()]])


def test_checkpoint_is_loaded_and_bad_settings_are_named(tmp_path):
    source = build().refiner
    for p in source.parameters():
        torch.nn.init.normal_(p)
    path = tmp_path / 'refiner.pth'
    torch.save(dict(state_dict=source.state_dict(), meta=dict()), path)
    loaded = build(refiner_checkpoint=str(path)).refiner
    for name, value in source.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)
    assert not loaded.training
    with pytest.raises(FileNotFoundError, match="'/no/such.pth' does not"):
        build(refiner_checkpoint='/no/such.pth')
    with pytest.raises(ValueError, match='refine_rounds must be >= 1, got 0'):
        build(refine_rounds=0)
    with pytest.raises(ValueError, match='confidence_power must be >= 0'):
        build(confidence_power=-1)
    with pytest.raises(ValueError, match=r'duplicate_iou_thr must be in '
                       r'\(0, 1\] or None, got 1.5'):
        build(duplicate_iou_thr=1.5)


def test_a_refiner_checkpoint_that_does_not_fit_is_named(tmp_path):
    """A checkpoint of a refiner for other classes (or of anything else)
    is refused, naming the file and the keys, not half loaded."""
    from radplugins.utils import CheckpointError
    with DefaultScope.overwrite_default_scope('mmdet'):
        other = MODELS.build(dict(REFINER, num_classes=3))
    path = tmp_path / 'other_refiner.pth'
    torch.save(dict(state_dict=other.state_dict()), path)
    with pytest.raises(CheckpointError) as err:
        build(refiner_checkpoint=str(path))
    message = str(err.value)
    assert message.startswith(f'{path} does not fit the model '
                              '(BoxEdgeRefiner): ')
    assert 'shape mismatch' in message


def test_boxes_refined_onto_one_outline_are_merged(monkeypatch):
    # The refiner moves four boxes to: A (flag), A shifted by 0.5 px (flag,
    # IoU 0.905 with A, lower score: a duplicate), A again as an implant
    # (another class: kept), and a flag beside A (IoU 1/3: another marker,
    # kept).
    model = build(duplicate_iou_thr=0.8)
    # Detected far apart (the views' merge keeps all four), refined onto:
    detected = torch.tensor([[0.0, 0, 8, 8], [30, 0, 38, 8], [0, 30, 8, 38],
                             [30, 30, 38, 38]])
    outline = torch.tensor([[10.0, 10.0, 20.0, 20.0], [10.5, 10.0, 20.5,
                                                       20.0],
                            [10.0, 10.0, 20.0, 20.0], [15.0, 10.0, 25.0,
                                                       20.0]])

    def refine(image, boxes, labels, rounds):
        # The merge hands the boxes back to within float rounding.
        nearest = torch.cdist(boxes, detected).argmin(dim=1)
        return outline[nearest]

    monkeypatch.setattr(model.refiner, 'refine', refine)

    def detections():
        sample = view(np.zeros((40, 60), np.uint8))
        sample.pred_instances = InstanceData(
            bboxes=detected,
            scores=torch.tensor([0.9, 0.8, 0.7, 0.6]),
            labels=torch.tensor([0, 0, 1, 0]))
        return sample

    merged = model.merge_preds([[detections()]])[0].pred_instances
    torch.testing.assert_close(merged.scores, torch.tensor([0.9, 0.7, 0.6]))
    assert merged.labels.tolist() == [0, 1, 0]
    torch.testing.assert_close(merged.bboxes, outline[[0, 2, 3]])
    # Without the setting every refined box stays.
    model.duplicate_iou_thr = None
    assert len(model.merge_preds([[detections()]])[0].pred_instances) == 4
