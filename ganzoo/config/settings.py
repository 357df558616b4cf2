"""The ``[train]`` table: every run setting, declared once.

`TrainSettings` is the one declaration. Each field's metadata (a `Setting`)
carries its default, what it accepts, its help text and, where it has one,
its ``ganzoo run`` flag. From it come the run flags and their help
(`ganzoo.cli.commands.run_cmd`), the validation (`TrainSettings.from_table`), the
``[train]`` table written to ``config.toml`` (`TrainSettings.to_table`) and
the table in docs/settings.md (`markdown`; regenerate it with
``python -m ganzoo.config.settings > docs/settings.md``). Torch-free.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypedDict

from ..base.errors import ConfigError
from ..base.specs import NAME_RE

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Unpack

__all__ = ["Setting", "TrainSettings", "SETTINGS", "TRAIN_DEFAULTS", "check_table", "check_device", "markdown"]

# ASCII digits only: `\d` would take other scripts' digits, which torch.device refuses.
_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:[0-9]+)?)")
DEVICES = "auto, cpu, cuda, cuda:N or mps"
_OFF = ("none", "off", "")


@dataclass(frozen=True)
class Setting:
    """What one ``train.*`` key accepts.

    ``kind`` is one of: ``int``, ``float``, ``bool``, ``betas`` (two numbers in
    [0, 1)), ``device``, ``auto-bool`` ("auto", true or false), ``names`` (a list
    of component names; its flag is repeated), ``text`` (a non-empty string). Numbers lie in
    ``[minimum, maximum)``, or ``(minimum, maximum)`` with ``above``.
    """

    default: object
    kind: str
    help: str
    minimum: float | None = None
    maximum: float = math.inf
    above: bool = False  # the minimum itself is refused
    optional: bool = False  # None is accepted (no value)
    flag: str | None = None  # the `ganzoo run` option, e.g. "--batch-size"
    flag_value: object = None  # a switch's value when given ("--no-amp" gives False)
    flag_help: str | None = None  # a switch's own help, when it reads differently from the setting's
    off: bool = False  # none, false, "none", "off" and "" read as 0 (natural spellings of "off" in a file)
    name: str = ""  # filled from the field name

    # -- checking ------------------------------------------------------------------------------
    def check(self, value: object) -> object:
        """The value as a run uses it (ints given for numbers become floats); ConfigError otherwise."""
        if value is None and self.optional:
            return None
        if self.off and (value is None or value is False or (isinstance(value, str) and value.lower() in _OFF)):
            value = 0.0
        ok = _CHECKS[self.kind](self, value)
        if ok is _BAD:
            raise ConfigError(f"train.{self.name} must be {self.accepts}, not {value!r}")
        return ok

    @property
    def accepts(self) -> str:
        """What the key accepts, in words (error messages and docs/settings.md)."""
        if self.kind == "int":
            return f"an integer >= {self.minimum:g}" + (f" and < {self.maximum:.0f}" if self.maximum < math.inf else "")
        if self.kind == "float":
            lo = "(" if self.above else "["
            return f"a number in {lo}{self.minimum:g}, {self.maximum:g})"
        return {"bool": "true or false", "betas": "two numbers in [0, 1)", "device": DEVICES,
                "auto-bool": "\"auto\", true or false", "names": "a list of names",
                "text": "a non-empty string"}[self.kind]

    @property
    def default_text(self) -> str:
        d = self.default
        if d is None:
            return "none"
        if isinstance(d, bool):
            return "true" if d else "false"
        if isinstance(d, (list, tuple)):
            return "[" + ", ".join(x if isinstance(x, str) else f"{x:g}" for x in d) + "]"
        if isinstance(d, float):
            return f"{d:g}"
        return str(d)


_BAD = object()


def _int(s: Setting, v: object) -> object:
    if isinstance(v, bool) or not isinstance(v, int) or (s.minimum is not None and v < s.minimum) or v >= s.maximum:
        return _BAD
    return v


def _float(s: Setting, v: object) -> object:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return _BAD
    lo = s.minimum if s.minimum is not None else -math.inf
    if v < lo or (s.above and v == lo) or v >= s.maximum:
        return _BAD
    return float(v)


def _bool(s: Setting, v: object) -> object:
    return v if isinstance(v, bool) else _BAD


def _betas(s: Setting, v: object) -> object:
    if not (isinstance(v, (list, tuple)) and len(v) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in v)):
        return _BAD
    return tuple(float(b) for b in v)


def _device(s: Setting, v: object) -> object:
    return v if isinstance(v, str) and _DEVICE.fullmatch(v) else _BAD


def _auto_bool(s: Setting, v: object) -> object:
    return v if v == "auto" or isinstance(v, bool) else _BAD


def _names(s: Setting, v: object) -> object:
    if isinstance(v, str):  # --set train.loggers=tensorboard: one name
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(isinstance(n, str) and NAME_RE.match(n) for n in v):
        return _BAD
    return tuple(dict.fromkeys(v))  # each once, in the order given


def _text(s: Setting, v: object) -> object:
    return v if isinstance(v, str) and v.strip() else _BAD


_CHECKS: dict[str, Callable[[Setting, object], object]] = {
    "text": _text, "int": _int, "float": _float, "bool": _bool, "betas": _betas, "device": _device,
    "auto-bool": _auto_bool, "names": _names}


class _Options(TypedDict, total=False):
    """`Setting`'s fields besides default, kind and help."""

    minimum: float | None
    maximum: float
    above: bool
    optional: bool
    flag: str | None
    flag_value: object
    flag_help: str | None
    off: bool


