"""What ganzoo knows of plugins without importing them: torch-free, so `ganzoo list`, `ganzoo info` and
`ganzoo --help` start fast.

`hookspecs` (the hooks a plugin implements), `registry` (specs by kind and name, and the register objects a
plugin fills them through), `manager` (entry-point discovery, plugin controls, the registry it fills),
`introspect` and `params` (a factory's docstring and parameters read from source, and checked), `heads` (the
names of a model's outputs). It imports `ganzoo.config` (recipes) and `ganzoo.base`.
"""
