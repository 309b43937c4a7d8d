# The hotspot test config with the attribution chosen per task: the paper's
# gradient blurred in-plane by 3 px for the endplates (the width chosen on
# the validation split of the 1,000-patient set), integrated gradients
# against 0.5 (the vertebral bodies' median after NormalizeDiscIntensity)
# for the marrow tasks, whose bright blobs it singles out. Two batched
# passes per batch instead of one; each task's map is the one a run with
# its settings for every task gives.
#   python tools/test.py THIS_CONFIG CHECKPOINT --data-root ...
_base_ = ['./spinenet-hotspots_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py']

marrow_hotspots = dict(
    attribution='integrated_gradients', baseline=0.5, smooth_sigma=0.0)
model = dict(
    hotspot_cfg=dict(
        smooth_sigma=3.0,
        task_overrides=dict(
            upper_marrow=marrow_hotspots, lower_marrow=marrow_hotspots)))
