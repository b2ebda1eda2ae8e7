"""``movekit studio [--source VIDEO|INDEX ...] [--camera-fps N] [--host H] [--port N] [--no-browser]``.

Starts the local web app (:mod:`movekit.studio`) and opens it in the browser. A video file
given as ``--source`` stands in for a webcam (its frames are released at real-time pace);
``--source`` may be repeated for a choice of cameras. ``--host 0.0.0.0`` serves the clinic
network (a tablet) and then requires the generated access token it prints. ``--camera-fps``
is the most frames per second analysed from a camera (default 30, what this kind of machine
follows; 0: the camera's own rate): a faster camera is asked for it, or thinned evenly.
"""

from __future__ import annotations

from pathlib import Path

from movekit.argtypes import float_range
from movekit.clinic.store import add_db_argument


def _source(text: str) -> str:
    import argparse

    t = text.strip()
    if t.isdigit():
        return t
    if not Path(t).is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is neither a webcam index nor a video file")
    return str(Path(t).resolve())


def _port(text: str) -> int:
    import argparse

    try:
        p = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {text!r} is not a number") from None
    if not 0 <= p <= 65535:
        raise argparse.ArgumentTypeError(f"port {p} is outside 0-65535")
    return p


def default_recordings_dir() -> Path:
    """``recordings`` in the user's movekit data folder (``$MOVEKIT_DATA_DIR`` when set)."""
    import os

    from platformdirs import user_data_dir

    return Path(os.environ.get("MOVEKIT_DATA_DIR") or user_data_dir("movekit")) / "recordings"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "studio",
        help="the therapist's screen in the browser (local web app): clients, setup check, live test, results",
        description="Start movekit studio, a local web app, and open it in the browser.",
    )
    p.add_argument("--source", action="append", type=_source, metavar="VIDEO|INDEX",
                   help="camera: a webcam index or a video file standing in for one (repeat for a choice; default 0)")  # fmt: skip
    p.add_argument("--camera-fps", type=float_range(0, unit="frames/s"), default=30.0, metavar="N",
                   help="analyse at most N frames/s from a camera: a faster one is asked for N or thinned evenly, "
                   "and the recording says so (default 30; 0: the camera's own rate)")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; any other needs the printed token)")  # fmt: skip
    p.add_argument("--port", type=_port, default=8765, help="port (0: a free one; default 8765)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--recordings", metavar="DIR", help=f"where recordings go (default {default_recordings_dir()})")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.studio import serve

    serve(
        host=args.host,
        port=args.port,
        sources=args.source or ["0"],
        db=args.db,
        recordings_dir=args.recordings or default_recordings_dir(),
        open_browser=not args.no_browser,
        camera_fps=args.camera_fps,
        announce=lambda text: print(text, flush=True),
    )
    return 0
