"""Standard FID features (Inception-v3 pool3, 2048-d), only from weights already on disk.

ganzoo never downloads anything at evaluation time. Weights are looked for, in order:

1. ``$GANZOO_INCEPTION_WEIGHTS``: a file path (either format below);
2. torch hub's cache, ``torch.hub.get_dir()/checkpoints/`` (``$TORCH_HOME/hub/checkpoints``,
   by default ``~/.cache/torch/hub/checkpoints``):
   ``pt_inception-2015-12-05-*.pth`` (pytorch-fid's port of the TF FID graph) first,
   then torchvision's ``inception_v3_google-*.pth``.

Both load into torchvision's ``inception_v3`` architecture (fc replaced by the
identity, so the output is pool3). With pytorch-fid's weights the numbers are
close to, not bit-identical with, TF FID (pytorch-fid patches a few pooling
layers that torchvision's architecture lacks); with torchvision's ImageNet
weights they are a further step away. FIDs are comparable only between runs
scored with the same weights file, which is why its name is reported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ENV = "GANZOO_INCEPTION_WEIGHTS"
PATTERNS = ("pt_inception-2015-12-05-*.pth", "inception_v3_google-*.pth")
SKIP_NOTE = "standard FID skipped: no Inception weights on disk (see docs/zoo.md)"


def find_weights() -> tuple[Path | None, str]:
    """(path, "") when weights are on disk, else (None, a one-line note saying where it looked)."""
    env = os.environ.get(ENV)
    if env:
        path = Path(env).expanduser()
        if path.is_file():
            return path, ""
        return None, f"{SKIP_NOTE[:-1]}; {ENV}={env} does not exist)"
    import torch.hub

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    for pattern in PATTERNS:
        found = sorted(folder.glob(pattern))
        if found:
            return found[-1], ""
    return None, SKIP_NOTE


class InceptionFeatures:
    """Inception-v3 pool3 features of uint8 images of any size and 1 or 3 channels."""

    def __init__(self, path: Path, device: str | torch.device = "cpu"):
        import torch
        from torchvision.models import inception_v3

        state = torch.load(str(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        num_classes = state["fc.weight"].shape[0]  # 1008 for pytorch-fid's weights, 1000 for torchvision's
        aux = any(k.startswith("AuxLogits.") for k in state)
        # Both weight files expect pixels in [-1, 1] directly, hence transform_input=False.
        with torch.random.fork_rng(devices=[]):  # default init draws from the global RNG; leave it untouched
            model = inception_v3(weights=None, num_classes=num_classes, aux_logits=aux, transform_input=False,
                                 init_weights=False)
        model.load_state_dict(state)
        model.fc = torch.nn.Identity()
        self.model = model.eval().to(device)
        self.device = device
        self.path = path

    def __call__(self, images: torch.Tensor, batch: int = 50) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        from ..components.interfaces import to_model_range

        out = []
        with torch.no_grad():
            for i in range(0, len(images), batch):
                x = to_model_range(images[i:i + batch].to(self.device))
                if x.shape[1] == 1:
                    x = x.expand(-1, 3, -1, -1)
                x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
                out.append(self.model(x).double().cpu())
        return torch.cat(out)
