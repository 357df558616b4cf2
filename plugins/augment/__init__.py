"""Differentiable augmentation (DiffAugment, Zhao et al. 2020); see `diffaugment`. The gan algorithm's
``augment`` parameter selects it by name: ``--set algo.augment=color,translation,cutout``."""
