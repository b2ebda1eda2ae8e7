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

With a calibration (``calibration=``, extrinsics known) the cameras follow the same person: the
client is chosen in the first camera's first frame (``options.person``, default the largest), the
people in every other camera's first frame are found (:meth:`MediaPipePose.find_people`) and the
one whose skeleton is consistent with the client's in the calibration's geometry
(:func:`movekit.analysis.association.associate`) is the one that camera follows (its follower is
given that person's torso centre as an ``X,Y`` choice). No consistent person, or two, in a
camera: a :class:`MovekitError` before anything is created. Each camera's recording stores the
association in its metadata (``person_association``) and ``capture_set.json`` under
``association``. A webcam's first frame is grabbed once before its capture opens it again, so
the people should stand still for that second.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from movekit.capture.clock import SessionClock
from movekit.capture.frames import parse_source
from movekit.capture.inputs import is_camera, recorded_video
from movekit.capture.pipeline import CaptureOptions, CaptureRun, CaptureSummary
from movekit.errors import MovekitError

#: the file that makes a folder a capture set
SET_FILE = "capture_set.json"
SET_FORMAT = "movekit-capture-set"

logger = logging.getLogger(__name__)


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
    calibration: str | Path | None = None,
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
    calibration : the cameras' calibration (``.qca.txt`` or ``.toml``; by ``names`` when the file has
        them all, else in file order): the same person is then followed in every camera (see the
        module docstring)

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
    assoc = associate_first_frames(sources, names, calibration, opts) if calibration is not None else None
    per_camera = [_camera_options(opts, name, i, names, assoc) for i, name in enumerate(names)]
    runs = [  # every option checked, every source resolved, before anything is created
        CaptureRun(src, out / f"{name}.mkrec", cam_opts, clock=clock)
        for src, name, cam_opts in zip(sources, names, per_camera)
    ]
    make_private_dir(out, exist_ok=out.is_dir() and not any(out.iterdir()))
    description = _description(sources, names, webcams, clock)
    if assoc is not None:
        description["association"] = assoc
    write_output(out / SET_FILE, json.dumps(description, indent=2))
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


def _camera_options(opts: CaptureOptions, name: str, index: int, names: list[str], assoc: dict | None):
    """One camera's options: its metadata, and with an association whom its follower takes."""
    meta = _meta(opts, name, index, names)
    if assoc is None:
        return replace(opts, metadata=meta)
    mine = assoc["cameras"][index]
    meta["person_association"] = {
        **mine,
        "reference_camera": assoc["reference_camera"],
        "chosen_by": assoc["chosen_by"],
    }
    return replace(opts, metadata=meta, person=mine["person"])


def _first_frame(source) -> np.ndarray:
    """The first frame (BGR) of a video or webcam, read with the capture's own decoder."""
    from movekit.capture.frames import FrameSource

    with FrameSource(recorded_video(source)[0], threaded=False) as frames:
        return next(iter(frames)).image_bgr


def _calibrated_cameras(calibration, names: list[str], n: int) -> list:
    """The calibration's cameras for these sources: by name when it has every name, else in file order."""
    from movekit.analysis.cameras import read_calibration

    cams = read_calibration(calibration)
    by = {c.name: c for c in cams}
    if set(names) <= set(by):
        return [by[name] for name in names]
    if len(cams) < n:
        raise MovekitError(f"{calibration} has {len(cams)} cameras for {n} sources")
    return cams[:n]


def associate_first_frames(sources, names: list[str], calibration, opts: CaptureOptions) -> dict:
    """Whom each camera follows: the client chosen in the first camera's first frame
    (``opts.person``), found in every other camera's first frame by the geometry
    (:func:`movekit.analysis.association.associate`; MovekitError when nobody, or two people, fit).

    Returns
    -------
    dict (stored in ``capture_set.json``): ``reference_camera``, ``chosen_by`` (the ``--person``
    choice), ``cameras``: per camera ``name``, ``person`` (``X,Y`` torso centre, px, given to its
    follower), ``people_found``, ``error_torso`` (the chosen skeleton's, torso lengths), ``method``
    """
    from movekit.analysis.association import associate
    from movekit.capture.follow import bbox_px, choose_person, parse_person, person_text, torso
    from movekit.capture.pose import MediaPipePose

    cams = _calibrated_cameras(calibration, names, len(sources))
    images = [_first_frame(s) for s in sources]
    backend = MediaPipePose(opts.model_complexity, model_file=opts.model_file)
    try:
        people = [backend.find_people(im) for im in images]
    finally:
        backend.close()
    if not people[0]:
        raise MovekitError(f"camera {names[0]}: nobody found in the first frame, so the client cannot be chosen")
    choice = parse_person(opts.person if opts.person is not None else "largest")
    boxes = [bbox_px(p.image_px, p.visibility) for p in people[0]]
    centres = [(torso(p.image_px) or (None,))[0] for p in people[0]]
    client, _ = choose_person(boxes, centres, choice, images[0].shape[1])
    cands = [[(p.image_px[:, :2], p.visibility) for p in view] for view in people]
    a = associate(cands, cams, client)
    out = []
    for v, name in enumerate(names):
        centre = torso(people[v][a.chosen[v]].image_px)
        if centre is None:
            raise MovekitError(f"camera {name}: the client's torso is not in the first frame")
        err = a.errors_torso[v][a.chosen[v]]
        out.append(
            {
                "name": name,
                "person": f"{centre[0][0]:.0f},{centre[0][1]:.0f}",
                "people_found": len(people[v]),
                "error_torso": round(float(err), 3),
                "method": a.method[v],
            }
        )
        logger.info("camera %s follows the person at %s (%s)", name, out[-1]["person"], a.method[v])
    return {"reference_camera": names[0], "chosen_by": person_text(choice), "cameras": out}


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


__all__ = ["associate_first_frames", "capture_cameras", "is_capture_set", "read_capture_set", "SET_FILE"]
