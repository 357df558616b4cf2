"""ganzoo-toy: tiny components for the trainer's tests."""
import os

import torch
from torch import nn

import ganzoo
from ganzoo.algorithm import Algorithm, update
from ganzoo.interfaces import Dataset, Discriminator, Generator, LossInputs, LossTerm
from ganzoo.specs import DataInfo

CALLS = {"d_loss": 0, "g_loss": 0}


class ToyGen(Generator):
    """An MLP generator for any data shape."""
    def __init__(self, data, latent_dim=100, hidden=16):
        super().__init__(data, latent_dim)
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, data.numel))

    def forward(self, z, labels=None):
        x = self.net(z).view(len(z), *self.data.shape)
        return torch.tanh(x) if self.data.is_image else x


class ToyCGen(ToyGen):
    """A conditional MLP generator (label embedding added to z)."""
    def __init__(self, data, latent_dim=100, hidden=16):
        super().__init__(data, latent_dim, hidden)
        self.embed = nn.Embedding(data.num_classes, latent_dim)

    def forward(self, z, labels):
        return super().forward(z + self.embed(labels))


class ToyDisc(Discriminator):
    """An MLP discriminator with a BatchNorm (so buffers are exercised)."""
    def __init__(self, data, hidden=16):
        super().__init__(data)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(data.numel, hidden), nn.BatchNorm1d(hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x, labels=None):
        return self.net(x).view(-1)


class ToyCDisc(ToyDisc):
    """A conditional MLP discriminator (projection)."""
    def __init__(self, data, hidden=16):
        super().__init__(data, hidden)
        self.embed = nn.Embedding(data.num_classes, data.numel)

    def forward(self, x, labels):
        return self.net(x).view(-1) + (x.flatten(1) * self.embed(labels)).sum(1) * 0.01


class ToyBCE(LossTerm):
    """Non-saturating BCE on logits."""
    scores_are_logits = True  # so the trainer logs sigmoid(D) as d_real_prob / d_fake_prob
    def d_loss(self, i):
        CALLS["d_loss"] += 1
        f = nn.functional.binary_cross_entropy_with_logits
        return f(i.d_real, torch.ones_like(i.d_real)) + f(i.d_fake, torch.zeros_like(i.d_fake))

    def g_loss(self, i):
        CALLS["g_loss"] += 1
        return nn.functional.binary_cross_entropy_with_logits(i.d_fake, torch.ones_like(i.d_fake))


class ToyCritic(ToyBCE):
    """BCE asking for five critic steps per generator step."""
    n_critic = 5


class ToyL1(LossTerm):
    """A regularizer: L1 between fake and real, generator side only."""
    def __init__(self, scale=1.0):
        self.scale = scale

    def g_loss(self, i):
        return self.scale * (i.fake - i.real).abs().mean()


class ToyBoom(LossTerm):
    """A regularizer that turns NaN on the discriminator side after step ``after``."""
    def __init__(self, after=3):
        self.after = after

    def d_loss(self, i):
        value = i.d_fake.mean() * 0.0
        return value * float("nan") if i.step > self.after else value


class ToyBlobs(Dataset):
    """Labelled 2-D points around four centres."""
    def __init__(self, n=512, seed=0, root=None):
        g = torch.Generator().manual_seed(seed)
        centres = torch.tensor([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])
        self.y = torch.arange(n) % 4
        self.x = centres[self.y] + 0.1 * torch.randn(n, 2, generator=g)
        self.info = DataInfo((2,), num_classes=4, size=n, modality="points")

    def tensors(self):
        return self.x, self.y


class ToyDigits(Dataset):
    """Tiny 1x8x8 uint8 images in ten classes (``streaming`` to use a DataLoader)."""
    def __init__(self, n=256, size=8, streaming=False, root=None):
        g = torch.Generator().manual_seed(1)
        self.y = torch.arange(n) % 10
        base = torch.randint(0, 256, (10, 1, size, size), generator=g, dtype=torch.uint8)
        self.x = base[self.y]
        self.streaming = streaming
        self.info = DataInfo((1, size, size), num_classes=10, size=n,
                             class_names=tuple(str(i) for i in range(10)))

    def tensors(self):
        return self.x, self.y


