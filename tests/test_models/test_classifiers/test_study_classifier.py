import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

BACKBONE = dict(type='ResNet', depth=18, out_indices=(3, ))
HEAD = dict(
    type='LinearClsHead',
    num_classes=2,
    in_channels=512,
    loss=dict(type='CrossEntropyLoss'))


def study_model(pooling='attention'):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='StudyClassifier',
            backbone=BACKBONE,
            neck=dict(type='ViewFusionNeck', pooling=pooling,
                      in_channels=512),
            head=HEAD)).eval()


def samples(mask, labels):
    return [
        DataSample(view_mask=torch.tensor(m)).set_gt_label(label)
        for m, label in zip(mask, labels)
    ]


@pytest.mark.parametrize('pooling', ['mean', 'max', 'attention'])
def test_one_view_equals_the_single_view_model(pooling):
    model = study_model(pooling)
    single = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=BACKBONE,
            neck=dict(type='GlobalAveragePooling'),
            head=HEAD)).eval()
    missing, unexpected = single.load_state_dict(
        model.state_dict(), strict=False)
    assert not missing
    assert all(k.startswith('neck.attention') for k in unexpected)
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            model(images[:, None]), single(images), rtol=1e-5, atol=1e-5)


def test_views_order_and_padding_do_not_matter():
    model = study_model('attention')
    studies = torch.randn(2, 3, 3, 32, 32)
    mask = [[True, True, False], [True, False, False]]
    with torch.no_grad():
        ref = model(studies, samples(mask, [1, 0]), mode='predict')
        order = torch.tensor([1, 0, 2])
        swapped_mask = [[m[i] for i in order] for m in mask]
        swapped = model(studies[:, order], samples(swapped_mask, [1, 0]),
                        mode='predict')
        noisy = studies.clone()
        noisy[0, 2] = torch.randn(3, 32, 32) * 50
        noisy[1, 1:] = 0
        padded = model(noisy, samples(mask, [1, 0]), mode='predict')
    for a, b, c in zip(ref, swapped, padded):
        torch.testing.assert_close(a.pred_score, b.pred_score)
        torch.testing.assert_close(a.pred_score, c.pred_score)
    # Unmasked, the extra views count.
    with torch.no_grad():
        all_views = model(noisy, samples([[True] * 3] * 2, [1, 0]),
                          mode='predict')
    assert not torch.allclose(all_views[0].pred_score, ref[0].pred_score)


def test_loss_and_errors():
    model = study_model('mean').train()
    losses = model(
        torch.randn(2, 2, 3, 32, 32),
        samples([[True, True], [True, False]], [1, 0]),
        mode='loss')
    assert set(losses) == {'loss'}
    losses['loss'].backward()
    with pytest.raises(ValueError, match='expects \\(B, V, C, H, W\\)'):
        model(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match='view_mask of the batch'):
        model(torch.randn(2, 3, 3, 32, 32), samples([[True]] * 2, [0, 1]))
    with pytest.raises(ValueError, match='needs a fusion neck'):
        MODELS.build(
            dict(type='StudyClassifier', backbone=BACKBONE, neck=None,
                 head=HEAD))
