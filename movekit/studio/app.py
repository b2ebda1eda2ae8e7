"""The studio's web app (Starlette): therapist pages, the live WebSocket, the access check.

Pages are server-rendered (Jinja2 templates in ``templates/``, plain JS and CSS in ``static/``,
all shipped in the package: no CDN, no build step). Clinical work is done by the library: the
clinic store (:mod:`movekit.clinic.store`), the screens (:mod:`movekit.assess`), the outcome scorers
(:mod:`movekit.clinic.outcomes`), the report (:mod:`movekit.report`); this module only moves data
between them and the browser.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from movekit.errors import MovekitError
from movekit.studio.live import STUDIO_CAMERA_FPS, Hub, LiveOptions, LiveScreen

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
TOKEN_COOKIE = "movekit_studio_token"

#: The screens the studio offers (the video screens of movekit.assess.SCREENS), with plain names.
SCREEN_TITLES = {
    "painful-arc": "Shoulder painful arc",
    "hip-hinge": "Hip hinge",
    "balance": "Balance (quiet stance)",
    "single-leg-stance": "Single-leg stance",
    "step-down": "Lateral step-down",
    "sit-to-stand": "Sit-to-stand",
    "tug": "Timed Up and Go",
    "squat": "Deep squat",
    "lumbar-flexion": "Lumbar flexion",
    "posture": "Posture",
}
#: Item counts and answer ranges of the questionnaire forms (movekit.clinic.outcomes scorers).
OUTCOME_FORMS = {
    "nprs": {"items": 1, "lo": 0, "hi": 10},
    "odi": {"items": 10, "lo": 0, "hi": 5},
    "dash": {"items": 30, "lo": 1, "hi": 5},
    "quickdash": {"items": 11, "lo": 1, "hi": 5},
    "psfs": {"items": 5, "lo": 0, "hi": 10},
}


@dataclass
class StudioConfig:
    """How the studio runs: the clinic database, the cameras, where recordings go, the token."""

    db: Path | None
    sources: list
    recordings_dir: Path
    token: str | None = None
    model_complexity: int = 1
    #: most frames/s analysed from a camera (None: its own rate; ``movekit studio --camera-fps``)
    camera_fps: float | None = STUDIO_CAMERA_FPS
    live: LiveScreen | None = None
    hub: Hub = field(default_factory=Hub)
    drill_run: Any = None  #: the client's running drill (movekit.studio.home.DrillRun)
    drill_hub: Hub = field(default_factory=Hub)  #: the drill page's sockets


def _templates():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    return env


class AccessCheck:
    """ASGI middleware: with a token, every request carries it (``?token=`` once, then a cookie);
    without one (loopback only), only loopback host names are served; always: a browser request
    from another site (``Origin`` not this host) is refused, so a web page cannot drive the studio."""

    def __init__(self, app, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        origin, host = headers.get("origin"), headers.get("host", "")
        if origin and origin not in (f"http://{host}", f"https://{host}"):
            return await self._refuse(scope, receive, send, "cross-site request refused")
        if self.token is None:  # this machine only: a page of another site renamed to 127.0.0.1 (DNS
            # rebinding) still sends its own name as Host, so only loopback names are served
            if _host_name(host) not in ("127.0.0.1", "localhost", "[::1]"):
                return await self._refuse(scope, receive, send, "unknown host name")
            return await self.app(scope, receive, send)
        given = parse_qs(scope.get("query_string", b"").decode()).get("token", [None])[0]
        cookie = _cookie(headers.get("cookie", ""), TOKEN_COOKIE)
        if given is not None and hmac.compare_digest(given, self.token):
            return await self.app(scope, receive, _set_cookie(send, self.token))
        if cookie is not None and hmac.compare_digest(cookie, self.token):
            return await self.app(scope, receive, send)
        return await self._refuse(scope, receive, send, "access token required: open the address the studio printed")

    async def _refuse(self, scope, receive, send, text: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await PlainTextResponse(text, status_code=403)(scope, receive, send)


def _host_name(host: str) -> str:
    """``127.0.0.1:8765`` -> ``127.0.0.1``; ``[::1]:8765`` -> ``[::1]``."""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") and "]:" in host else host


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def _set_cookie(send, token: str):
    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
        await send(message)

    return wrapped


async def _form(request: Request) -> dict[str, list[str]]:
    """A urlencoded form body (no python-multipart needed)."""
    return parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)


def _one(form: dict, key: str, default: str = "") -> str:
    return (form.get(key) or [default])[0].strip()


def create_app(config: StudioConfig) -> Starlette:
    """The studio app for ``config`` (see :func:`movekit.studio.serve`): each page module gives its
    own routes (``routes(config, env) -> list``); the live page and its socket are here."""
    from movekit.studio import care, client_app, pages, research

    env = _templates()
    view = pages.Pages(config, env)

    async def on_error(request: Request, exc: MovekitError) -> Response:
        return HTMLResponse(view.render("error.html", message=str(exc), back=request.headers.get("referer")), 400)

    routes = pages.routes(config, env)  # the therapist: clients, sessions, results, report, questionnaires
    routes += care.routes(config, env)  # goals, the session's pain map and treatment log
    routes += _live_routes(config, view)  # the live page, its state and WebSocket
    routes += client_app.routes(config, env)  # the client's home drills, pairing, MVC
    routes += research.routes(config, env)  # the researcher's pages: open, scrub, compare
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(_close, config)

    app = Starlette(routes=routes, exception_handlers={MovekitError: on_error}, lifespan=lifespan)
    app.add_middleware(AccessCheck, token=config.token)
    return app


def _live_routes(config: StudioConfig, view) -> list:
    """``/live`` (the live page), ``/api/state`` (its state as JSON) and ``/ws`` (frames and commands)."""

    async def live(request: Request) -> Response:
        if config.live is None:
            return RedirectResponse("/", 303)
        return HTMLResponse(view.live())

    async def state(request: Request) -> Response:
        body = {**(config.live.state() if config.live is not None else {"phase": "closed"}), **config.hub.stats()}
        if "latencies" in request.query_params:
            body["latencies"] = list(config.hub.latencies)
        return JSONResponse(body)

    return [Route("/live", live), Route("/api/state", state), WebSocketRoute("/ws", _socket(config))]


def _close(config: StudioConfig) -> None:
    from movekit.studio import client_app

    if config.live is not None:
        config.live.close()
    client_app.close(config)


def _socket(config: StudioConfig):
    """The live WebSocket: frames and state out; keys, drawn-acks and commands in."""
    import asyncio

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        hub = config.hub
        hub.loop = asyncio.get_running_loop()
        hub.add(ws)
        live = config.live
        await ws.send_json(live.state() if live is not None else hub.state)
        try:
            while True:
                msg = await ws.receive_json()
                _command(config, msg)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.sockets.discard(ws)

    return endpoint


def _command(config: StudioConfig, msg: dict) -> None:
    live, kind = config.live, msg.get("type") if isinstance(msg, dict) else None
    if kind == "drawn":
        config.hub.drawn(msg)
    elif kind == "view" and all(isinstance(msg.get(k), (int, float)) for k in ("width_px", "height_px")):
        config.hub.set_box(msg["width_px"], msg["height_px"])  # the canvas box: frames are scaled to it
    if live is None:
        return
    if kind == "key" and isinstance(msg.get("key"), str):
        index = msg.get("index")
        live.press(msg["key"], int(index) if isinstance(index, (int, float)) else None)
    elif kind == "record":
        live.record()
    elif kind == "stop":
        live.stop()
    elif kind == "camera" and isinstance(msg.get("index"), int):
        live.switch_camera(msg["index"])
    elif kind == "person" and all(isinstance(msg.get(k), (int, float)) for k in ("x_px", "y_px")):
        live.choose_person(float(msg["x_px"]), float(msg["y_px"]))


def new_live(config: StudioConfig, options: LiveOptions) -> LiveScreen:
    """Close the running live session (one at a time) and start another."""
    if config.live is not None:
        config.live.close()
    config.live = LiveScreen(options, config.hub)
    config.live.start()
    return config.live


__all__ = ["OUTCOME_FORMS", "SCREEN_TITLES", "StudioConfig", "create_app", "new_live"]
