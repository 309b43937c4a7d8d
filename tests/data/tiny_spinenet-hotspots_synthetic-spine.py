# The tiny spine config with evidence hotspots (K = 2) and their metric.
_base_ = [
    '../../configs/spine/spinenet-hotspots_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py'  # noqa: E501
]

model = dict(
    backbone=dict(widths=(4, 8, 8, 8, 8, 16, 16)),
    hotspot_cfg=dict(num_aug=2))
test_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False)
