"""A run's files and what is drawn from them, outside training.

`rundir` (the run folder: its layout, refusing to clobber, metrics.jsonl), `header` and `checkpoint` (the
checkpoint file: its header torch-free, then its tensors), `trained` (a run read back by the algorithm that
trained it), `pretrained` (weights a plugin ships), `sampling`, `walk`, `images` and `plotting` (samples,
latent walks and pictures). It imports `ganzoo.components` and the layers under it.
"""