# untyped result: the field default it returns is assigned to fields of every type (int, float, str, tuple, None)
def _setting(default: object, kind: str, help: str, **more: Unpack[_Options]) -> Any:
    return field(default=default, metadata={"setting": Setting(default, kind, help, **more)})


@dataclass(frozen=True)
class TrainSettings:
    """The validated ``[train]`` table of a run (defaults filled, types checked)."""

    epochs: int | None = _setting(None, "int", "Train for N epochs (with --resume: up to N in total). Set epochs "
                                  "or steps, not both; neither: 1 epoch.", minimum=1, optional=True, flag="--epochs")
    steps: int | None = _setting(None, "int", "Train for N generator steps (with --resume: up to N in total).",
                                 minimum=1, optional=True, flag="--steps")
    batch_size: int = _setting(64, "int", "Batch size (per process).", minimum=1, flag="--batch-size")
    lr: float = _setting(2e-4, "float", "Adam learning rate of G (and of D unless lr_d is set).", minimum=0.0,
                         above=True, flag="--lr")
    lr_d: float | None = _setting(None, "float", "D's own learning rate (two time-scale updates, TTUR: Heusel et "
                                  "al. 2017); none: lr.", minimum=0.0, above=True, optional=True, flag="--lr-d")
    betas: tuple[float, float] = _setting((0.5, 0.999), "betas", "Adam's betas of G (and of D unless betas_d is set).")
    betas_d: tuple[float, float] | None = _setting(None, "betas", "D's own Adam betas; none: betas.", optional=True)
    latent_dim: int = _setting(100, "int", "Size of the latent code z.", minimum=1, flag="--latent-dim")
    # below 2**32: seeds derived from it (the EMA's standing statistics: seed * 1_000_003 + step) stay within
    # the 64 bits torch's generators take, and numpy's legacy seeding takes it as it is
    seed: int = _setting(0, "int", "Random seed (weights, noise and data order).", minimum=0, maximum=2**32,
                         flag="--seed")
    device: str = _setting("auto", "device", f"Where to train: {DEVICES}; auto picks CUDA, then MPS, then the CPU.",
                           flag="--device")
    amp: bool = _setting(True, "bool", "bf16 autocast, on CUDA only.", flag="--no-amp", flag_value=False,
                         flag_help="No bf16 autocast on CUDA (sets train.amp=false).")
    # The EMA by half-life (StyleGAN2-ADA, NVlabs/stylegan2-ada-pytorch training/training_loop.py:104-105 and
    # 298-301; its train.py:155-160 sets ema/ramp per config: "auto" mb*10/32 kimg with ramp 0.05, "cifar" 500
    # kimg with 0.05). The fixed decay `ema` stays, as its own form: users' configs and the runs they started
    # (whose config.toml says ema = 0.999) train and resume as before; mapping it onto a half-life would need the
    # batch size, and adding a ramp-up under it would change what those runs compute. A layer that sets one form
    # clears the other from the layers below (ganzoo.config.layers), as steps and epochs do.
    ema: float = _setting(0.0, "float", "Keep an EMA of G's weights with this fixed decay per step (e.g. 0.999), "
                          "sampled from; 0: off. No ramp-up: the random init keeps decay^steps of the average; "
                          "prefer ema_kimg. Set ema or ema_kimg, not both.", minimum=0.0, maximum=1.0, off=True,
                          flag="--ema")
    ema_kimg: float = _setting(0.0, "float", "Keep an EMA of G's weights with a half-life of this many thousand "
                               "images (StyleGAN2-ADA's ema_kimg; all processes' images), sampled from; 0: off.",
                               minimum=0.0, off=True, flag="--ema-kimg")
    ema_rampup: float = _setting(0.05, "float", "With ema_kimg: the half-life is at most this fraction of the "
                                 "images seen so far (StyleGAN2-ADA's ema_rampup), so the average forgets the "
                                 "random init early; 0: no ramp-up. Not applied with init (the EMA starts trained).",
                                 minimum=0.0, off=True)
    sample_every: int = _setting(0, "int", "Write a sample grid every N steps; 0: at each epoch's end.", minimum=0,
                                 flag="--sample-every")
    checkpoint_every: int = _setting(0, "int", "Write a checkpoint every N steps; 0: at each epoch's end.", minimum=0)
    keep_every: int = _setting(0, "int", "Keep every N-th checkpoint as step-NNNNNN.safetensors; 0: the latest only.",
                               minimum=0)
    log_every: int = _setting(50, "int", "Steps between metric lines in metrics.jsonl.", minimum=1)
    eval_every: int = _setting(0, "int", "Evaluate every N steps and at the end (FD, precision/recall, coverage; "
                               "logged to metrics.jsonl); 0: never.", minimum=0, flag="--eval-every")
    # the metrics compare at least 10 generated samples; `ganzoo eval` draws 5000, slow on a CPU
    eval_num: int = _setting(2000, "int", "Samples per train.eval_every evaluation.", minimum=10, flag="--eval-num")
    metrics: tuple[str, ...] = _setting((), "names", "Metrics of the train.eval_every evaluations (see `ganzoo list "
                                        "--kind metric`); none: the default set, what `ganzoo eval` computes "
                                        "(standard FID aside).", flag="--eval-metric",
                                        flag_help="Evaluate with this metric during training (see `ganzoo list "
                                        "--kind metric`); repeat for several. Sets train.metrics.")
    compile: bool = _setting(False, "bool", "torch.compile G and D: made for CUDA. On a CPU it gains little or "
                             "loses, and compiling costs seconds to a minute first: measure before using it "
                             "(docs/benchmarks.md, benchmarks/default_speed.py, times it beside eager).",
                             flag="--compile", flag_value=True)
    channels_last: bool | str = _setting("auto", "auto-bool", "channels_last memory format; auto: for convolutional "
                                         "models on CUDA.")
    loggers: tuple[str, ...] = _setting((), "names", "Experiment trackers to log to as well, on rank 0 (see `ganzoo "
                                        "list --kind logger`; e.g. tensorboard); metrics.jsonl is always written.",
                                        flag="--logger", flag_help="Also log to this experiment tracker (e.g. "
                                        "tensorboard); repeat for several. Sets train.loggers.")

    init: str | None = _setting(None, "text", "Start G (and its EMA) from trained weights: a pretrained recipe's name "
                                "(`ganzoo list --pretrained`), a run folder or a checkpoint of the same generator; D "
                                "and the optimizers start fresh (fine-tuning). Not used on --resume.", optional=True,
                                flag="--init")

    @classmethod
    def from_table(cls, table: Mapping[str, object], where: str = "config") -> TrainSettings:
        """A (partial) ``[train]`` table, checked and completed with the defaults."""
        check_table(table, where)
        # untyped values: each goes to the field of its name, whose type Setting.check (or the default) gave it
        values: dict[str, Any] = {s.name: s.check(table[s.name]) if s.name in table else s.default for s in SETTINGS}
        if values["epochs"] is None and values["steps"] is None:
            values["epochs"] = 1
        return cls(**values)

    def to_table(self) -> dict[str, object]:
        """Every key, as config.toml and checkpoints record it (lists, not tuples)."""
        return {s.name: list(v) if isinstance(v := getattr(self, s.name), tuple) else v for s in SETTINGS}


