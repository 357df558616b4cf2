"""`ganzoo explore`: a local web page to see and play with every generator (pretrained ones and runs).

Three layers, each testable alone:

- `ganzoo.explore.zoo`: what the page can ask for, as plain Python over the public API (`ganzoo.load`,
  `Trained.draw`, `ganzoo.walk`, `ganzoo.runs.plotting`): grids, walks, translations, curves. It
  holds the loaded generators in memory and decides which files may be served (only runs under the
  chosen folder). No web framework here.
- `ganzoo.explore.server`: a small Starlette app (served by uvicorn) mapping URLs onto the zoo, with the
  limits a server needs (upload size, one generator call at a time, errors as messages).
- ``static/``: the page itself, plain HTML, CSS and JavaScript shipped as package data, no build step and
  nothing fetched from outside (the server's Content-Security-Policy says so to the browser too).

Starlette and uvicorn are the optional extra ``explore`` (``pip install "ganzoo[explore]"``); importing
this package needs neither.
"""

from __future__ import annotations
