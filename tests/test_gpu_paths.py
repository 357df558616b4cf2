"""The trainer's GPU-path switches (bf16 autocast, channels_last, torch.compile, fused Adam, no per-step host sync), on a CPU.

CI has no GPU, so these tests check the wiring rather than the speed: that
``train.amp`` / ``--no-amp`` reach the autocast call inside the step, that
channels_last reaches both the weights and the batches, that ``train.compile``
wraps G and D, and that the training loop reads its device-side losses only
when it logs, samples or saves.
"""

from __future__ import annotations

import contextlib
import math
import traceback
import warnings
from collections import Counter

import pytest
import torch
from conftest import tiny
from torch import nn

import ganzoo
from ganzoo.components.device import adam, autocast, use_channels_last
from ganzoo.components.interfaces import Dataset
from ganzoo.base.specs import DataInfo
from ganzoo_plugins.gan.algorithm import GAN as GANStep
from ganzoo.training.trainer import Trainer

CPU, CUDA = torch.device("cpu"), torch.device("cuda")  # building a cuda torch.device needs no GPU

# Grids, checkpoints and evaluation far beyond any run here, so that only the loop,
# its log lines and the end of training (last grid, last checkpoint) remain.
ONLY_LOGS = {"sample_every": 10**6, "checkpoint_every": 10**6, "eval_every": 0}


def trained(config: dict) -> Trainer:
    """The Trainer after fit(), so the step, feeder and models it built can be inspected."""
    trainer = Trainer(config, progress="quiet")
    trainer.fit()
    return trainer


def finite_losses(trainer: Trainer) -> bool:
    row = trainer.final
    return bool(row) and all(math.isfinite(row[k]) for k in ("d_loss", "g_loss"))


def after_d_step(monkeypatch, look) -> None:
    """Call ``look(stats)`` on what every discriminator update returns (loss, parts, D(real), D(fake))."""
    d_step = GANStep.d_step

    def watched(self, *args, **kwargs):
        stats = d_step(self, *args, **kwargs)
        look(stats)
        return stats

    monkeypatch.setattr(GANStep, "d_step", watched)


@pytest.fixture
def compile_calls(monkeypatch):
    """torch.compile replaced by a recorder that returns the module unchanged (the wiring, not inductor)."""
    calls: list[nn.Module] = []

    def record(model, *args, **kwargs):
        calls.append(model)
        return model

    monkeypatch.setattr(torch, "compile", record)
    return calls


@pytest.fixture
def autocast_calls(monkeypatch):
    """The (device, enabled) of every autocast the step enters; the context itself is left as it was."""
    calls: list[tuple[torch.device, bool]] = []

    def record(device, enabled):
        calls.append((device, enabled))
        return autocast(device, enabled)

    monkeypatch.setattr("ganzoo_plugins.gan.algorithm.autocast", record)
    return calls


# -- bf16 autocast --------------------------------------------------------------------------------

def test_autocast_is_bf16_on_cuda():
    with warnings.catch_warnings():
        # Without CUDA, torch builds the object anyway but warns and disables it; its settings still tell.
        warnings.filterwarnings("ignore", message="CUDA is not available")
        ctx = autocast(CUDA, True)
    assert isinstance(ctx, torch.autocast)
    assert ctx.device == "cuda" and ctx.fast_dtype == torch.bfloat16
    if torch.cuda.is_available():
        assert ctx._enabled


@pytest.mark.parametrize("device, enabled", [(CUDA, False), (CPU, True), (CPU, False), (torch.device("mps"), True)])
def test_autocast_is_a_no_op_when_off_or_off_cuda(device, enabled):
    ctx = autocast(device, enabled)
    assert not isinstance(ctx, torch.autocast)
    assert isinstance(ctx, contextlib.nullcontext)