SETTINGS: tuple[Setting, ...] = tuple(replace(f.metadata["setting"], name=f.name) for f in fields(TrainSettings))
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
TRAIN_DEFAULTS: dict[str, object] = {s.name: list(s.default) if isinstance(s.default, tuple) else s.default
                                  for s in SETTINGS}


def check_table(table: Mapping[str, object], where: str) -> None:
    """Key-level checks of one layer's ``[train]`` table: unknown keys, and epochs with steps.

    Every layer goes through here, so a run config never holds both (a later
    layer's steps clears a lower layer's epochs when they merge, and back).
    """
    for key in table:
        if key not in BY_NAME:
            close = difflib.get_close_matches(key, list(BY_NAME), n=1, cutoff=0.6)
            raise ConfigError(f"{where}: unknown train setting {key!r}",
                              f"did you mean {close[0]}?" if close else f"known: {', '.join(BY_NAME)}")
    if table.get("epochs") is not None and table.get("steps") is not None:
        raise ConfigError(f"{where}: set train.epochs or train.steps, not both",
                          "--epochs N counts passes over the data, --steps N generator steps")
    if all(k in table and BY_NAME[k].check(table[k]) for k in ("ema", "ema_kimg")):
        raise ConfigError(f"{where}: set train.ema or train.ema_kimg, not both",
                          "ema_kimg N: a half-life of N thousand images with ramp-up; ema D: a fixed decay D")


