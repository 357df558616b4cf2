"""The files `ganzoo new-plugin` writes, as plain string templates.

Placeholders: ``__NAME__`` (the plugin name, e.g. ``acme``), ``__DIST__``
(``ganzoo-acme``), ``__MODULE__`` (``ganzoo_acme``). Nothing else is
substituted, so the templates are ordinary Python/TOML/Markdown otherwise.
"""

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "__DIST__"
version = "0.1.0"
description = "A ganzoo plugin"
readme = "README.md"
# license = "MIT"
requires-python = ">=3.10"
dependencies = ["ganzoo>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The plugin's only link to ganzoo: an entry point in the group "ganzoo".
[project.entry-points.ganzoo]
__NAME__ = "__MODULE__"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

INIT = '''\
"""__DIST__: a ganzoo plugin.

This module is what the entry point loads. It only registers names: the
factories are lazy "module:attr" strings, so `ganzoo list` never imports
torch. Each factory's docstring is its help text in `ganzoo info`.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import MetricKey

GANZOO_PLUGIN_API = 1


@hookimpl
def ganzoo_register_components(register):
    register.loss("__NAME__-smooth-bce", "__MODULE__.losses:SmoothBCELoss", role="adversarial")
    register.generator("__NAME__-mlp", "__MODULE__.models:MLPGenerator")
    register.discriminator("__NAME__-mlp", "__MODULE__.models:MLPDiscriminator")
    register.logger("__NAME__-csv", "__MODULE__.logger:CSVLogger")
    # supports: what of the trainer's the algorithm applies; a run turning on another is refused in one line
    # trained: what reads its runs back for `ganzoo sample`, `ganzoo eval`, `ganzoo.load` and pretrained export
    register.algorithm("__NAME__-alternating", "__MODULE__.algorithm:Alternating", supports=("amp",),
                       trained="__MODULE__.trained:AlternatingRun")
    # a metric: `ganzoo eval RUN --metric __NAME__-spread`; keys say how `ganzoo eval` and `ganzoo plot` show it
    register.metric("__NAME__-spread", "__MODULE__.metric:Spread", needs=("features",), takes=("noise", "image"),
                    keys=(MetricKey("spread", "feature spread", "{:.3f}", floor=True, brief="spread",
                                    hint="the samples' feature variance over the real data's; 1: as varied"),))


@hookimpl
def ganzoo_register_recipes(register):
    register.recipe("__NAME__-gaussians", {
        "gen": {"name": "__NAME__-mlp"},
        "disc": {"name": "__NAME__-mlp"},
        "loss": {"name": "__NAME__-smooth-bce"},
        "dataset": {"name": "gaussians"},
        "train": {"steps": 2000, "batch_size": 256, "lr": 1e-3, "latent_dim": 16},
    }, doc="__NAME__-mlp with one-sided label smoothing on a ring of 8 Gaussians.")
    register.recipe("__NAME__-alternating-gaussians", {
        "algo": {"name": "__NAME__-alternating"},
        "gen": {"name": "__NAME__-mlp"},
        "disc": {"name": "__NAME__-mlp"},
        "loss": {"name": "bce"},
        "dataset": {"name": "gaussians"},
        "train": {"steps": 4000, "batch_size": 256, "lr": 1e-3, "latent_dim": 16},
    }, doc="The same models trained by __NAME__-alternating: one update per step, D and G taking turns.")
'''

ALGORITHM = '''\
"""A training algorithm of __DIST__: `ganzoo run --algo __NAME__-alternating`."""

from __future__ import annotations

import torch

from ganzoo.algorithm import Algorithm, update
from ganzoo.device import autocast
from ganzoo.interfaces import LossInputs


class Alternating(Algorithm):
    """One model update per step: D's turn, then G's.

    every: how many steps a turn lasts (1: alternate every step).
    """

    def __init__(self, setup, every: int = 1):
        self.setup, self.every, self.loss = setup, every, setup.loss
        self.G, self.D = setup.generator(), setup.discriminator()
        # the trainer saves, restores, and places these by name
        self.modules = {"generator": self.G, "discriminator": self.D}
        self.optimizers = {"opt_g": setup.optimizer(self.G.parameters(), "g"),
                           "opt_d": setup.optimizer(self.D.parameters(), "d")}
        self.latent_dim = setup.settings.latent_dim
        self.fixed = torch.randn(64, self.latent_dim, generator=torch.Generator().manual_seed(0)).to(setup.device)

    def step(self, next_batch, step, total):
        real, _ = next_batch()
        # setup.noise is the run's noise stream, which checkpoints keep: a resumed run draws what it would have
        z = torch.randn(len(real), self.latent_dim, generator=self.setup.noise, device=self.setup.noise.device)
        d_turn = ((step - 1) // self.every) % 2 == 0
        side, opt = ("d_loss", "opt_d") if d_turn else ("g_loss", "opt_g")
        with autocast(self.setup.device, self.setup.settings.amp):  # bf16 on CUDA with train.amp
            fake = self.G(z)
            shown = fake.detach() if d_turn else fake
            inputs = LossInputs(real, shown, self.D(shown), self.D(real), None, self.D, step,
                                generator=self.G, total=total)
            value, parts = getattr(self.loss, side)(inputs)
        update(self.optimizers[opt], value, "discriminator" if d_turn else "generator", inputs, {}, "__NAME__")
        return {side: value.detach(), **{f"{side[0]}/{k}": v for k, v in parts.items()}}

    def grid(self, path, step):
        from ganzoo.sampling import generate, write_picture

        return write_picture(generate(self.G, self.fixed, None), path, self.setup.info, None, 8)
'''

TRAINED = '''\
"""How __DIST__'s algorithm reads its runs back: what `ganzoo sample`, `ganzoo eval` and `ganzoo.load` do."""

from __future__ import annotations

from ganzoo.trained import NoiseGenerator, Option


class AlternatingRun(NoiseGenerator):
    """A generator trained by __NAME__-alternating: the default reader (evaluation, export, --walk), plus an
    option of its own, ``spread`` (`ganzoo sample RUN --set spread=0.5`): the scale of the latent codes it
    draws from (1: as it trained; 0: every sample from the origin)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.options += (Option("spread", "scale of the latent codes (1: as it trained)", "float", minimum=0.0),)

    def codes(self, n, seed, chosen):
        return super().codes(n, seed, chosen) * chosen.get("spread", 1.0)
'''

METRIC = '''\
"""A metric of __DIST__: `ganzoo eval RUN --metric __NAME__-spread`."""

from __future__ import annotations

from ganzoo.evaluation.metric import Evaluation, Metric


def _variance(features):
    return float(features.double().var(dim=0).sum())


class Spread(Metric):
    """Feature spread: the samples' total feature variance over the real data's (1: as varied; below: collapsed).

    Floor: train-split images in the samples' place, against the same held-out images.
    """

    def __init__(self):
        super().__init__()

    def __call__(self, ev: Evaluation):
        real = ev.real()  # the real data the samples are compared with, and the floor's stand-ins
        floor = real.once("spread", lambda: _variance(real.stand_in_features()) / _variance(real.features()))
        return {"spread": _variance(ev.compared()) / _variance(real.features()), "spread_floor": floor}
'''

LOSSES = '''\
"""Loss terms of __DIST__."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import LossInputs, LossTerm


class SmoothBCELoss(LossTerm):
    """Non-saturating GAN loss with one-sided label smoothing (Salimans et al. 2016).

    - D: BCE(D(x), smoothing) + BCE(D(G(z)), 0): real targets are ``smoothing``, not 1.
    - G: BCE(D(G(z)), 1).

    smoothing: the target for real samples (1.0 gives plain bce).
    """

    def __init__(self, smoothing: float = 0.9):
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {smoothing}")
        self.smoothing = smoothing

    def d_loss(self, inputs: LossInputs) -> Tensor:
        real, fake = inputs.d_real.float(), inputs.d_fake.float()
        targets = real.new_full(real.shape, self.smoothing)
        return (F.binary_cross_entropy_with_logits(real, targets)
                + F.binary_cross_entropy_with_logits(fake, fake.new_zeros(fake.shape)))

    def g_loss(self, inputs: LossInputs) -> Tensor:
        fake = inputs.d_fake.float()
        return F.binary_cross_entropy_with_logits(fake, fake.new_ones(fake.shape))
'''

MODELS = '''\
"""Generator and discriminator of __DIST__."""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.interfaces import DataInfo, Discriminator, Generator


class MLPGenerator(Generator):
    """A small MLP generator for points and small images.

    latent -> hidden -> hidden -> sample, LeakyReLU between layers, Tanh on
    the output for images (pixels in [-1, 1]), linear for points.

    hidden: width of the hidden layers.
    """

    def __init__(self, data: DataInfo, latent_dim: int = 100, hidden: int = 128):
        super().__init__(data, latent_dim)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, data.numel),
            nn.Tanh() if data.is_image else nn.Identity(),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z).view(-1, *self.data.shape)


class MLPDiscriminator(Discriminator):
    """A small MLP discriminator; returns raw logits of shape (N,), no Sigmoid.

    hidden: width of the hidden layers.
    """

    def __init__(self, data: DataInfo, hidden: int = 128):
        super().__init__(data)
        self.net = nn.Sequential(
            nn.Linear(data.numel, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x.flatten(1)).view(-1)
'''

LOGGER = '''\
"""Experiment tracker of __DIST__: `ganzoo run --logger __NAME__-csv`."""

from __future__ import annotations

import csv
from pathlib import Path

from ganzoo.loggers import Logger


class CSVLogger(Logger):
    """Every metrics line and evaluation as rows of RUN/__NAME__.csv: step, tag, value.

    A template for a real tracker (Weights & Biases, MLflow, ...): open the
    connection in start(), send in scalars(), image() and evaluation(), finish
    in close(). Each runs on rank 0 only and should return quickly.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "__NAME__.csv"

    def start(self, config: dict, meta: dict) -> None:
        self.file = open(self.path, "a", newline="", encoding="utf-8")
        self.rows = csv.writer(self.file)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.rows.writerows((step, tag, value) for tag, value in values.items())

    def evaluation(self, step: int, values: dict[str, float]) -> None:
        self.rows.writerows((step, f"eval/{tag}", value) for tag, value in values.items())

    def close(self, status: str) -> None:
        self.file.close()
'''

TEST = '''\
"""Tests of __DIST__: run them with the plugin installed (pip install -e . && python -m pytest)."""

import torch

from ganzoo.testing import check_component, parametrize_components

DIST = "__DIST__"


@parametrize_components(dist=DIST)
def test_conformance(kind, name):
    """Every component and recipe of this distribution passes ganzoo's conformance suite."""
    check_component(kind, name)


def test_a_run_samples_with_its_own_option(tmp_path):
    import ganzoo

    run = ganzoo.train("__NAME__-alternating-gaussians", steps=20, out=tmp_path / "run", progress="quiet")
    loaded = ganzoo.load(run.path)
    origin = loaded.sample(5, spread=0.0)  # every code is the origin: five copies of one point
    assert torch.equal(origin, origin[:1].expand(5, -1)) and not torch.equal(*loaded.sample(2).unbind())


def test_smoothing_lowers_the_real_target():
    from ganzoo.interfaces import LossInputs
    from __MODULE__.losses import SmoothBCELoss

    scores = torch.zeros(4)
    inputs = LossInputs(real=torch.zeros(4, 2), fake=torch.zeros(4, 2), d_fake=scores, d_real=scores,
                        labels=None, discriminator=torch.nn.Identity())
    # at logit 0 the BCE is log 2 whatever the target, so both settings agree there
    assert torch.isclose(SmoothBCELoss(0.9).d_loss(inputs), SmoothBCELoss(1.0).d_loss(inputs))
    inputs.d_real = torch.full((4,), 5.0)
    assert SmoothBCELoss(0.9).d_loss(inputs) > SmoothBCELoss(1.0).d_loss(inputs)
'''

README = '''\
# __DIST__

A [ganzoo](https://pypi.org/project/ganzoo/) plugin. It adds:

| kind | name |
| --- | --- |
| loss (adversarial) | `__NAME__-smooth-bce` |
| generator / discriminator | `__NAME__-mlp` |
| logger | `__NAME__-csv` (`ganzoo run --logger __NAME__-csv`) |
| algorithm | `__NAME__-alternating` (`ganzoo run --algo __NAME__-alternating`; `ganzoo sample RUN --set spread=0.5`) |
| metric | `__NAME__-spread` (`ganzoo eval RUN --metric __NAME__-spread`) |
| recipe | `__NAME__-gaussians`, `__NAME__-alternating-gaussians` |

```bash
pip install -e ".[test]"
ganzoo list                                   # the components above, from __DIST__ 0.1.0
ganzoo run __NAME__-gaussians --steps 500
ganzoo run --gen dcgan --loss __NAME__-smooth-bce   # mix with the zoo's own components
python -m pytest                              # ganzoo's conformance suite + your tests
```

`src/__MODULE__/__init__.py` registers the components (keep it free of
torch imports); the entry point in `pyproject.toml` is the plugin's only
link to ganzoo. See ganzoo's docs/plugins.md for the full guide.

Publish: `python -m build && python -m twine upload dist/*`.
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "src/__MODULE__/__init__.py": INIT,
    "src/__MODULE__/losses.py": LOSSES,
    "src/__MODULE__/models.py": MODELS,
    "src/__MODULE__/logger.py": LOGGER,
    "src/__MODULE__/algorithm.py": ALGORITHM,
    "src/__MODULE__/trained.py": TRAINED,
    "src/__MODULE__/metric.py": METRIC,
    "tests/test___MODULE__.py": TEST,
}
