"""Train the infogan-mnist recipe and ship its generator in the package, as a plugin author would.

    PYTHONPATH=<a site where ganzoo-infogan is installed> python tests/infogan_plugin/make_weights.py

Writes ganzoo_infogan/infogan-mnist.safetensors (`ganzoo.pretrained.export`, with the evaluation `ganzoo eval`
measured on it) and its sha256 beside it, which the package registers.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import ganzoo
from ganzoo.pretrained import export

HERE = Path(__file__).resolve().parent / "ganzoo_infogan"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        run = ganzoo.train("infogan-mnist", out=Path(tmp) / "run", progress="plain")
        out = HERE / "infogan-mnist.safetensors"
        metrics = ganzoo.evaluate(run.path, num=2000)
        digest = export(run.path / "checkpoints" / "latest.safetensors", out, name="infogan-mnist", metrics=metrics)
        (HERE / "infogan-mnist.sha256").write_text(digest + "\n")
        print(f"wrote {out} (sha256 {digest}); FD {metrics.get('fd')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
