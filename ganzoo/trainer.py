"""The training loop: ``Trainer(config).fit()`` -> TrainResult.

One step is ``loss.n_critic`` discriminator updates (each on a fresh real
batch and fresh noise) followed by one generator update (`ganzoo.steps`).
Losses stay on the device; they are read (one sync) only when a metrics line
is due, a grid or checkpoint is written, or training ends. A non-finite loss
is tracked on the device too, so it is reported with its step and term
however late it is read, and no checkpoint is ever written after it.

Setup order keeps the CLI's promises: component names are looked up, the
output folder is checked, the components are built and a resumed checkpoint
is loaded before anything is written to disk. Under torchrun every rank
trains on its own shard and rank 0 alone writes (`ganzoo.distributed`).
"""

from __future__ import annotations

import copy
import signal
import time
from pathlib import Path
from typing import Any

import torch

from . import __version__
from . import checkpoint as ck
from . import distributed as dist
from .batches import make_feeder
from .build import build_dataset, build_discriminator, build_generator, build_loss
from .config import RunConfig, config_toml, finalize, read_run_config
from .device import adam, autocast, configure_backends, describe, noise_generator, resolve_device, use_channels_last
from .errors import GanzooError
from .images import bounds, write_gif
from .lossspec import parse_loss_spec
from .progress import Reporter
from .results import TrainingInterrupted, TrainResult, on_signals
from .rundir import MetricsLog, RunDir, check_target, clear, default_name, read_metrics
from .sampling import fixed_batch, generate, write_picture
from .steps import GANStep, LossTracker
from .trainstate import restore_training, save_training

__all__ = ["Trainer", "TrainResult", "TrainingInterrupted"]


def _component(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "plugin": spec.plugin.name, "dist": spec.plugin.dist, "version": spec.plugin.version}


