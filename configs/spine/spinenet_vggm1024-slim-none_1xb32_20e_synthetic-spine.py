# The spine demo with six separate networks, one per task (Table 2's
# "None"), for the comparison with the shared conv5 trunk.
_base_ = ['./spinenet_vggm1024-slim-conv5_1xb32_20e_synthetic-spine.py']

model = dict(branch_point=None)
