"""movekit studio: the therapist's screen in the browser, served locally (issue 18).

``movekit studio`` runs one local process: the capture pipeline in a worker thread
(:mod:`movekit.studio.live`), a Starlette app on uvicorn (:mod:`movekit.studio.app`) with a
WebSocket for the live frames, and plain HTML/JS/CSS shipped in this package (no CDN, no build
step). The client's home screens (today's drills from the home program, the drill screen, the
device pairing and the guided MVC step) are :mod:`movekit.studio.client_app` over
:mod:`movekit.studio.home`. It binds 127.0.0.1 unless told otherwise; on any other address every
request must carry a generated access token (:func:`serve` prints the address with it).

Needs the ``studio`` extra (``pip install movekit[studio]``: starlette, uvicorn, websockets).
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

from movekit.errors import MovekitError

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def needs_token(host: str) -> bool:
    """True for any address other than this machine's loopback."""
    return host not in LOCAL_HOSTS


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one); MovekitError when the address is taken or unknown."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise MovekitError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); try --port 0") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def studio_url(host: str, port: int, token: str | None) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    sources: list,
    db: str | Path | None = None,
    recordings_dir: str | Path,
    open_browser: bool = True,
    model_complexity: int = 1,
    camera_fps: float | None = 30.0,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the studio until interrupted (Ctrl-C). ``camera_fps``: most frames/s analysed from a
    camera (0 or None: the camera's own rate; :class:`movekit.capture.frames.FrameSource` ``max_fps``)."""
    try:
        import uvicorn

        from movekit.studio.app import StudioConfig, create_app
    except ImportError as exc:
        raise MovekitError(f"the studio needs its extra: pip install 'movekit[studio]' ({exc.name} missing)") from None
    from movekit.capture.frames import check_max_fps

    camera_fps = check_max_fps(camera_fps)  # a bad rate is refused before anything is created
    token = secrets.token_urlsafe(18) if needs_token(host) else None
    rec_dir = Path(recordings_dir).expanduser()
    rec_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = StudioConfig(Path(db) if db else None, list(sources), rec_dir, token, model_complexity, camera_fps)
    app = create_app(config)
    sock = bind(host, port)
    url = studio_url(host, sock.getsockname()[1], token)
    announce(f"movekit studio: {url}")
    if token:
        announce(f"access token (every device on the network needs it): {token}")
    announce("stop with Ctrl-C")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="on"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["bind", "needs_token", "serve", "studio_url"]
