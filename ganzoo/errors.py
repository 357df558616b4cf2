"""The errors a user can cause, each with its exit code, and `plugin_code`, which blames a plugin's failures.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.base.errors`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .base.errors import (CheckpointError, ComponentError, ConfigError, DataError, DuplicateNameError, EXIT_HINT,
                          GanzooError, PLUGIN_FAULTS, ParamError, TrainingError, UnknownNameError, UnsupportedDataError,
                          UsageError, WriteError, describe, plugin_code)

__all__ = ["GanzooError", "UsageError", "UnknownNameError", "ConfigError", "ParamError", "UnsupportedDataError",
           "DataError", "CheckpointError", "ComponentError", "DuplicateNameError", "TrainingError", "WriteError",
           "PLUGIN_FAULTS", "EXIT_HINT", "describe", "plugin_code"]
