"""The small typed records the registry holds (`ComponentSpec`, `DataInfo`, `MetricKey`, ...). Torch-free.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.base.specs`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .base.specs import (ALL_KINDS, BETTER, ComponentSpec, DataInfo, DatasetEvaluation, KINDS, MetricInfo, MetricKey,
                         NAME_RE, NEEDS, PAIRINGS, Param, PluginInfo, PretrainedSpec, RecipeSpec, SAMPLING_OPTIONS,
                         SCORES, SHARED, SamplingOption, Shared, TAKES, check_name)

__all__ = ["KINDS", "TAKES", "PAIRINGS", "SCORES", "ALL_KINDS", "Shared", "SHARED", "NAME_RE", "check_name",
           "SamplingOption", "SAMPLING_OPTIONS", "PluginInfo", "Param", "DatasetEvaluation", "NEEDS", "BETTER",
           "MetricKey", "MetricInfo", "ComponentSpec", "RecipeSpec", "PretrainedSpec", "DataInfo"]
