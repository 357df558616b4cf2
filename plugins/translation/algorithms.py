"""pix2pix (Isola et al. 2017) and CycleGAN (Zhu et al. 2017) as training algorithms.

Both translate images of domain A (the dataset's inputs) into images of
domain B (its targets). Everything shared with other algorithms (optimizers,
EMA, DDP, checkpoints, resume, logging) is the trainer's; what is here is
what the two methods do differently from noise-in GANs.

The learning rate follows the reference code's schedule: constant for the
first ``decay_from`` of the run, then linearly down to zero (100 + 100
epochs in the papers), set at every step from (step, total) so that a
resumed run follows the same schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import torch
from torch import Tensor, nn

from ganzoo import ema as ema_mod
from ganzoo.algorithm import Algorithm, FeedData, NextBatch, Setup, hyper, update
from ganzoo.device import autocast
from ganzoo.errors import UsageError
from ganzoo.images import save_grid
from ganzoo.interfaces import Dataset, LossInputs, to_model_range
from ganzoo.params import Range
from ganzoo.specs import DataInfo

# how many fixed examples every grid shows, and side by side per row
GRID_EXAMPLES, PER_ROW = 16, 4


def _info(x: Tensor, like: DataInfo) -> DataInfo:
    return DataInfo(tuple(x.shape[1:]), like.num_classes, len(x), "image", like.class_names, like.split)


def linear_decay(step: int, total: int, decay_from: float) -> float:
    """The lr factor at ``step`` of ``total``: 1 until ``decay_from``·total, then linearly to 0 at the end."""
    start = int(decay_from * total)
    if step <= start or total <= start:
        return 1.0
    return max(0.0, 1.0 - (step - start) / (total - start + 1))


class _Schedule:
    def __init__(self, setup: Setup, optimizers: dict[str, tuple[torch.optim.Optimizer, str]], decay_from: float):
        self.config, self.optimizers, self.decay_from = setup.config, optimizers, decay_from

    def apply(self, step: int, total: int) -> None:
        factor = linear_decay(step, total, self.decay_from)
        for opt, side in self.optimizers.values():
            lr, _ = hyper(self.config, "d" if side == "d" else "g")
            for group in opt.param_groups:
                group["lr"] = lr * factor


class _Paired(nn.Module):
    """D looking at (input, image) pairs: what pix2pix's loss terms, penalties included, call as "the"
    discriminator. ``condition`` is the input batch the next call pairs with."""

    def __init__(self, D: Callable[..., Tensor]):
        super().__init__()
        self.D = D
        self.condition: Tensor | None = None

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        assert self.condition is not None
        return self.D(torch.cat([self.condition, x], 1)).reshape(-1)


def _columns(*rows: Tensor) -> Tensor:
    """Interleave equally long batches as columns: a1 b1 c1 a2 b2 c2 ... (grayscale shown as RGB where mixed)."""
    channels = max(r.shape[1] for r in rows)
    rows = tuple(r.expand(-1, channels, -1, -1) if r.shape[1] != channels else r for r in rows)
    return torch.stack(rows, 1).flatten(0, 1)


class Pix2Pix(Algorithm):
    """pix2pix (Isola et al. 2017): paired image-to-image translation with a conditional GAN and L1.

    G translates each input image; D judges (input, image) pairs, so it
    learns whether an output fits its own input. The loss spec's
    adversarial term is the conditional GAN loss, and its ``l1``/``l2``
    terms compare each output with its own paired target: ``bce+100*l1`` is
    the paper's objective (λ = 100). ``--loss l1`` alone (no adversarial
    term, D untrained) is the paper's L1-only ablation. Needs a paired
    dataset (mnist-edges, paired-folder), an image-to-image generator
    (unet) and a discriminator (patchgan). Grids show input | output |
    target for fixed training pairs, translated as `ganzoo sample` does:
    the U-Net's ``test_mode`` ("train": dropout and batch statistics, as
    the paper tests) with the noise drawn from a fixed seed.

    decay_from: fraction of the run after which the learning rate decays linearly to 0 (0.5: the paper's
        100 + 100 epochs).
    """

    def __init__(self, setup: Setup, decay_from: Annotated[float, Range(0, 1)] = 0.5):
        t = setup.config.settings
        self.setup, self.device, self.amp, self.loss = setup, setup.device, t.amp, setup.loss
        pairs = _pairs(setup.dataset)
        self.source, self.target = _info(pairs.a, setup.info), _info(pairs.b, setup.info)
        self.c_in = self.source.shape[0]
        G = setup.generator(data=self.target, source=self.source)
        D = setup.discriminator(DataInfo((self.c_in + self.target.shape[0], *self.target.shape[1:]),
                                         size=self.target.size))
        self.G, self.D = G, D
        self.ema = setup.ema(G)
        self.modules = {"generator": G, "discriminator": D, **({"ema": self.ema} if self.ema is not None else {})}
        self.optimizers = {"opt_g": setup.optimizer(G.parameters(), "g"),
                           "opt_d": setup.optimizer(D.parameters(), "d")}
        self.schedule = _Schedule(setup, {"opt_g": (self.optimizers["opt_g"], "g"),
                                          "opt_d": (self.optimizers["opt_d"], "d")}, decay_from)
        self.adversarial = any(term.spec.role == "adversarial" for term, _ in self.loss.terms)
        self.probabilities = self.loss.scores_are_logits
        self.g_train = setup.compiled(setup.wrap(G))
        d_wrapped = setup.wrap(D)
        self.d_train = _Paired(setup.compiled(d_wrapped))
        # what penalties differentiate twice: never compiled (aot_autograd has no double backward)
        self.d_penalty = _Paired(d_wrapped)
        self.d_plain = _Paired(D)
        self.d_params = [p for p in D.parameters() if p.requires_grad]
        self.blame = {k: s.who for k, s in setup.composition.specs.items()}
        self.loss_name = setup.config.loss["name"]
        n = min(GRID_EXAMPLES, len(pairs.a))
        self.fixed_a, self.fixed_b = to_model_range(pairs.a[:n]), to_model_range(pairs.b[:n])
        self.pairs = pairs

    def feed(self, dataset: Dataset) -> FeedData:
        # input and target travel as one tensor, so every batch keeps its pairs
        x = torch.cat([self.pairs.a, self.pairs.b], 1)
        return FeedData(x, self.pairs.labels, _info(x, self.setup.info))

    def describe(self) -> dict[str, Any]:
        return {"source": self.source.to_dict(), "generators": {"generator": "AtoB"}}

    def step(self, next_batch: NextBatch, step: int, total: int) -> dict[str, Tensor]:
        self.schedule.apply(step, total)
        x, _ = next_batch()
        a, b = x[:, :self.c_in], x[:, self.c_in:]
        values: dict[str, Tensor] = {}
        if self.adversarial:
            with autocast(self.device, self.amp):
                with torch.no_grad():
                    fake = self.G(a)
                self.d_train.condition = self.d_penalty.condition = a
                d_real, d_fake = self.d_train(b), self.d_train(fake)
                inputs = LossInputs(b, fake, d_fake, d_real, None, self.d_penalty, step, generator=self.G,
                                    total=total)
                d_total, d_parts = self.loss.d_loss(inputs)
            update(self.optimizers["opt_d"], d_total, "discriminator", inputs, self.blame, self.loss_name)
            values.update(d_loss=d_total.detach(), d_real=d_real.detach().float().mean(),
                          d_fake=d_fake.detach().float().mean())
            if self.probabilities:
                values.update(d_real_prob=torch.sigmoid(d_real.detach().float()).mean(),
                              d_fake_prob=torch.sigmoid(d_fake.detach().float()).mean())
            values.update({f"d/{k}": v for k, v in d_parts.items()})
        for p in self.d_params:
            p.requires_grad_(False)
        try:
            with autocast(self.device, self.amp):
                fake = self.g_train(a)
                self.d_plain.condition = a
                d_fake = self.d_plain(fake) if self.adversarial else fake.new_zeros(0)
                inputs = LossInputs(b, fake, d_fake, None, None, self.d_plain, step, generator=self.G, total=total)
                g_total, g_parts = self.loss.g_loss(inputs)
            update(self.optimizers["opt_g"], g_total, "generator", inputs, self.blame, self.loss_name)
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        if self.ema is not None:
            ema_mod.update(self.ema, self.G, self.setup.ema_beta(step))  # a half-life with ramp-up, or a fixed decay
        values["g_loss"] = g_total.detach()
        values.update({f"g/{k}": v for k, v in g_parts.items()})
        return values

    @property
    def sampler(self) -> nn.Module:
        return self.ema if self.ema is not None else self.G

    def grid(self, path: Path, step: int) -> Path:
        out = _translate(self.sampler, self.fixed_a, self.device, self.amp)
        return save_grid(_columns(self.fixed_a, out, self.fixed_b), path, 3 * PER_ROW)

    def evaluate(self, num: int, device: torch.device, log: Callable[[str], None] | None) -> dict[str, Any]:
        from .evaluation import evaluate_translation

        held = _heldout(self.setup)
        pairs = _pairs(held)
        n = min(num, len(pairs.a))
        return evaluate_translation(self.sampler, pairs.a[:n], pairs.b[:n],
                                    pairs.labels[:n] if pairs.labels is not None else None,
                                    dataset_name=self.setup.config.dataset["name"],
                                    dataset_params=self.setup.config.params(self.setup.config.dataset),
                                    device=device, log=log, metrics=self.setup.config.settings.metrics)


class _ImagePool:
    """The last ``size`` fakes D saw (Shrivastava et al. 2017, as CycleGAN uses it): each new fake is
    shown as is, or with probability 1/2 swapped for a stored one, which it replaces. Seeded; saved."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.images: Tensor | None = None
        self.count = 0
        self.gen = torch.Generator().manual_seed(seed)

    def query(self, fakes: Tensor) -> Tensor:
        if self.size == 0:
            # detached like the pooled path: D's loss must not reach back into G's graph, which G's update freed
            # (the reference detaches in backward_D_basic, cycle_gan_model.py: netD(fake.detach()))
            return fakes.detach()
        out = []
        for img in fakes.detach():
            if self.images is None:
                self.images = img.new_zeros((self.size, *img.shape))
            if self.count < self.size:
                self.images[self.count] = img
                self.count += 1
                out.append(img)
            elif float(torch.rand((), generator=self.gen)) > 0.5:
                i = int(torch.randint(0, self.size, (), generator=self.gen))
                out.append(self.images[i].clone())
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)

    def state(self, prefix: str) -> dict[str, Tensor]:
        state = {f"{prefix}.rng": self.gen.get_state(), f"{prefix}.count": torch.tensor(self.count)}
        if self.images is not None:
            state[f"{prefix}.images"] = self.images.clone()
        return state

    def load(self, tensors: dict[str, Tensor], prefix: str, device: torch.device) -> None:
        if f"{prefix}.rng" in tensors:
            self.gen.set_state(tensors[f"{prefix}.rng"])
            self.count = int(tensors[f"{prefix}.count"])
        if f"{prefix}.images" in tensors:
            self.images = tensors[f"{prefix}.images"].to(device, copy=True)


