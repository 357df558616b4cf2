"""torch.distributed for `ganzoo run` under torchrun: the process group, DDP wrapping, small collectives.

Launched by ``torchrun`` (``WORLD_SIZE`` > 1) the trainer initialises a
process group (NCCL on CUDA, gloo otherwise), wraps G and D in
DistributedDataParallel, gives each rank the slice ``rank::world_size`` of
every epoch's (shared, seeded) permutation, and lets rank 0 alone write the
run folder. Checkpoints hold the unwrapped state dicts, so a run resumes with
any number of processes. With one process every function here is a no-op.

DDP details that matter for GANs:

* ``broadcast_buffers=False``: D runs several forwards (real, fake, a
  gradient penalty's interpolates) before one backward; broadcasting
  BatchNorm buffers in place between them breaks autograd's version checks.
* In the generator step the trainer calls the *unwrapped* D with its
  parameters frozen, so D's reducer never expects gradients there; in the
  discriminator step it calls the unwrapped G under ``no_grad``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import torch
import torch.distributed as dist
from torch import nn

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


@dataclass
class DistEnv:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str | None = None
    _control: dist.ProcessGroup | None = None  # a gloo group for host-side agreement (stop flags) without device syncs

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistEnv:
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistEnv()
    return DistEnv(world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")))


def init(env: DistEnv, device: torch.device) -> DistEnv:
    if not env.enabled or dist.is_initialized():
        if env.enabled and env._control is None:
            env._control = _gloo_group(dist.get_backend())
        return env
    env.backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        if env.backend == "nccl":
            dist.init_process_group(env.backend, device_id=device)
        else:
            dist.init_process_group(env.backend)
    except TypeError:
        dist.init_process_group(env.backend)
    env._control = _gloo_group(env.backend)
    return env


def _gloo_group(backend: str) -> dist.ProcessGroup | None:
    """The default group when it is gloo already, else a new gloo group of every rank."""
    if backend == "gloo":
        return dist.group.WORLD
    group = dist.new_group(backend="gloo")
    assert isinstance(group, dist.ProcessGroup), "every rank is in a group of all ranks"
    return group


def wrap(model: nn.Module, env: DistEnv, device: torch.device) -> nn.Module:
    if not env.enabled or not any(p.requires_grad for p in model.parameters()):
        return model
    ids = [device.index] if device.type == "cuda" and device.index is not None else None
    ddp = nn.parallel.DistributedDataParallel
    # newer torch renames broadcast_buffers=False to forward_sync_buffers=False (it still syncs at init: fine)
    if "forward_sync_buffers" in inspect.signature(ddp.__init__).parameters:
        return ddp(model, device_ids=ids, forward_sync_buffers=False)
    return ddp(model, device_ids=ids, broadcast_buffers=False)


# Any: rank 0's object, whose type the others' placeholder (None, say) does not tell
def broadcast_object(obj: Any, env: DistEnv) -> Any:
    if not env.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, group=env._control)
    return box[0]


def on_main(env: DistEnv, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
    """Run ``fn`` on rank 0 only; a GanzooError it raises is raised on every rank (same line, same exit code).
    Its result on rank 0, None on the others."""
    from ..base.errors import GanzooError

    if not env.enabled:
        return fn(*args, **kwargs)
    error: tuple[str, int] | None = None
    result: R | None = None
    raised: GanzooError | None = None
    if env.is_main:
        try:
            result = fn(*args, **kwargs)
        except GanzooError as exc:
            error = (str(exc), exc.exit_code)
            raised = exc
    error = broadcast_object(error, env)
    if error is not None:
        if raised is not None:
            raise raised
        same = GanzooError(error[0])
        same.exit_code = error[1]
        raise same
    return result


def mean(t: torch.Tensor, env: DistEnv) -> torch.Tensor:
    if not env.enabled:
        return t
    t = t.clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t / env.world_size


#: steps between two checks of the stop flag under DDP: each check is a gloo all-reduce that holds every
#: rank's host thread until all arrive (0.6-1.3 ms on 2 CPU processes, docs/scaling.md), so not every step
STOP_CHECK_EVERY = 10


def any_flag(flag: bool | int, env: DistEnv) -> int:
    """The largest flag over all ranks (host-side, over gloo: no device sync)."""
    if not env.enabled:
        return int(flag)
    t = torch.tensor([int(flag)], dtype=torch.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=env._control)
    return int(t.item())


def gather_object(obj: T, env: DistEnv) -> list[T] | None:
    """Every rank's ``obj`` on rank 0, in rank order (None elsewhere); over gloo, so CPU tensors travel as they are."""
    if not env.enabled:
        return [obj]
    out: list[T] | None = [obj] * env.world_size if env.is_main else None  # placeholders, each replaced
    dist.gather_object(obj, out, dst=0, group=env._control)
    return out


def min_int(value: int, env: DistEnv) -> int:
    if not env.enabled:
        return value
    t = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MIN, group=env._control)
    return int(t.item())


def barrier(env: DistEnv) -> None:
    if env.enabled:
        dist.barrier(group=env._control)


def shutdown(env: DistEnv) -> None:
    if env.enabled and dist.is_initialized():
        try:
            dist.barrier(group=env._control)  # nobody tears down while another rank is still talking
            dist.destroy_process_group()
        except Exception:  # pragma: no cover - best effort at exit
            pass
