# Table 2 of the paper: the same network branching after fc7.
_base_ = ['./spinenet_vggm1024-conv5_1xb256_1000e_spine.py']

model = dict(branch_point='fc7')
