import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmpretrain.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS, TRANSFORMS

from radplugins.models.heads.attention_proposal_network import \
    boxes_in_bounds

IN = 64
SIDE_RANGE = (0.3, 0.6)


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(
        type='RACNNClassifier',
        num_scales=3,
        backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=2,
            in_channels=512,
            loss=dict(type='CrossEntropyLoss')),
        apn=dict(in_channels=512, pool_size=2, hidden_channels=32,
                 side_range=SIDE_RANGE),
        # A margin the probabilities can never satisfy keeps the ranking
        # loss, and so the APN gradient, alive in every test batch.
        rank_loss=dict(type='InterScaleRankingLoss', margin=1.0),
        alternation=dict(apn_init_iters=1, classifier_iters=1, apn_iters=1,
                         apn_init_side=0.45),
        data_preprocessor=dict(
            type='RadDataPreprocessor', mean=[128.] * 3, std=[64.] * 3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def make_batch(sizes=((300, 200), (150, 400)), labels=(1, 0), seed=0):
    rng = np.random.default_rng(seed)
    pipeline = [
        TRANSFORMS.build(dict(type='LetterboxResize', scale=IN)),
        TRANSFORMS.build(
            dict(
                type='PackInputs',
                meta_keys=('ori_shape', 'img_shape', 'scale_factor',
                           'letterbox_offset')))
    ]
    items = []
    for (h, w), label in zip(sizes, labels):
        img = rng.integers(0, 255, (h, w, 3)).astype(np.uint8)
        img[h // 3:h // 3 + 20, w // 2:w // 2 + 20] = 255
        results = dict(img=img, ori_shape=(h, w), gt_label=label)
        for t in pipeline:
            results = t(results)
        items.append(results)
    return pseudo_collate(items)


def optim_wrappers(model):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='RACNNOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                # small enough that one step does not saturate the softmax
                classifier=dict(optimizer=dict(type='SGD', lr=1e-3)),
                apn=dict(optimizer=dict(type='SGD', lr=0.1)))))
    return constructor(model)


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed(before, after, prefix_filter):
    return {
        k for k in before
        if prefix_filter(k) and before[k].dtype.is_floating_point
        and not torch.equal(before[k], after[k])
    }


def test_phases_follow_the_configured_lengths():
    model = build(alternation=dict(classifier_warmup_iters=1,
                                   apn_init_iters=2, classifier_iters=3,
                                   apn_iters=1))
    assert [model.phase(i) for i in range(9)] == [
        'classifier', 'apn_init', 'apn_init', 'classifier', 'classifier',
        'classifier', 'apn', 'classifier', 'classifier'
    ]


def test_each_phase_updates_only_its_parameters():
    model = build()
    model.train()
    wrappers = optim_wrappers(model)
    hub = MessageHub.get_current_instance()
    is_apn = lambda k: k.startswith('apns.')  # noqa: E731
    is_cls = lambda k: not k.startswith('apns.')  # noqa: E731
    for it, phase in enumerate(['apn_init', 'classifier', 'apn']):
        hub.update_info('iter', it)
        before = snapshot(model)
        log_vars = model.train_step(make_batch(seed=it), wrappers)
        after = snapshot(model)
        assert model.phase(it) == phase
        if phase == 'classifier':
            assert {'s0.loss', 's1.loss', 's2.loss', 'fused.loss'} <= \
                set(log_vars)
            assert changed(before, after, is_cls), phase
            assert not changed(before, after, is_apn), phase
            # every scale's subnetwork and the fusion layer learn
            for part in ('backbones.0.', 'backbones.1.', 'backbones.2.',
                         'heads.2.', 'fusion_fc.'):
                assert any(k.startswith(part)
                           for k in changed(before, after, is_cls)), part
        else:
            key = 'rank.loss' if phase == 'apn' else 'apn_init.loss'
            assert key in log_vars and log_vars[key] > 0
            # weights and BN running statistics of the classifiers stay
            assert not changed(before, after, is_cls), phase
            for part in ('apns.0.', 'apns.1.'):
                assert any(k.startswith(part)
                           for k in changed(before, after, is_apn)), part
    # The frozen state is restored after the APN phase.
    assert all(p.requires_grad for p in model.parameters())
    assert all(m.training for m in model.modules())
    hub.runtime_info.pop('iter', None)


def test_rank_loss_gradient_reaches_both_apns_through_the_crops():
    model = build()
    model.train()
    data = model.data_preprocessor(make_batch(), training=True)
    with model.frozen_classifiers():
        out = model.forward_scales(data['inputs'])
        loss = model.apn_loss(out, data['data_samples'])['rank.loss']
        loss.backward()
    for apn in model.apns:
        assert apn.fc2.weight.grad is not None
        assert apn.fc2.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbones.parameters())