class ToyUnlabelled(ToyDigits):
    """ToyDigits without labels."""
    def __init__(self, n=256, size=8, root=None):
        super().__init__(n, size)
        self.info = DataInfo((1, size, size), size=n)

    def tensors(self):
        return self.x, None


class ToyAlternating(Algorithm):
    """A third-party training algorithm: one model update per step, D on odd steps and G on even ones.

    every: how many steps a turn lasts (1: alternate every step).
    """

    def __init__(self, setup, every=1):
        self.setup, self.every, self.loss = setup, every, setup.loss
        self.G, self.D = setup.generator(), setup.discriminator()
        self.modules = {"generator": self.G, "discriminator": self.D}
        self.optimizers = {"opt_g": setup.optimizer(self.G.parameters(), "g"),
                           "opt_d": setup.optimizer(self.D.parameters(), "d")}
        self.latent_dim = setup.settings.latent_dim
        self.fixed = torch.randn(16, self.latent_dim, generator=torch.Generator().manual_seed(0))

    def step(self, next_batch, step, total):
        real, _ = next_batch()
        z = torch.randn(len(real), self.latent_dim, generator=self.setup.noise)
        d_turn = ((step - 1) // self.every) % 2 == 0
        fake = self.G(z)
        inputs = LossInputs(real, fake.detach() if d_turn else fake, self.D(fake.detach() if d_turn else fake),
                            self.D(real), None, self.D, step, generator=self.G, total=total)
        side, opt = ("d_loss", "opt_d") if d_turn else ("g_loss", "opt_g")
        value, parts = getattr(self.loss, side)(inputs)
        update(self.optimizers[opt], value, "discriminator" if d_turn else "generator", inputs, {}, "toy")
        return {side: value.detach(), **{f"{side[0]}/{k}": v for k, v in parts.items()}}

    def grid(self, path, step):
        from ganzoo.sampling import generate, write_picture

        return write_picture(generate(self.G, self.fixed, None), path, self.setup.info, None, 4)


@ganzoo.hookimpl
def ganzoo_register_components(register):
    register.algorithm("toy-alternating", ToyAlternating)
    register.generator("toy-mlp", ToyGen)
    register.discriminator("toy-mlp", ToyDisc)
    register.generator("toy-cmlp", ToyCGen, conditional=True)
    register.discriminator("toy-cmlp", ToyCDisc, conditional=True)
    register.loss("toy-bce", ToyBCE, role="adversarial")
    register.loss("toy-critic", ToyCritic, role="adversarial")
    register.loss("toy-l1", ToyL1, role="regularizer")
    register.loss("toy-boom", ToyBoom, role="regularizer")
    register.dataset("toy-blobs", ToyBlobs)
    register.dataset("toy-digits", ToyDigits)
    register.dataset("toy-unlabelled", ToyUnlabelled)


@ganzoo.hookimpl
def ganzoo_register_recipes(register):
    register.recipe("toy-points", {"gen": {"name": "toy-mlp"}, "loss": {"name": "toy-bce"},
                                   "dataset": {"name": "toy-blobs"},
                                   "train": {"steps": 6, "batch_size": 32, "latent_dim": 4, "log_every": 1,
                                             "device": "cpu"}},
                    doc="Toy MLP GAN on four blobs.")
    # the trained generator a plugin ships for its recipe; here a file a test writes, named by "PATH|SHA256"
    shipped = os.environ.get("GANZOO_TOY_WEIGHTS")
    if shipped:
        path, sha = shipped.rsplit("|", 1)
        register.pretrained("toy-points", path, sha256=sha)