def check_device(value: object, what: str = "train.device") -> str:
    """A device name as every command takes it (``what`` names where it came from); ConfigError otherwise."""
    if not isinstance(value, str) or _device(BY_NAME["device"], value) is _BAD:
        raise ConfigError(f"{what} must be {DEVICES}, not {value!r}")
    return value


def markdown() -> str:
    """docs/settings.md: one row per ``train.*`` key."""
    lines = [
        "# Run settings: the `[train]` table",
        "",
        "<!-- Generated from ganzoo/config/settings.py by `python -m ganzoo.config.settings > docs/settings.md`;",
        "     tests/test_settings.py fails when this file is stale. Do not edit by hand. -->",
        "",
        "Every key of a run's `[train]` table. Set one in a recipe, in a `--config` file, with",
        "`--set train.KEY=VALUE` or, where it has one, with its `ganzoo run` flag. Later layers",
        "win (see `ganzoo.config`). Setting `steps` in one layer clears `epochs` from the layers",
        "below it, and back.",
        "",
        "There is no `[eval]` table: evaluation during a run is `eval_every` and `eval_num` below,",
        "and `ganzoo eval` takes its options as flags. A config that has one is refused with that hint.",
        "",
        "| key | accepts | default | flag | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        accepts = s.accepts + (", or none" if s.optional else "") + (", or \"off\"" if s.off else "")
        flag = f"`{s.flag}`" if s.flag else ""
        lines.append(f"| `{s.name}` | {accepts} | `{s.default_text}` | {flag} | {s.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
