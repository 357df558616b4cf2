"""The Starlette app of `ganzoo explore`: URLs onto `ganzoo.explore.zoo.Zoo`, and uvicorn to serve it.

Why Starlette and uvicorn rather than Gradio: the page needs a handful of JSON and image endpoints and one
static page; Starlette is a small, well-kept ASGI toolkit (two small dependencies) with a test client,
uvicorn its usual server. Gradio would bring a large tree of dependencies, a front-end build and, unless
configured off, analytics and fonts fetched from outside; this page must work offline.

Safe by default: the command binds 127.0.0.1; only the page's own files (`StaticFiles`, which refuses
paths out of its folder) and pictures generated here are served, the only path taken from a request is
judged by `Zoo.run_folder`; uploads are bounded (`MAX_UPLOAD`) before they are read; any error is a JSON
``{"error": one line}``: a user's mistake with status 400, a failing generator with 500 and its one-line
description (the traceback goes to the server's terminal, never to the page), and the server keeps serving.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..base.errors import GanzooError, UsageError
from .zoo import MAX_UPLOAD, Zoo

STATIC = Path(__file__).parent / "static"
#: the browser is told the page loads nothing from anywhere but this server (no CDN, font or analytics)
CSP = ("default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
       "connect-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
#: hosts a loopback server answers to: a web page elsewhere cannot reach it through a name it controls
#: (DNS rebinding), since the browser sends that name
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store", **(extra or {})}


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_headers())


_N = TypeVar("_N", int, float)


def _query(request: Request, name: str, kind: type[_N], words: str, default: _N | None = None) -> _N | None:
    """Query parameter ``name`` as ``kind`` (int or float), ``default`` when absent; one UsageError line when not."""
    value = request.query_params.get(name, "")
    if value == "":
        return default
    try:
        return kind(value)
    except ValueError:
        raise UsageError(f"{name} must be {words}, not {value[:40]!r}") from None


def _int(request: Request, name: str, default: int | None = None) -> int | None:
    return _query(request, name, int, "a whole number", default)


def _float(request: Request, name: str) -> float | None:
    return _query(request, name, float, "a number")


def create_app(zoo: Zoo, allowed_hosts: list[str] | None = None, log: Callable[[str], None] | None = None) -> Starlette:
    """The page and its endpoints over ``zoo``. ``allowed_hosts``: the Host headers answered (None: any);
    ``log``: where a generator's traceback goes (default: stderr)."""

    def report(exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        (log or (lambda s: print(s, file=sys.stderr)))(f"ganzoo explore: a request failed:\n{text}")

    async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn`` in a worker thread (the event loop keeps serving), one call at a time (`Zoo.lock`)."""
        def locked() -> Any:
            with zoo.lock:
                return fn(*args, **kwargs)

        return await run_in_threadpool(locked)

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except UsageError as exc:  # a user's mistake: a bad value, a path refused, a picture unreadable
                return _error(str(exc), 400)
            except GanzooError as exc:  # a component failing, said in ganzoo's one line; the details to the terminal
                report(exc)
                return _error(str(exc), 500)
            except Exception as exc:  # a generator or plugin failing: one line for the page, the rest to the terminal
                report(exc)
                name = type(exc).__name__
                first = (str(exc).strip().splitlines() or [""])[0][:300]
                return _error(f"the generator failed: {name}: {first}" if first else f"the generator failed: {name}",
                              500)

        return endpoint

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_headers())

    async def generators(request: Request) -> Response:
        entries = await call(zoo.entries)
        return JSONResponse({"generators": [e.to_json() for e in entries], "runs": str(zoo.runs)},
                            headers=_headers())

    async def describe(request: Request) -> Response:
        return JSONResponse(await call(zoo.describe, request.query_params.get("id", "")), headers=_headers())

    def picture(data: bytes, media: str = "image/png", extra: dict[str, str] | None = None) -> Response:
        return Response(data, media_type=media, headers=_headers(extra))

    async def grid(request: Request) -> Response:
        q = request.query_params
        seed = _int(request, "seed", 0)
        data = await call(zoo.grid, q.get("id", ""), seed, _int(request, "label"), _float(request, "truncation"))
        return picture(data, extra={"X-Seed": str(seed)})

    async def walk(request: Request) -> Response:
        q = request.query_params
        fmt = q.get("format", "gif").upper()
        data = await call(zoo.walk, q.get("id", ""), _int(request, "a", 0), _int(request, "b", 1),
                          _int(request, "frames", 24), _int(request, "label"), _float(request, "truncation"), fmt)
        return picture(data, "image/webp" if fmt == "WEBP" else "image/gif")

    async def translate(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_UPLOAD:  # refused before a byte of it is read
            return _error(f"the picture is {int(declared) / 1e6:.1f} MB; at most {MAX_UPLOAD // 2**20} MiB is read",
                          413)
        body = bytearray()
        async for chunk in request.stream():  # counted as it comes: a missing or false length does not get past
            body += chunk
            if len(body) > MAX_UPLOAD:
                return _error(f"the picture is over {MAX_UPLOAD // 2**20} MiB; at most that is read", 413)
        q = request.query_params
        data = await call(zoo.translate, q.get("id", ""), bytes(body), q.get("direction") or None,
                          _int(request, "seed", 0))
        return picture(data)

    async def curves(request: Request) -> Response:
        return picture(await call(zoo.curves, request.query_params.get("id", "")))

    async def evaluation(request: Request) -> Response:
        return JSONResponse(await call(zoo.evaluation, request.query_params.get("id", "")), headers=_headers())

    routes = [
        Route("/", index),
        Route("/api/generators", guarded(generators)),
        Route("/api/describe", guarded(describe)),
        Route("/api/grid", guarded(grid)),
        Route("/api/walk", guarded(walk)),
        Route("/api/translate", guarded(translate), methods=["POST"]),
        Route("/api/curves", guarded(curves)),
        Route("/api/evaluation", guarded(evaluation)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    return Starlette(routes=routes, middleware=middleware)


def serve(zoo: Zoo, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve the page until Ctrl-C; ``on_ready(url)`` once the socket listens (so a browser opened then finds it)."""
    import socket

    import uvicorn

    loopback = host in ("127.0.0.1", "localhost", "::1")
    app = create_app(zoo, LOOPBACK_HOSTS if loopback else None)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         "choose another --port (0: any free one)") from None
    sock.listen(128)  # connections made from now on wait in the queue until uvicorn accepts them
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    on_ready(url)
    server.run(sockets=[sock])
