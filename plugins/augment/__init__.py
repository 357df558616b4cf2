"""Differentiable augmentation (DiffAugment, Zhao et al. 2020); see `diffaugment`. Not registered yet."""