class Trainer:
    """Train one run config.

    ``resume``: continue the run in ``config.out`` from its latest checkpoint
    (``train.steps``/``epochs`` is then the total). ``overwrite``: replace a
    run already in ``config.out``. ``progress``: auto | bar | plain | quiet.
    """

    def __init__(self, config: RunConfig | dict[str, Any], *, resume: bool = False, overwrite: bool = False,
                 progress: str = "auto", registry: Any = None, handle_signals: bool = True, console: Any = None):
        self.config = config if isinstance(config, RunConfig) else finalize(dict(config))
        self.resume, self.overwrite = resume, overwrite
        self.registry = registry
        self.handle_signals = handle_signals
        self.reporter = Reporter(progress, console)
        self.env = dist.DistEnv()
        self.metrics: MetricsLog | None = None
        self._stop: int | None = None

    @classmethod
    def from_run(cls, run_dir: str | Path, **kwargs: Any) -> "Trainer":
        """Resume ``run_dir`` with its own config."""
        config, _ = read_run_config(Path(run_dir) / "config.toml")
        return cls(config.replace(out=str(run_dir)), resume=True, **kwargs)

    def fit(self) -> TrainResult:
        self.env = dist.from_env()
        self.device = resolve_device(self.config.train["device"], self.env.local_rank if self.env.enabled else None)
        owns_group = self.env.enabled and not torch.distributed.is_initialized()
        self.env = dist.init(self.env, self.device)
        if not self.env.is_main:
            self.reporter.mode = "quiet"
        try:
            self._build()
            if self.resume and self.step >= self.total:
                self.reporter.note(f"{self.run.root} is already at step {self.step} (target {self.total})")
                return self._result(0.0, 0)
            self._open_run_dir()  # the first write to disk
            with on_signals(self._request_stop, self.handle_signals):
                return self._train()
        finally:
            self.reporter.close()
            if self.metrics is not None:
                self.metrics.close()
            if owns_group:
                dist.shutdown(self.env)

    def _request_stop(self, signum: int) -> None:
        self._stop = signum

    # -- setup: nothing here writes to disk ------------------------------------------------------
    def _build(self) -> None:
        from .plugins import get_registry

        cfg, t, env, dev = self.config, self.config.train, self.env, self.device
        reg = self.registry = self.registry or get_registry()
        specs = {"generator": reg.get("generator", cfg.gen["name"]),
                 "discriminator": reg.get("discriminator", cfg.disc["name"]),
                 "dataset": reg.get("dataset", cfg.dataset["name"])}
        terms = parse_loss_spec(cfg.loss["name"], reg)
        self.run = RunDir(dist.broadcast_object(self._run_path(reg) if env.is_main else None, env))
        dist.on_main(env, check_target, self.run.root, resume=self.resume, overwrite=self.overwrite)

        configure_backends(dev)
        torch.manual_seed(t["seed"])
        dataset = build_dataset(cfg.dataset["name"], RunConfig.params(cfg.dataset), reg)
        info = self.info = dataset.info
        G = build_generator(cfg.gen["name"], info, t["latent_dim"], RunConfig.params(cfg.gen), reg)
        D = build_discriminator(cfg.disc["name"], info, RunConfig.params(cfg.disc), reg)
        self.loss = build_loss(cfg.loss["name"], cfg.loss_params, reg)
        self.g_cond = bool(specs["generator"].conditional or getattr(G, "conditional", False))
        self.d_cond = bool(specs["discriminator"].conditional or getattr(D, "conditional", False))

        channels_last = use_channels_last(t["channels_last"], dev, info.is_image, G, D)
        fmt = {"memory_format": torch.channels_last} if channels_last else {}
        self.G, self.D = G.to(dev, **fmt), D.to(dev, **fmt)
        self.ema = copy.deepcopy(G).eval().requires_grad_(False) if t["ema"] > 0 else None
        self.opt_g = adam(G.parameters(), t["lr"], tuple(t["betas"]), dev)
        self.opt_d = adam(D.parameters(), t["lr"], tuple(t["betas"]), dev)
        self.noise = noise_generator(dev, t["seed"] + 1 + 7919 * env.rank)
        self.feed = make_feeder(dataset, cfg.dataset["name"], batch_size=t["batch_size"], n_critic=self.loss.n_critic,
                                seed=t["seed"], rank=env.rank, world=env.world_size, device=dev,
                                channels_last=channels_last, need_labels=self.g_cond or self.d_cond)
        self.total = t["steps"] or t["epochs"] * self.feed.steps_per_epoch
        self.step = 0
        self.meta = {
            "ganzoo_version": __version__, "torch_version": torch.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "recipe": cfg.recipe, "world_size": env.world_size,
            "device": describe(dev), "total_batch_size": t["batch_size"] * env.world_size,
            "steps_per_epoch": self.feed.steps_per_epoch, "n_critic": self.loss.n_critic, "data": info.to_dict(),
            "components": {**{k: _component(s) for k, s in specs.items()},
                           "loss": [{**_component(term.spec), "weight": term.weight} for term in terms]},
        }
        if self.resume:
            self._restore(ck.load(self.run.latest))
        self.step_fn = GANStep(G=G, D=D, loss=self.loss, opt_g=self.opt_g, opt_d=self.opt_d, g_cond=self.g_cond,
                               d_cond=self.d_cond, device=dev, amp=t["amp"], latent_dim=t["latent_dim"],
                               noise=self.noise, ema=self.ema, ema_decay=t["ema"], compile=t["compile"],
                               wrap=lambda m: dist.wrap(m, env, dev), loss_name=cfg.loss["name"])
        self.fixed_z, self.fixed_labels, self.nrow = fixed_batch(G, info, t["latent_dim"], t["seed"], self.g_cond)
        self.real_points = self.feed.real_points()
        self.box = bounds(self.real_points) if self.real_points is not None else None

    def _run_path(self, reg: Any) -> Path:
        """``out``, else runs/<recipe>-<time> (while the recipe's generator is used), else runs/<gen>-<time>."""
        cfg = self.config
        if cfg.out:
            return Path(cfg.out)
        base = cfg.gen["name"]
        if cfg.recipe:
            try:
                if reg.recipe(cfg.recipe).component("gen") in (None, cfg.gen["name"]):
                    base = cfg.recipe
            except GanzooError:
                pass
        return default_name(base)

    def _restore(self, c: ck.Checkpoint) -> None:
        main = self.env.is_main
        self.step = restore_training(c, self.config, G=self.G, D=self.D, ema=self.ema, opt_g=self.opt_g,
                                     opt_d=self.opt_d, feed=self.feed, noise=self.noise if main else None)
        if not main:  # only rank 0's noise state is saved; the others start a fresh stream
            self.noise.manual_seed(self.config.train["seed"] + 1 + 7919 * self.env.rank + 104729 * self.step)
        if c.meta.get("created"):
            self.meta["created"], self.meta["resumed"] = c.meta["created"], self.meta["created"]

    def _open_run_dir(self) -> None:
        if not self.env.is_main:
            return
        if self.overwrite and not self.resume:
            clear(self.run.root)
        self.run.root.mkdir(parents=True, exist_ok=True)
        ck.write_atomic(self.run.config, config_toml(self.config.replace(out=None), self.meta).encode())
        self.metrics = MetricsLog(self.run.metrics)  # opened at its first line
        if self.resume:
            self.metrics.truncate_after(self.step)

    # -- the loop ---------------------------------------------------------------------------------------
    def _train(self) -> TrainResult:
        t, env = self.config.train, self.env
        start = self.step
        self.tracker = LossTracker(self.device, start, self._kept)
        self.ckpt_step: int | None = start if self.resume else None
        self.frames = self.run.grids() if env.is_main else []
        self.last_grid: Path | None = self.frames[-1] if self.frames else None
        self.grid_step = start if self.resume else -1
        self.final: dict[str, Any] = {}
        self.time_offset, self.step_log = self._previous_time(), start
        self._t0 = self.t_log = time.perf_counter()
        self.reporter.start(self.total, start, self._header())
        while self.step < self.total and not dist.any_flag(self._stop or 0, env):
            step = self.step = self.step + 1
            d, g = self.step_fn(self.feed.next, step)
            self.tracker.track(d, g)
            epoch, epoch_done = self.feed.epoch + 1, self.feed.epoch_done
            self.reporter.advance(step, epoch)
            if step % t["log_every"] == 0 or step == self.total:
                self._log(step, epoch)
            every = t["sample_every"]
            if (every and step % every == 0) or (not every and epoch_done):
                self._grid(f"step-{step:06d}.png" if every else f"epoch-{epoch:03d}.png")
            every = t["checkpoint_every"]
            if (every and step % every == 0) or (not every and epoch_done):
                index = step // every if every else epoch
                self._save(keep=bool(t["keep_every"]) and index % t["keep_every"] == 0)
        stopped = dist.any_flag(self._stop or 0, env) or None
        if self.final.get("step") != self.step and self.step > start:
            self._log(self.step, self.feed.epoch + 1)
        if self.grid_step != self.step and not stopped:
            self._grid(f"step-{self.step:06d}.png")
        if self.ckpt_step != self.step:
            self._save(keep=False)
        dist.barrier(env)
        result = self._result(time.perf_counter() - self._t0, self.step - start, stopped)
        if stopped:
            raise TrainingInterrupted(stopped, result)
        return result

    def _previous_time(self) -> float:
        if not (self.resume and self.env.is_main and self.run.metrics.exists()):
            return 0.0
        rows = read_metrics(self.run.metrics)
        return float(rows[-1].get("time", 0.0)) if rows else 0.0

    def _header(self) -> str:
        cfg, t = self.config, self.config.train
        world = f" x {self.env.world_size} processes" if self.env.enabled else ""
        verb = f"resuming at step {self.step}" if self.resume else "training"
        return (f"{verb}: {cfg.gen['name']} / {cfg.disc['name']} with loss {cfg.loss['name']} on "
                f"{cfg.dataset['name']} {tuple(self.info.shape)} -> {self.run.root}\n"
                f"  {self.total} steps ({self.feed.steps_per_epoch}/epoch), batch {t['batch_size']}{world}, "
                f"n_critic {self.loss.n_critic}, {describe(self.device)}"
                + (", bf16 autocast" if t["amp"] and self.device.type == "cuda" else ""))

    def _kept(self) -> str:
        if self.ckpt_step is None:
            return "no checkpoint was written"
        return f"the last good checkpoint {self.run.latest} (step {self.ckpt_step}) is kept"

    def _log(self, step: int, epoch: int) -> None:
        self.tracker.check(self.env)
        now = time.perf_counter()
        images = (step - self.step_log) * self.loss.n_critic * self.config.train["batch_size"] * self.env.world_size
        row: dict[str, Any] = {"step": step, "epoch": epoch, **self.tracker.values(self.env),
                               "images_per_sec": images / max(now - self.t_log, 1e-9),
                               "time": round(self.time_offset + now - self._t0, 3)}
        self.t_log, self.step_log, self.final = now, step, row
        if self.env.is_main:
            self.metrics.write(row)
            self.reporter.log(row)

    def _grid(self, name: str) -> None:
        self.tracker.check(self.env)
        self.grid_step = self.step
        if not self.env.is_main:
            return
        model = self.ema if self.ema is not None else self.G
        with autocast(self.device, self.config.train["amp"]):
            samples = generate(model, self.fixed_z, self.fixed_labels)
        path = write_picture(samples, self.run.samples / name, self.info, self.fixed_labels, self.nrow,
                             real=self.real_points, box=self.box, title=f"step {self.step}")
        self.frames = [f for f in self.frames if f != path] + [path]
        write_gif(self.frames, self.run.gif)
        self.last_grid = path

    def _save(self, keep: bool) -> None:
        self.tracker.check(self.env)  # never write a checkpoint after a non-finite loss
        if self.env.is_main:
            save_training(self.run.latest, G=self.G, D=self.D, ema=self.ema, opt_g=self.opt_g, opt_d=self.opt_d,
                          feed=self.feed, noise=self.noise, step=self.step, config_json=self.config.to_json(),
                          meta=self.meta, keep=self.run.kept(self.step) if keep else None)
        self.ckpt_step = self.step

    def _result(self, wall: float, steps: int, stopped: int | None = None) -> TrainResult:
        images = steps * self.loss.n_critic * self.config.train["batch_size"] * self.env.world_size
        return TrainResult(
            run_dir=self.run.root, step=self.step, epoch=max(self.feed.epoch + 1, 0),
            checkpoint=self.run.latest if self.run.latest.exists() else None,
            last_grid=getattr(self, "last_grid", None), gif=self.run.gif if self.run.gif.exists() else None,
            metrics_path=self.run.metrics, final=dict(getattr(self, "final", {})),
            images_per_sec=images / wall if wall > 0 else 0.0, wall_time=wall,
            interrupted=signal.Signals(stopped).name if stopped else None, world_size=self.env.world_size,
            config=self.config)
