"""The training loop: ``Trainer(config).fit()`` -> TrainResult.

What one step does is the training algorithm's (`ganzoo.algorithm`; the
default `gan` makes ``loss.n_critic`` discriminator updates, then one
generator update); the loop around it is shared by every algorithm.
Losses stay on the device; they are read (one sync) only when a metrics line
is due, a grid, evaluation or checkpoint is written, or training ends. A
non-finite loss is tracked on the device too, so it is reported with its step
and term however late it is read, and no checkpoint is ever written after it.

Setup order keeps the CLI's promises: component names are looked up, the
output folder is checked, the components are built (`ganzoo.training.assemble`) and a
resumed checkpoint is loaded before anything is written to disk. Under
torchrun every rank trains on its own shard and rank 0 alone writes.

metrics.jsonl gets a loss line every ``train.log_every`` steps and, with
``train.eval_every`` N, an evaluation line every N steps and at the end:
``{"step", "epoch", "eval": {"fd": .., "fd_floor": .., "precision": .., ...},
"feature_space", "eval_seconds"}`` (only these have ``eval``). Rank 0 alone
evaluates; ``images_per_sec`` leaves that time out.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any, TYPE_CHECKING

import torch

from ..base.console import err_console
from ..base.errors import EXIT_HINT, ComponentError, TrainingError
from ..components.device import configure_backends, resolve_device
from ..config.runconfig import RunConfig, finalize
from ..runs import checkpoint as ck
from ..runs.rundir import RunDir, check_out, check_target
from . import distributed as dist
from .algorithm import progress_hooks
from .assemble import assemble, run_path
from .composition import Composition, check_supports, lookup
from .outputs import Outputs
from .progress import Reporter, header
from .results import TrainingInterrupted, TrainResult, on_signals
from .steps import LossTracker
from .trainstate import first_nonfinite, init_generator

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from ..plugin.registry import Registry

__all__ = ["Trainer", "TrainResult", "TrainingInterrupted"]


class Trainer:
    """Train one run config.

    ``resume``: continue the run in ``config.out`` from its latest checkpoint
    (``train.steps``/``epochs`` is then the total). ``overwrite``: replace a
    run already in ``config.out``. ``progress``: auto | bar | plain | quiet.
    ``before_step``: called with the step number before each training step,
    outside any timing of the trainer's own (benchmarks interleave their
    reference loops there). After setup, ``trainer.parts`` holds what was
    built (`ganzoo.training.assemble.Parts`).
    """

    def __init__(self, config: RunConfig | Composition | dict[str, Any], *, resume: bool = False, overwrite: bool = False,
                 progress: str = "auto", registry: Registry | None = None, handle_signals: bool = True,
                 console: Console | None = None,
                 before_step: Callable[[int], None] | None = None):
        # a Composition has its names looked up already (`ganzoo run` does it before importing torch)
        self.composition = config if isinstance(config, Composition) else None
        if isinstance(config, Composition):
            config = config.config
        self.config = config if isinstance(config, RunConfig) else finalize(dict(config))
        self.resume, self.overwrite = resume, overwrite
        self.registry = registry
        self.handle_signals = handle_signals
        self.before_step = before_step
        self.reporter = Reporter(progress, console)
        self.env = dist.DistEnv()
        self.out: Outputs | None = None  # rank 0's writer, from the first write to disk on
        self._stop: int | None = None

    def fit(self) -> TrainResult:
        self.env = dist.from_env()
        self.device = resolve_device(self.config.settings.device, self.env.local_rank if self.env.enabled else None)
        self._check_shared()  # before a process group is joined: a refused DDP run must not wait for its peers
        owns_group = self.env.enabled and not torch.distributed.is_initialized()
        self.env = dist.init(self.env, self.device)
        if not self.env.is_main:
            self.reporter.mode = "quiet"
        try:
            self._build()
            if self.resume and self.step >= self.total:
                self.reporter.note(f"{self.run.root} is already at step {self.step} (target {self.total})")
                return self._result(0.0, 0)
            if self.env.is_main:  # the first write to disk
                self.out = Outputs(self.run, self.config, self.parts).open(
                    resume=self.resume, overwrite=self.overwrite, step=self.step,
                    on_interrupt=lambda: self._request_stop(signal.SIGINT))  # a Ctrl-C inside a logger
            with on_signals(self._request_stop, self.handle_signals):
                return self._train()
        except SystemExit as exc:  # ganzoo never exits from here: a plugin's code did (a model, an algorithm)
            raise self._exited(exc) from exc
        finally:
            self.reporter.close()
            if self.out is not None:
                self.out.close()
            if owns_group:
                dist.shutdown(self.env)

    def _exited(self, exc: SystemExit) -> ComponentError:
        from ..components.build import blame

        spec = blame(exc, self.registry) if self.registry is not None else None
        who = spec.who if spec is not None else "a plugin"
        kept = self._kept() if hasattr(self, "ckpt_step") else "nothing was trained"
        return ComponentError(f"{who} called sys.exit({exc.code!r}) at step {getattr(self, 'step', 0)}; training "
                              f"stopped ({kept})", EXIT_HINT)

    def _request_stop(self, signum: int) -> None:
        self._stop = signum

    def _stopping(self) -> int:
        """The signal any rank got; under DDP asked every `dist.STOP_CHECK_EVERY` steps (a host all-reduce)."""
        if self.env.enabled and self.step % dist.STOP_CHECK_EVERY:
            return 0
        return dist.any_flag(self._stop or 0, self.env)

    # -- setup: nothing here writes to disk ------------------------------------------------------
    def _check_shared(self) -> None:
        """Look the names up, and refuse settings the algorithm does not apply (`check_supports`)."""
        from ..plugin.manager import get_registry

        reg = self.registry = self.registry or get_registry()
        self.composition = self.composition or lookup(self.config, reg)
        check_supports(self.composition.algorithm, self.composition.config.settings, world_size=self.env.world_size,
                       cuda=self.device.type == "cuda")

    def _build(self) -> None:
        from ..plugin.manager import get_registry

        cfg, t, env, dev = self.config, self.config.settings, self.env, self.device
        reg = self.registry = self.registry or get_registry()
        names = self.composition or lookup(cfg, reg)
        cfg = self.config = names.config  # its component parameters checked against their declarations
        check_out(cfg.out)  # before run_path, which reads an empty --out as "no --out"
        self.run = RunDir(dist.broadcast_object(run_path(cfg, reg) if env.is_main else None, env))
        dist.on_main(env, check_target, self.run.root, resume=self.resume, overwrite=self.overwrite)

        configure_backends(dev)
        p = self.parts = assemble(cfg, reg, env, dev, names)
        self.total = t.steps or (t.epochs or 1) * p.feed.steps_per_epoch
        self.step = p.restore(ck.load(self.run.latest), cfg, env) if self.resume else 0
        if t.init is not None and not self.resume:  # a resumed run has its own weights
            from ..runs.pretrained import resolve

            start = ck.load(ck.find(resolve(t.init, reg)))
            p.meta["init"] = init_generator(start, cfg, p.algorithm.modules, t.init)
        self.algorithm = p.algorithm
        self.progress_hooks = progress_hooks(p.algorithm, p.loss)

    # -- the loop ---------------------------------------------------------------------------------------
    def _train(self) -> TrainResult:
        t, env = self.config.settings, self.env
        start = self.step
        self.tracker = LossTracker(self.device, start, self._kept)
        self.ckpt_step: int | None = start if self.resume else None
        self.grid_step = start if self.resume else -1
        self.final: dict[str, Any] = {}
        self.eval_step = start
        self.time_offset = self.out.previous_time if self.out is not None else 0.0
        self.step_log = start
        self._t0 = self.t_log = time.perf_counter()
        self.reporter.start(self.total, start, header(self.config, self.parts, self.run.root, self.total,
                                                      start if self.resume else None, self.env, self.device))
        if env.is_main:  # one line each, whatever the progress mode: they are about the results
            for line in self.parts.warnings:
                err_console.print(line, highlight=False, soft_wrap=True, markup=False)  # a plugin's text
        while self.step < self.total and not self._stopping():
            step = self.step = self.step + 1
            if self.before_step is not None:
                self.before_step(step)
            for hook in self.progress_hooks:
                hook(step, self.total)
            self.tracker.track(self.algorithm.step(self.parts.feed.next, step, self.total))
            for ema in self.parts.setup.kept:  # the EMAs the algorithm asked the trainer to keep (Setup.keep_ema)
                ema.update(step)
            epoch, epoch_done = self.parts.feed.epoch + 1, self.parts.feed.epoch_done
            self.reporter.advance(step, epoch)
            if step % t.log_every == 0 or step == self.total:
                self._log(step, epoch)
            every = t.sample_every
            if (every and step % every == 0) or (not every and epoch_done):
                self._grid(self.run.grid_name(step=step) if every else self.run.grid_name(epoch=epoch))
            if t.eval_every and step % t.eval_every == 0:
                self._evaluate(epoch)
            every = t.checkpoint_every
            if (every and step % every == 0) or (not every and epoch_done):
                index = step // every if every else epoch
                self._save(keep=bool(t.keep_every) and index % t.keep_every == 0)
        stopped = dist.any_flag(self._stop or 0, env) or None
        if self.final.get("step") != self.step and self.step > start:
            self._log(self.step, self.parts.feed.epoch + 1)
        if self.grid_step != self.step and not stopped:
            self._grid(self.run.grid_name(step=self.step))
        if t.eval_every and self.eval_step != self.step and not stopped:
            self._evaluate(self.parts.feed.epoch + 1)
        if self.ckpt_step != self.step:
            self._save(keep=False)
        dist.barrier(env)
        result = self._result(time.perf_counter() - self._t0, self.step - start, stopped)
        if stopped:
            raise TrainingInterrupted(stopped, result)
        return result

    def _kept(self) -> str:
        if self.ckpt_step is None:
            return "no checkpoint was written"
        return f"the last good checkpoint {self.run.latest} (step {self.ckpt_step}) is kept"

    def _log(self, step: int, epoch: int) -> None:
        self.tracker.check(self.env)
        now = time.perf_counter()
        row: dict[str, Any] = {"step": step, "epoch": epoch, **self.tracker.values(self.env),
                               "images_per_sec": self._images(step - self.step_log) / max(now - self.t_log, 1e-9),
                               "time": round(self.time_offset + now - self._t0, 3)}
        self.t_log, self.step_log, self.final = now, step, row
        if self.out is not None:
            self.out.metrics.write(row)
            self.reporter.log(row)

    def _grid(self, name: str) -> None:
        self.tracker.check(self.env)
        self.grid_step = self.step
        if self.out is not None:
            self._refresh()  # the EMA model's own BatchNorm statistics
            self.out.grid(name, self.step)

    def _evaluate(self, epoch: int) -> None:
        self.tracker.check(self.env)  # a collective, so every rank calls it; and a diverged G is not scored
        self.eval_step = self.step
        if self.out is not None:  # nothing collective inside: the other ranks wait in the next all-reduce
            self._refresh()
            self.t_log += self.out.evaluate(self.step, epoch, self.device, self.reporter.note)["eval_seconds"]

    def _save(self, keep: bool) -> None:
        self.tracker.check(self.env)  # never write a checkpoint after a non-finite loss
        p = self.parts  # nor with non-finite weights: the update after a finite loss can blow up (every rank checks)
        bad = first_nonfinite(p.algorithm.modules, p.algorithm.optimizers)
        if bad is not None:
            raise TrainingError(f"the weights became non-finite ({bad}) at step {self.step}; training stopped",
                                self._kept())
        rank_rng = self.parts.rank_rng(self.env)  # a collective: every rank's random streams, onto rank 0
        if self.env.is_main:
            self._refresh()
            self.parts.save(self.run.latest, self.step, self.config, self.run.kept(self.step) if keep else None,
                            rank_rng)
        self.ckpt_step = self.step

    def _refresh(self) -> None:
        """Before the models are sampled, evaluated or saved: the algorithm's own refresh, and the kept EMAs'."""
        self.algorithm.refresh(self.step)
        for ema in self.parts.setup.kept:
            ema.refresh(self.step)

    def _images(self, steps: int) -> int:
        return steps * self.parts.algorithm.batches_per_step * self.config.settings.batch_size * self.env.world_size

    def _result(self, wall: float, steps: int, stopped: int | None = None) -> TrainResult:
        out, run = self.out, self.run
        if out is not None:  # the GIF of all grids, once per run (finished or interrupted)
            out.write_gif()
        busy = wall - (out.eval_seconds if out is not None else 0.0)
        return TrainResult(
            run_dir=run.root, step=self.step, epoch=max(self.parts.feed.epoch + 1, 0),
            checkpoint=run.latest if run.latest.exists() else None, gif=run.gif if run.gif.exists() else None,
            last_grid=out.last_grid if out is not None else None,
            metrics_path=run.metrics, final=dict(getattr(self, "final", {})),
            images_per_sec=self._images(steps) / busy if busy > 0 else 0.0, wall_time=wall,
            interrupted=signal.Signals(stopped).name if stopped else None, world_size=self.env.world_size,
            config=self.config, evaluation=out.last_eval if out is not None else None)
