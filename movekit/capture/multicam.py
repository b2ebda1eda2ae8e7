"""Two or more cameras captured at once, on one session clock (issue 17).

``capture_cameras([src1, src2, ...], OUT)`` runs one :class:`movekit.capture.pipeline.CaptureRun`
per source, each in its own thread with its own pose model and person follower, all stamping
their frames on one :class:`movekit.capture.clock.SessionClock`. ``OUT`` becomes a *capture set*:
a folder (0700) holding one ordinary recording per camera (``cam1.mkrec``, ``cam2.mkrec``...;
each replays, exports and shows in ``movekit info`` as any recording) and ``capture_set.json``
(0600) naming them, their sources and how their clocks relate. Webcams are stamped on the shared
clock when each frame is grabbed, so their offsets are known (0 s); video files carry their own
container times, to be synchronised at triangulation (``movekit triangulate --sync``).

A camera that fails (no frames, a device error) stops the others and the error is raised after
every recording is closed, so nothing captured so far is lost.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from movekit.capture.clock import SessionClock
from movekit.capture.frames import parse_source
from movekit.capture.inputs import is_camera, recorded_video
from movekit.capture.pipeline import CaptureOptions, CaptureRun, CaptureSummary
from movekit.errors import MovekitError

#: the file that makes a folder a capture set
SET_FILE = "capture_set.json"
SET_FORMAT = "movekit-capture-set"


def is_capture_set(path: str | Path) -> bool:
    """True when ``path`` is a folder made by :func:`capture_cameras`."""
    f = Path(path) / SET_FILE
    try:
        return f.is_file() and json.loads(f.read_text(encoding="utf-8")).get("format") == SET_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_capture_set(path: str | Path) -> dict:
    """The set's description: ``{"cameras": [{"name", "source", "recording"}...], "clock": ...}``,
    with each ``recording`` as an absolute path (MovekitError if ``path`` is not a capture set)."""
    path = Path(path)
    if not is_capture_set(path):
        raise MovekitError(f"{path} is not a multi-camera capture (no {SET_FILE})")
    info = json.loads((path / SET_FILE).read_text(encoding="utf-8"))
    for cam in info["cameras"]:
        cam["recording"] = str(path / cam["recording"])
    return info


def capture_cameras(
    sources: Sequence[str | int | Path],
    out: str | Path,
    options: CaptureOptions | None = None,
    *,
    names: Sequence[str] | None = None,
) -> list[CaptureSummary]:
    """Capture every source at once into the capture set ``out`` (see the module docstring).

    Parameters
    ----------
    sources : two or more webcam indices or video files (a webcam and a video may not be mixed:
        their clocks cannot be related)
    out : folder to create (must not exist, or be empty)
    options : :class:`CaptureOptions` for every camera (``ble`` and ``lsl`` are refused: attach
        devices to a single-camera capture)
    names : camera names (default ``cam1``, ``cam2``...), e.g. the calibration's names

    Returns
    -------
    list of CaptureSummary, one per camera, in the order of ``sources``
    """
    opts = options or CaptureOptions()
    names = list(names or [f"cam{i + 1}" for i in range(len(sources))])
    _check(sources, names, opts)
    out = Path(out)
    from movekit.outputs import make_private_dir, write_output

    clock = SessionClock()
    webcams = is_camera(sources[0])
    runs = [  # every option checked, every source resolved, before anything is created
        CaptureRun(src, out / f"{name}.mkrec", replace(opts, metadata=_meta(opts, name, i, names)), clock=clock)
        for i, (src, name) in enumerate(zip(sources, names))
    ]
    make_private_dir(out, exist_ok=out.is_dir() and not any(out.iterdir()))
    write_output(out / SET_FILE, json.dumps(_description(sources, names, webcams, clock), indent=2))
    return _run_all(runs)


def _check(sources, names, opts: CaptureOptions) -> None:
    if len(sources) < 2:
        raise MovekitError("a multi-camera capture needs two or more sources")
    if len(set(names)) != len(names) or len(names) != len(sources):
        raise MovekitError(f"give one distinct camera name per source (got {list(names)})")
    if len({is_camera(s) for s in sources}) > 1:
        raise MovekitError("capture webcams together or videos together, not both: their clocks cannot be related")
    if not all(is_camera(s) for s in sources) and len({str(Path(str(s)).resolve()) for s in sources}) < len(sources):
        raise MovekitError("the same video is given twice")
    for source in sources:
        if not is_camera(source):
            parse_source(recorded_video(source)[0])  # a missing or unsupported file: its one-line error now
    if opts.ble or opts.lsl is not None:
        raise MovekitError("Bluetooth devices and LSL go with a single-camera capture, not a multi-camera one")


def _meta(opts: CaptureOptions, name: str, index: int, names: list[str]) -> dict:
    return {**(opts.metadata or {}), "camera": {"name": name, "index": index, "set": names}}


def _description(sources, names, webcams: bool, clock: SessionClock) -> dict:
    return {
        "format": SET_FORMAT,
        "cameras": [{"name": n, "source": str(s), "recording": f"{n}.mkrec"} for s, n in zip(sources, names)],
        "clock": (
            "one session clock: webcam frames stamped when grabbed (offsets 0 s)"
            if webcams
            else "each video's container time (synchronise with movekit triangulate --sync)"
        ),
        "started_unix_s": clock.started_unix_s,
    }


def _run_all(runs: list[CaptureRun]) -> list[CaptureSummary]:
    """Each run in its own thread; an interrupt (Ctrl-C, SIGTERM) or a failed camera stops them all."""
    failures: list[BaseException] = []  # in the order they happened: the first is the cause

    def work(i: int) -> None:
        try:
            runs[i].run()
        except BaseException as exc:  # noqa: BLE001 (raised again below, after every camera closed)
            failures.append(exc)
            for other in runs:
                other.request_stop(f"camera {i + 1} failed")

    threads = [threading.Thread(target=work, args=(i,), name=f"movekit-cam{i + 1}") for i in range(len(runs))]
    in_main = threading.current_thread() is threading.main_thread()
    old_term = signal.getsignal(signal.SIGTERM) if in_main else None
    if in_main:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for t in threads:
            t.start()
        _join(threads, runs)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, old_term)
    if failures:
        raise failures[0]
    return [r.summary for r in runs]


def _join(threads: list[threading.Thread], runs: list[CaptureRun]) -> None:
    while any(t.is_alive() for t in threads):
        try:
            for t in threads:
                t.join(timeout=0.2)
        except KeyboardInterrupt:
            for r in runs:
                r.request_stop("interrupt (recording closed cleanly)")


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


__all__ = ["capture_cameras", "is_capture_set", "read_capture_set", "SET_FILE"]