class CycleGAN(Algorithm):
    """CycleGAN (Zhu et al. 2017): unpaired translation A <-> B with two generators and cycle consistency.

    G_AB and G_BA (both the run's generator, e.g. resnet-translator) and one
    discriminator per domain (the run's discriminator, e.g. patchgan).
    Each step: both generators are updated on the adversarial term (LSGAN
    in the paper) plus the named terms ``cycle`` (L1 between F(G(a)) and a,
    and G(F(b)) and b; λ = 10) and ``identity`` (L1 between G(b) and b;
    0.5·λ); then each D on real images and on fakes drawn from a pool of
    past fakes. The reference code's G loss is MSE(D(G(a)), 1) + 10·cycle +
    5·identity, and ganzoo's ``lsgan`` G term is half that MSE (the LSGAN
    paper's 1/2), so its weighting is ``lsgan+5*cycle+2.5*identity``
    (0.5× the reference's loss, the same Adam steps); D's loss is the
    reference's, 0.5·(MSE(D(b), 1) + MSE(D(fake), 0)). Needs an unpaired dataset
    (mnist-strokes, unpaired-folder). Grids show a | G_AB(a) | G_BA(G_AB(a))
    and the same from B.

    pool_size: past fakes each D is shown from (50 in the paper; 0: none).
    decay_from: fraction of the run after which the learning rate decays linearly to 0 (0.5: 100 + 100 epochs).
    """

    def __init__(self, setup: Setup, pool_size: Annotated[int, Range(0, 10000)] = 50,
                 decay_from: Annotated[float, Range(0, 1)] = 0.5):
        t = setup.config.settings
        self.setup, self.device, self.amp, self.loss = setup, setup.device, t.amp, setup.loss
        domains = _domains(setup.dataset)
        self.domains = domains
        self.info_a, self.info_b = _info(domains.a, setup.info), _info(domains.b, setup.info)
        self.G = setup.generator(data=self.info_b, source=self.info_a)
        self.F = setup.generator(data=self.info_a, source=self.info_b)
        self.D_B, self.D_A = setup.discriminator(self.info_b), setup.discriminator(self.info_a)
        self.modules = {"generator": self.G, "generator_ba": self.F, "discriminator": self.D_B,
                        "discriminator_a": self.D_A}
        gens = [*self.G.parameters(), *self.F.parameters()]
        discs = [*self.D_B.parameters(), *self.D_A.parameters()]
        self.optimizers = {"opt_g": setup.optimizer(gens, "g"), "opt_d": setup.optimizer(discs, "d")}
        self.schedule = _Schedule(setup, {"opt_g": (self.optimizers["opt_g"], "g"),
                                          "opt_d": (self.optimizers["opt_d"], "d")}, decay_from)
        self.wanted = {name for _, impl in self.loss.terms for name in getattr(impl, "reads_pairs", ())}
        if "identity" in self.wanted and self.info_a.shape[0] != self.info_b.shape[0]:
            raise UsageError(f"loss 'identity' feeds each generator images of its own output domain, but the domains "
                             f"have {self.info_a.shape[0]} and {self.info_b.shape[0]} channels",
                             "drop the identity term")
        # no EMA: its registration leaves "ema" out of supports, so the trainer refuses a run that sets one
        self.g_ab, self.g_ba = setup.compiled(setup.wrap(self.G)), setup.compiled(setup.wrap(self.F))
        self.pen_b, self.pen_a = setup.wrap(self.D_B), setup.wrap(self.D_A)
        self.d_b, self.d_a = setup.compiled(self.pen_b), setup.compiled(self.pen_a)
        self.d_params = [p for p in discs if p.requires_grad]
        self.blame = {k: s.who for k, s in setup.composition.specs.items()}
        self.loss_name = setup.config.loss["name"]
        seed = t.seed + 7919 * setup.env.rank
        self.pool_a, self.pool_b = _ImagePool(pool_size, seed + 1), _ImagePool(pool_size, seed + 2)
        # domain B is drawn at random for each batch of A (the reference code's unaligned loader)
        self.b_all = domains.b.to(setup.device)
        self.b_gen = torch.Generator().manual_seed(seed + 3)
        n = min(GRID_EXAMPLES // 2, len(domains.a), len(domains.b))
        self.fixed_a, self.fixed_b = to_model_range(domains.a[:n]), to_model_range(domains.b[:n])

    def feed(self, dataset: Dataset) -> FeedData:
        return FeedData(self.domains.a, self.domains.labels_a, self.info_a)

    def describe(self) -> dict[str, Any]:
        return {"source": self.info_a.to_dict(), "generators": {"generator": "AtoB", "generator_ba": "BtoA"}}

    def _batch_b(self, n: int) -> Tensor:
        idx = torch.randint(0, len(self.b_all), (n,), generator=self.b_gen).to(self.b_all.device)
        return to_model_range(self.b_all.index_select(0, idx))

    def step(self, next_batch: NextBatch, step: int, total: int) -> dict[str, Tensor]:
        self.schedule.apply(step, total)
        a, _ = next_batch()
        b = self._batch_b(a.shape[0])
        for p in self.d_params:
            p.requires_grad_(False)
        try:
            with autocast(self.device, self.amp):
                fake_b, fake_a = self.g_ab(a), self.g_ba(b)
                pairs_ab: dict[str, tuple[Tensor, Tensor]] = {}
                pairs_ba: dict[str, tuple[Tensor, Tensor]] = {}
                if "cycle" in self.wanted:
                    pairs_ab["cycle"], pairs_ba["cycle"] = (self.g_ba(fake_b), a), (self.g_ab(fake_a), b)
                if "identity" in self.wanted:
                    pairs_ab["identity"], pairs_ba["identity"] = (self.g_ab(b), b), (self.g_ba(a), a)
                ab = LossInputs(b, fake_b, self.d_b(fake_b).reshape(-1), None, None, self.D_B, step,
                                generator=self.G, total=total, pairs=pairs_ab)
                ba = LossInputs(a, fake_a, self.d_a(fake_a).reshape(-1), None, None, self.D_A, step,
                                generator=self.F, total=total, pairs=pairs_ba)
                g_ab, parts_ab = self.loss.g_loss(ab)
                g_ba, parts_ba = self.loss.g_loss(ba)
                g_total = g_ab + g_ba
            update(self.optimizers["opt_g"], g_total, "generator", ab, self.blame, self.loss_name)
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        with autocast(self.device, self.amp):
            pooled_b, pooled_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
            real_b, real_a = self.d_b(b).reshape(-1), self.d_a(a).reshape(-1)
            dab = LossInputs(b, pooled_b, self.d_b(pooled_b).reshape(-1), real_b, None, self.pen_b, step,
                             generator=self.G, total=total)
            dba = LossInputs(a, pooled_a, self.d_a(pooled_a).reshape(-1), real_a, None, self.pen_a, step,
                             generator=self.F, total=total)
            d_b, dparts_b = self.loss.d_loss(dab)
            d_a, dparts_a = self.loss.d_loss(dba)
            d_total = d_a + d_b
        update(self.optimizers["opt_d"], d_total, "discriminator", dab, self.blame, self.loss_name)
        values = {"d_loss": d_total.detach(), "g_loss": g_total.detach(), "d_real": real_b.detach().float().mean(),
                  "d_fake": dab.d_fake.detach().float().mean()}
        for side, parts in (("d", {k: dparts_a[k] + dparts_b[k] for k in dparts_b}),
                            ("g", {k: parts_ab[k] + parts_ba[k] for k in parts_ab})):
            values.update({f"{side}/{k}": v for k, v in parts.items()})
        return values

    def grid(self, path: Path, step: int) -> Path:
        there = _translate(self.G, self.fixed_a, self.device, self.amp)
        back = _translate(self.F, there, self.device, self.amp)
        there_b = _translate(self.F, self.fixed_b, self.device, self.amp)
        back_b = _translate(self.G, there_b, self.device, self.amp)
        images = torch.cat([_columns(self.fixed_a, there, back), _columns(self.fixed_b, there_b, back_b)])
        return save_grid(images, path, 3 * PER_ROW)

    def evaluate(self, num: int, device: torch.device, log: Callable[[str], None] | None) -> dict[str, Any]:
        from .evaluation import evaluate_translation

        held = _domains(_heldout(self.setup))
        n = min(num, len(held.a))
        return evaluate_translation(self.G, held.a[:n], None,
                                    held.labels_a[:n] if held.labels_a is not None else None,
                                    dataset_name=self.setup.config.dataset["name"],
                                    dataset_params=self.setup.config.params(self.setup.config.dataset),
                                    device=device, back=self.F, log=log, metrics=self.setup.config.settings.metrics)

    def state(self) -> dict[str, Tensor]:
        return {**self.pool_a.state("pool_a"), **self.pool_b.state("pool_b"), "b_rng": self.b_gen.get_state()}

    def load_state(self, tensors: dict[str, Tensor]) -> None:
        self.pool_a.load(tensors, "pool_a", self.device)
        self.pool_b.load(tensors, "pool_b", self.device)
        if "b_rng" in tensors:
            self.b_gen.set_state(tensors["b_rng"])


@torch.no_grad()
def _translate(model: nn.Module, x: Tensor, device: torch.device, amp: bool, batch: int = 64) -> Tensor:
    """The grids' translations, in eval mode. Test-time noise (a U-Net's dropout, `UNetGenerator.test_mode`)
    is drawn from a fixed seed, like a noise GAN's fixed z, and never from the training RNG: a grid must
    not change what training draws next."""
    was = model.training
    model.eval()
    try:
        out = []
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(0)
            for i in range(0, len(x), batch):
                with autocast(device, amp):
                    out.append(model(x[i:i + batch].to(device)).float().cpu())
        return torch.cat(out) if out else x[:0]
    finally:
        model.train(was)


def _pairs(dataset: object) -> Any:
    pairs = getattr(dataset, "pairs", None)
    if not callable(pairs):
        raise UsageError(f"{type(dataset).__name__} gives no pairs()", "pix2pix needs a paired dataset")
    return pairs()


def _domains(dataset: object) -> Any:
    domains = getattr(dataset, "domains", None)
    if not callable(domains):
        raise UsageError(f"{type(dataset).__name__} gives no domains()", "cyclegan needs an unpaired dataset")
    return domains()


def _heldout(setup: Setup) -> Dataset:
    from ganzoo.components.build import build_dataset

    cfg = setup.config
    params = {**cfg.params(cfg.dataset), "split": "heldout"}
    return build_dataset(cfg.dataset["name"], params, setup.registry)


__all__ = ["Pix2Pix", "CycleGAN", "linear_decay"]
