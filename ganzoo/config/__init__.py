"""What a run is told, as text and tables: torch-free, and blind to plugins.

The run config (`runconfig`: `RunConfig`, resolved from layers by `resolve`), its layers and their merge
rules (`layers`), the ``[train]`` settings declared once (`settings`), the loss-spec grammar (`lossspec`),
recipe files (`recipes`), the TOML writer (`tomlwriter`) and the checks of the Python API's arguments
(`argcheck`). It imports only `ganzoo.base`; the registry passes recipes in.

This module is the face of `ganzoo.config` that scripts and plugins import (docs/api.md): the names below,
each from the module that defines it.
"""

from .layers import NAMED, TABLES, TOP_LEVEL, check_layer, load_toml, merge, parse_sets, parse_value
from .runconfig import RecipeSource, RunConfig, config_toml, finalize, read_run_config, resolve
from .settings import TRAIN_DEFAULTS
from .tomlwriter import dumps_toml

__all__ = ["RunConfig", "RecipeSource", "TRAIN_DEFAULTS", "TOP_LEVEL", "TABLES", "NAMED", "resolve", "finalize",
           "merge", "parse_sets", "parse_value", "check_layer", "load_toml", "dumps_toml", "config_toml",
           "read_run_config"]