@pytest.mark.parametrize("args, amp, compiled", [
    ([], True, False),                          # amp is on by default
    (["--no-amp"], False, False),
    (["--set", "train.amp=false"], False, False),
    (["--compile"], True, True),
])
def test_run_flags_reach_the_step(toy, monkeypatch, compile_calls, autocast_calls, args, amp, compiled):
    from click.testing import CliRunner

    from ganzoo.cli.commands.run_cmd import run_cmd

    built: list[Trainer] = []

    class Recording(Trainer):  # `ganzoo run` builds its Trainer itself; keep hold of it
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            built.append(self)

    monkeypatch.setattr("ganzoo.training.trainer.Trainer", Recording)
    result = CliRunner().invoke(run_cmd, ["--gen", "toy-mlp", "--loss", "toy-bce", "--dataset", "toy-blobs",
                                          "--steps", "2", "--batch-size", "16", "--latent-dim", "4",
                                          "--device", "cpu", "--out", "run", "-q", *args])
    assert result.exit_code == 0, result.output + "".join(traceback.format_exception(*result.exc_info))
    (trainer,) = built
    assert trainer.config.train["amp"] is amp and trainer.algorithm.amp is amp
    # 2 steps x (1 D update + 1 G update), then the grid drawn at the end, each entering autocast with the run's
    # setting
    assert autocast_calls == [(CPU, amp)] * 5
    assert (trainer.parts.G in compile_calls and trainer.parts.D in compile_calls) is compiled


def test_step_trains_under_bf16_autocast(toy, monkeypatch):
    """The step's amp path end to end, with CPU bf16 autocast standing in for the CUDA one autocast() gives on a GPU."""
    monkeypatch.setattr("ganzoo_plugins.gan.algorithm.autocast", lambda device, enabled:
                        torch.autocast("cpu", dtype=torch.bfloat16) if enabled else contextlib.nullcontext())
    d_real_dtypes = []
    after_d_step(monkeypatch, lambda stats: d_real_dtypes.append(stats[2].dtype))
    trainer = trained(tiny(steps=3, batch_size=16))
    assert d_real_dtypes == [torch.bfloat16] * 3  # autocast really was on for D's forward
    assert finite_losses(trainer)  # and the loss tracker reads bf16 scores


# -- channels_last --------------------------------------------------------------------------------

CONV = nn.Sequential(nn.Conv2d(3, 4, 3))
MLP = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))


@pytest.mark.parametrize("setting, device, image, models, expected", [
    ("auto", CUDA, True, (CONV, MLP), True),   # one conv model is enough
    ("auto", CPU, True, (CONV,), False),
    ("auto", CUDA, True, (MLP, MLP), False),
    ("auto", CUDA, False, (CONV,), False),
    (True, CPU, True, (CONV,), True),          # asked for explicitly: any device
    (True, CUDA, False, (CONV,), False),       # never for points
    (False, CUDA, True, (CONV,), False),
])
def test_use_channels_last(setting, device, image, models, expected):
    assert use_channels_last(setting, device, image, *models) is expected