def test_apn_init_moves_boxes_towards_the_strongest_response():
    model = build(alternation=dict(apn_init_iters=1, apn_init_side=0.45))
    model.train()
    data = model.data_preprocessor(make_batch(), training=True)
    apn_params = list(model.apn_parameters())
    opt = torch.optim.Adam(apn_params, lr=1e-2)
    with model.frozen_classifiers():
        first = model.apn_init_loss(data['inputs'])['apn_init.loss']
        for _ in range(30):
            opt.zero_grad()
            model.apn_init_loss(data['inputs'])['apn_init.loss'].backward()
            opt.step()
        last = model.apn_init_loss(data['inputs'])['apn_init.loss']
        out = model.forward_scales(data['inputs'], apn_grad=False)
    assert last < 0.1 * first
    target = model.apns[0].response_boxes(out['convs'][0], 0.45)
    assert torch.allclose(out['boxes'][0], target, atol=0.05)


@pytest.mark.parametrize('fusion', ['concat', 'mean'])
def test_predict_returns_scale_scores_and_boxes_inside_the_image(fusion):
    model = build(fusion=fusion)
    torch.nn.init.normal_(model.apns[0].fc2.weight, std=5.0)
    torch.nn.init.normal_(model.apns[1].fc2.weight, std=5.0)
    model.eval()
    sizes = ((300, 200), (150, 400))
    data = model.data_preprocessor(make_batch(sizes))
    preds = model(**data, mode='predict')
    out = model.forward_scales(data['inputs'], apn_grad=False)
    for i, (pred, (h, w)) in enumerate(zip(preds, sizes)):
        boxes = pred.zoom_boxes
        assert boxes.shape == (2, 4)
        assert torch.all(boxes[:, :2] >= 0)
        assert torch.all(boxes[:, 2] <= w) and torch.all(boxes[:, 3] <= h)
        assert torch.all(boxes[:, 2:] > boxes[:, :2])
        # scale 2's box lies inside scale 1's
        assert torch.all(boxes[1, :2] >= boxes[0, :2] - 1e-4)
        assert torch.all(boxes[1, 2:] <= boxes[0, 2:] + 1e-4)
        assert pred.scale_scores.shape == (3, 2)
        assert torch.allclose(pred.scale_scores.sum(1), torch.ones(3))
        assert torch.allclose(pred.pred_score.sum(), torch.tensor(1.0))
        if fusion == 'mean':
            assert torch.allclose(pred.pred_score,
                                  pred.scale_scores.mean(0), atol=1e-6)
        # Map one box back by hand: input pixels -> original pixels.
        sx, sy = pred.scale_factor
        ox, oy = pred.letterbox_offset
        cx, cy, half = (out['boxes'][0][i] * IN).tolist()
        x1 = max(0.0, (cx - half - ox) / sx)
        y2 = min(float(h), (cy + half - oy) / sy)
        assert boxes[0, 0].item() == pytest.approx(x1, abs=1e-3)
        assert boxes[0, 3].item() == pytest.approx(y2, abs=1e-3)
    # Each scale's box respects the side bounds relative to its parent.
    assert boxes_in_bounds(out['boxes'][0], SIDE_RANGE)
    ratio = out['boxes'][1][:, 2] / out['boxes'][0][:, 2]
    assert torch.all(ratio >= SIDE_RANGE[0] - 1e-5)
    assert torch.all(ratio <= SIDE_RANGE[1] + 1e-5)


def test_train_step_needs_the_two_optim_wrappers():
    from mmengine.optim import OptimWrapper
    model = build()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match='OptimWrapperDict'):
        model.train_step(make_batch(), wrapper)


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match='num_scales'):
        build(num_scales=1)
    with pytest.raises(ValueError, match='fusion'):
        build(fusion='max')
    with pytest.raises(ValueError, match='apn_init_side'):
        build(alternation=dict(apn_init_side=0.9))
    with pytest.raises(ValueError, match='classifier_iters'):
        build(alternation=dict(classifier_iters=-1))


def test_init_weights_reaches_every_scale_s_parts(tmp_path):
    """Each scale's backbone takes its init_cfg (e.g. ImageNet weights),
    and the heads theirs, as in an ImageClassifier."""
    torch.manual_seed(1)
    source = MODELS.build(dict(type='ResNet', depth=18, out_indices=(3, )))
    path = str(tmp_path / 'in1k.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                source.state_dict().items()}), path)
    model = build(
        backbone=dict(type='ResNet', depth=18, out_indices=(3, ),
                      init_cfg=dict(type='Pretrained', checkpoint=path,
                                    prefix='backbone')),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=512,
                  loss=dict(type='CrossEntropyLoss'),
                  init_cfg=dict(type='Constant', layer='Linear', val=0.5)))
    model.init_weights()
    for backbone in model.backbones:
        for key, value in source.state_dict().items():
            torch.testing.assert_close(backbone.state_dict()[key], value,
                                       msg=key)
    for head in model.heads:
        assert torch.all(head.fc.weight == 0.5)
