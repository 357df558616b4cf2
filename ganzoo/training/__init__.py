"""Training: from a run config to a trained run folder.

`composition` looks every name of a run config up in the registry, `assemble` builds the parts, `trainer`
runs the loop around the algorithm's steps (`algorithm`: the interface and its `Setup`), with `batches`
(feeding real data), `steps` (losses kept on the device), `ema`, `distributed` (torchrun), `trainstate` and
`resumed` (checkpoints written and resumed), `periodic` (evaluation during training), `outputs`, `progress`,
`loggers` and `results` (what a run writes, prints, reports and hands back). It imports `ganzoo.evaluation`
and every layer under it.
"""