class RGBBlocks(Dataset):
    """3x28x28 uint8 images. Three channels because with one, channels_last and the default layout coincide."""

    def __init__(self, n: int = 64, root=None):
        self.x = torch.randint(0, 256, (n, 3, 28, 28), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
        self.info = DataInfo((3, 28, 28), size=n)

    def tensors(self):
        return self.x, None


class RGBPlugin:
    @ganzoo.hookimpl
    def ganzoo_register_components(self, register):
        register.dataset("rgb-blocks", RGBBlocks)


def is_channels_last(t: torch.Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


@pytest.mark.parametrize("setting", [True, "auto"])  # auto means no channels_last on a CPU
def test_channels_last_reaches_weights_and_batches(add_plugin, setting):
    registry = add_plugin(RGBPlugin(), "rgb")
    if not registry.has("generator", "dcgan"):
        pytest.skip("built-in dcgan plugin not available")
    trainer = trained({"gen": {"name": "dcgan", "ngf": 4}, "disc": {"name": "dcgan", "ndf": 4},
                       "loss": {"name": "bce"}, "dataset": {"name": "rgb-blocks"}, "out": "run",
                       "train": {"steps": 3, "batch_size": 8, "latent_dim": 8, "device": "cpu", "log_every": 1,
                                 "channels_last": setting, **ONLY_LOGS}})
    expected = setting is True
    assert trainer.parts.channels_last is expected and finite_losses(trainer)
    # after three optimizer steps, so the updates kept the layout too
    weights = [p for model in (trainer.parts.G, trainer.parts.D) for p in model.parameters() if p.dim() == 4]
    assert len(weights) >= 4 and all(is_channels_last(w) is expected for w in weights)
    real, _ = trainer.parts.feed.next()
    assert real.dim() == 4 and is_channels_last(real) is expected


# -- torch.compile --------------------------------------------------------------------------------

@pytest.mark.parametrize("compile", [True, False])
def test_compile_wraps_generator_and_discriminator(toy, compile_calls, compile):
    trainer = trained(tiny(steps=2, batch_size=16, compile=compile))
    wrapped = {id(m) for m in compile_calls}
    assert (id(trainer.parts.G) in wrapped and id(trainer.parts.D) in wrapped) is compile
    assert bool(compile_calls) is compile
    assert trainer.step == 2 and finite_losses(trainer)


def compile_failures() -> tuple[type[Exception], ...]:
    """What torch.compile raises when inductor cannot build a kernel (no C compiler, unsupported platform)."""
    import torch._dynamo.exc as dynamo_exc
    import torch._inductor.exc as inductor_exc

    names = [(dynamo_exc, "BackendCompilerFailed"), (inductor_exc, "InductorError"),
             (inductor_exc, "CppCompileError"), (inductor_exc, "InvalidCxxCompiler")]
    return tuple(getattr(module, name) for module, name in names if hasattr(module, name))


@pytest.fixture(scope="module")
def inductor_works():
    try:
        failures = compile_failures()
    except ImportError as exc:
        pytest.skip(f"torch._inductor is not importable: {exc}")
    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(4))
    except failures as exc:
        pytest.skip(f"inductor cannot compile CPU kernels here: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    finally:
        torch._dynamo.reset()


def test_real_compile_trains_like_eager(toy, inductor_works):
    """A real inductor compile of a tiny MLP GAN trains to the eager losses.

    About 20 s on 2 CPU cores with a cold inductor cache (most of it the first compile), 1 s warm.
    """
    eager = trained({**tiny(steps=2, batch_size=16), "out": "eager"})
    try:
        compiled = trained({**tiny(steps=2, batch_size=16, compile=True), "out": "compiled"})
    finally:
        torch._dynamo.reset()  # no compiled frames left behind for later tests
    assert type(compiled.algorithm.g_train).__name__ == "OptimizedModule"
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert compiled.final[key] == pytest.approx(eager.final[key], rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("loss", ["toy-bce+r1", "wgan-gp"])
def test_real_compile_with_a_gradient_penalty(toy, inductor_works, loss):
    """A penalty differentiates D twice, which aot_autograd cannot: it goes through the uncompiled D.

    Compiled, the run must train to the eager losses (the penalty's own value included).
    """
    cfg = {**tiny(steps=2, batch_size=16), "loss": {"name": loss}}
    eager = trained({**cfg, "out": "eager"})
    try:
        compiled = trained({**cfg, "train": {**cfg["train"], "compile": True}, "out": "compiled"})
    finally:
        torch._dynamo.reset()
    assert type(compiled.algorithm.d_train).__name__ == "OptimizedModule"
    penalty = "d/r1" if "r1" in loss else "d/wgan-gp"
    # inductor reorders float32 reductions: after wgan-gp's 10 critic updates the losses agree to ~3e-4,
    # while a penalty dropped or taken through the wrong D moves them by far more
    for key in ("d_loss", "g_loss", penalty):
        assert compiled.final[key] == pytest.approx(eager.final[key], rel=2e-3, abs=1e-6), key


# -- fused Adam -----------------------------------------------------------------------------------

def test_adam_is_fused_where_torch_has_the_kernel(monkeypatch):
    from torch.optim import optimizer

    weight = nn.Parameter(torch.zeros(3))
    if "cpu" in optimizer._get_fused_kernels_supported_devices():
        assert adam([weight], 1e-3, (0.5, 0.999)).defaults["fused"] is True
    # a device without the kernel (torch would only complain at the first step): plain Adam, which steps
    monkeypatch.setattr(optimizer, "_get_fused_kernels_supported_devices", lambda: ["cuda"])
    plain = adam([weight], 1e-3, (0.5, 0.999))
    assert not plain.defaults["fused"] and plain.defaults["betas"] == (0.5, 0.999)
    weight.grad = torch.ones(3)
    plain.step()
    assert (weight < 0).all()


# -- no host-device sync in the hot loop ----------------------------------------------------------
#
# torch.cuda.set_sync_debug_mode("error") makes a GPU run fail at a synchronising call; on a CPU
# there is no queue to wait for, so it has nothing to catch. A loop syncs when Python asks a device
# tensor for a value, which goes through these methods (an `if loss > x` is __bool__, a
# `float(loss)` is __float__, ...). Counting them while the loop runs finds the same mistakes; it
# also counts reads of CPU-side tensors that would be free on a GPU, which errs on the strict side.

SYNCS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy")
READERS = ("_log", "_grid", "_evaluate", "_save")  # where the trainer means to read: loss line, grid, eval, checkpoint


class SyncCounter:
    """Calls of SYNCS during one training loop, by the READER they happened under ("loop": none)."""

    def __init__(self):
        self.by_place: Counter[str] = Counter()
        self.places = ["loop"]
        self.loop_sites: list[str] = []  # stacks of the loop's own syncs, for the failure message

    @property
    def total(self) -> int:
        return sum(self.by_place.values())

    def _counted(self, name: str, original):
        def method(tensor, *args, **kwargs):
            self.by_place[self.places[-1]] += 1
            if self.places[-1] == "loop":
                self.loop_sites.append(f"Tensor.{name} at\n" + "".join(traceback.format_stack(limit=5)[:-1]))
            return original(tensor, *args, **kwargs)

        return method

    @contextlib.contextmanager
    def active(self):
        """SYNCS counted on torch.Tensor; put back exactly (most are inherited from the C base), however it exits."""
        own = {name: torch.Tensor.__dict__.get(name) for name in SYNCS}
        try:
            for name in SYNCS:
                setattr(torch.Tensor, name, self._counted(name, getattr(torch.Tensor, name)))
            yield self
        finally:
            for name, value in own.items():
                if value is None:
                    delattr(torch.Tensor, name)
                else:
                    setattr(torch.Tensor, name, value)


@pytest.fixture
def count_syncs(monkeypatch):
    """count_syncs(config) -> the SyncCounter of its run: counting is on in Trainer._train only, not in setup."""
    counters: list[SyncCounter] = []
    train = Trainer._train

    def counted_train(self):
        with counters[-1].active():
            return train(self)

    def reader(name: str, method):
        def wrapper(self, *args, **kwargs):
            counters[-1].places.append(name)
            try:
                return method(self, *args, **kwargs)
            finally:
                counters[-1].places.pop()

        return wrapper

    monkeypatch.setattr(Trainer, "_train", counted_train)
    for name in READERS:
        monkeypatch.setattr(Trainer, name, reader(name, getattr(Trainer, name)))

    def run(config: dict) -> SyncCounter:
        counters.append(SyncCounter())
        trained(config)
        return counters[-1]

    return run


def test_the_step_loop_reads_nothing_from_the_device(toy, count_syncs):
    # 512 blobs / 32 per batch = 16 steps an epoch: step 17 starts a new epoch (a fresh permutation)
    counter = count_syncs(tiny(steps=20, log_every=5, **ONLY_LOGS))
    assert counter.by_place["loop"] == 0, "host syncs outside logging:\n" + "\n".join(counter.loop_sites[:3])
    assert counter.by_place["_log"] >= 4  # 4 loss lines: the counter does see the reads that are meant to be there


def test_syncs_grow_with_log_lines_not_with_steps(toy, count_syncs):
    k = 5
    short = count_syncs({**tiny(steps=2 * k, log_every=k, **ONLY_LOGS), "out": "short"})
    long = count_syncs({**tiny(steps=4 * k, log_every=k, **ONLY_LOGS), "out": "long"})
    # 2 more loss lines and 2k = 10 more steps: a handful per line passes, one per step would not
    extra = long.total - short.total
    assert 0 < extra <= 2 * 3, (short.by_place, long.by_place)


def test_the_counter_sees_a_per_step_read(toy, count_syncs, monkeypatch):
    """The instrument itself: a `float(loss)` slipped into every step is found, and where."""

    def read_loss(stats):
        float(stats[0])

    after_d_step(monkeypatch, read_loss)
    counter = count_syncs(tiny(steps=6, log_every=3, **ONLY_LOGS))
    assert counter.by_place["loop"] == 6 and "read_loss" in counter.loop_sites[0]
