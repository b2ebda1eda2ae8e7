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
the people should stand still for that second. (``people=``, one choice per camera, replaces the
association.)

During the take :class:`ViewAgreement` checks every 0.5 s, and whenever a camera's follower finds
its person again, that the cameras still follow one person (the thresholds of
:mod:`movekit.analysis.association`); a camera that follows somebody else is switched to the
client when it sees exactly one consistent person, and otherwise the cameras are marked "views
disagree" (events in the recordings, notices on the console; each recording's ``view_check``
metadata says how many checks ran).
"""

from __future__ import annotations

import bisect
import json
import logging
import re
import signal
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from movekit.capture.clock import SessionClock
from movekit.capture.frames import parse_source
from movekit.capture.inputs import is_camera, recorded_video
from movekit.capture.pipeline import CaptureOptions, CaptureRun, CaptureSummary
from movekit.errors import MovekitError
from movekit.outputs import strict_json

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
    people: Sequence[str] | None = None,
    live_check: bool = True,
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
    people : with a calibration, whom each camera follows (one ``--person`` choice per source,
        :func:`movekit.capture.follow.parse_person`) instead of the first-frame association; the
        live check then watches them from the first frame
    live_check : with a calibration, check during the take that the cameras follow the same person
        (:class:`ViewAgreement`; off for videos whose clocks are not in sync)

    Returns
    -------
    list of CaptureSummary, one per camera, in the order of ``sources``
    """
    opts = options or CaptureOptions()
    given = names is not None
    names = list(names or [f"cam{i + 1}" for i in range(len(sources))])
    _check(sources, names, opts)
    if given and calibration is not None:
        from movekit.analysis.cameras import read_calibration

        known = [c.name for c in read_calibration(calibration)]
        if missing := [n for n in names if n not in known]:
            raise MovekitError(f"--cameras: {', '.join(missing)} not in {calibration} (it has {', '.join(known)})")
    out = Path(out)
    from movekit.outputs import make_private_dir, write_output

    clock = SessionClock()
    webcams = is_camera(sources[0])
    assoc = _association(sources, names, calibration, opts, people)
    per_camera = [_camera_options(opts, name, i, names, assoc) for i, name in enumerate(names)]
    agreement = None
    if calibration is not None and live_check:
        agreement = ViewAgreement(_calibrated_cameras(calibration, names, len(sources)))
    runs = [  # every option checked, every source resolved, before anything is created
        CaptureRun(
            src,
            out / f"{name}.mkrec",
            cam_opts,
            clock=clock,
            sinks=[_AgreementSink(agreement, i)] if agreement is not None else [],
        )
        for i, (src, name, cam_opts) in enumerate(zip(sources, names, per_camera))
    ]
    make_private_dir(out, exist_ok=out.is_dir() and not any(out.iterdir()))
    description = _description(sources, names, webcams, clock)
    if assoc is not None:
        description["association"] = assoc
    write_output(out / SET_FILE, json.dumps(strict_json(description), indent=2, allow_nan=False))
    try:
        return _run_all(runs)
    except BaseException:
        # no camera recorded anything (none opened): the set is only its description; remove it,
        # so that the same command can run again (a recording, even a partial one, is never removed)
        if sorted(p.name for p in out.iterdir()) == [SET_FILE]:
            (out / SET_FILE).unlink()
            out.rmdir()
        raise


def _association(sources, names: list[str], calibration, opts: CaptureOptions, people) -> dict | None:
    """Whom each camera follows: the first-frame association, or each camera's given choice."""
    if calibration is None:
        if people is not None:
            raise MovekitError("one person choice per camera goes with a calibration (--calibration)")
        return None
    if people is None:
        return associate_first_frames(sources, names, calibration, opts)
    from movekit.capture.follow import parse_person, person_text

    if len(people) != len(names):
        raise MovekitError(f"give one person choice per camera ({len(names)}), got {len(people)}")
    chosen = [person_text(parse_person(p)) for p in people]  # a bad choice fails before anything opens
    return {
        "reference_camera": names[0],
        "chosen_by": "per camera",
        "cameras": [{"name": n, "person": c, "method": "given"} for n, c in zip(names, chosen)],
    }


#: A camera's name: it names its recording file in the capture set (no path separators, not hidden)
CAMERA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def _check(sources, names, opts: CaptureOptions) -> None:
    if len(sources) < 2:
        raise MovekitError("a multi-camera capture needs two or more sources")
    if len(set(names)) != len(names) or len(names) != len(sources):
        raise MovekitError(f"give one distinct camera name per source (got {list(names)})")
    if bad := [n for n in names if not CAMERA_NAME.fullmatch(n)]:
        raise MovekitError(
            f"camera name {bad[0]!r}: letters, digits, '_', '-' and '.', starting with a letter or digit "
            "(it names the camera's recording in the set)"
        )
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


def recorded_camera_names(sources) -> list[str] | None:
    """The camera name each source recording was captured as (``movekit capture --cameras``), or
    None unless every source is a recording that names a distinct camera (:func:`_meta` writes it)."""
    names = []
    for s in sources:
        try:
            meta = json.loads((Path(s) / "meta.json").read_text(encoding="utf-8"))
            names.append(str(meta["camera"]["name"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return names if len(set(names)) == len(names) else None


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
    from movekit.analysis.cameras import check_frame_sizes
    from movekit.capture.follow import bbox_px, choose_person, parse_person, person_text, torso
    from movekit.capture.pose import MediaPipePose

    cams = _calibrated_cameras(calibration, names, len(sources))
    images = [_first_frame(s) for s in sources]
    check_frame_sizes(cams, [(im.shape[1], im.shape[0]) for im in images], sources)
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


# -- the live check: the same person in every camera during the take -------------------------------


@dataclass
class _Frame:
    t_s: float
    points_px: np.ndarray  # (33, 2)
    weights: np.ndarray  # (33,)


@dataclass
class _Search:
    """A look for the client in one camera: requested at a disagreeing check, then its people."""

    since_s: float  # the check that found the disagreement
    t_s: float = float("nan")  # the frame searched
    followed: np.ndarray | None = None  # (33, 2) px, the followed skeleton in that frame
    people: list = field(default_factory=list)  # [(image_px (33, 2), visibility (33,))]


class ViewAgreement:
    """Checks during a calibrated multi-camera capture that every camera follows the same person.

    Each camera's model thread hands it every estimate (:meth:`publish`). Every ``every_s`` seconds
    of the reference camera's clock, and when a camera's follower finds its person again after
    losing them, the cameras' skeletons nearest that time (within ``tolerance_s``) are judged
    together (:func:`movekit.analysis.association.judge_frame`: the thresholds the triangulation's
    check uses). A disagreeing camera (with three or more, one the others' agreement pins down; with
    two, the one the client was not chosen in) is searched once for everybody in its next frame;
    when exactly one of them is consistent with the others (:func:`~movekit.analysis.association.find_client`,
    the first-frame association's rule) and is not the person it follows, that camera's follower is
    switched to them (a ``view_switched`` event). Otherwise the cameras are marked: a ``views_disagree``
    event at once, and a ``view_excluded`` event (reason "views disagree", ``check`` "live") with the
    stretch's span when it ends (from the first disagreeing check to the last, or to the end of the
    take), in each involved camera's recording; ``movekit info`` lists it. After a crash the
    ``views_disagree`` event stands alone; ``movekit triangulate`` judges every frame again anyway
    (:func:`movekit.analysis.association.check_recorded_views`, the same thresholds).

    The check assumes the cameras' frame times are on one clock: true for webcams (one session clock)
    and for videos recorded in sync; for videos with unknown offsets turn it off (``live_check=False``).
    Thread-safe: one lock around everything.

    Parameters
    ----------
    cameras : the calibrated cameras, in the order of the capture's sources
    reference_view : the camera the client was chosen in
    every_s : s between checks (0.5: a wrong camera is noticed within about a second, at the cost of
        one triangulation of 33 points, well under a millisecond, per check)
    search_every_s : s between two searches of one camera (a search costs two or three model runs)
    tolerance_s : the largest gap (s) between the check time and a camera's frame judged with it
        (0.035: half a frame interval at 15 fps, the slowest webcam rate movekit runs at)
    keep_s : s of each camera's estimates kept (cameras run at their own pace)
    finish_wait_s : the longest a camera that has ended waits for the others to reach its end (s)
    """

    def __init__(
        self,
        cameras: Sequence,
        *,
        reference_view: int = 0,
        every_s: float = 0.5,
        search_every_s: float = 1.0,
        tolerance_s: float = 0.035,
        keep_s: float = 4.0,
        finish_wait_s: float = 5.0,
    ) -> None:
        self.cameras = list(cameras)
        self.names = [c.name for c in self.cameras]
        self.reference_view = reference_view
        self.every_s, self.search_every_s, self.tolerance_s, self.keep_s = every_s, search_every_s, tolerance_s, keep_s
        self.finish_wait_s = finish_wait_s
        n = len(self.cameras)
        self._lock = threading.Condition()
        self._frames: list[deque[_Frame]] = [deque() for _ in range(n)]
        self._done = [False] * n
        self._closed = [False] * n  # its recording has taken its last event (finish returned)
        self._lost = [True] * n  # the follower has nobody (at the start: not found yet)
        self._checks: list[float] = []  # check times (s) waiting for every camera's frames
        self._next_s = -np.inf
        self._searches: list[_Search | None] = [None] * n
        self._searched_s = [-np.inf] * n
        self._switch: list[tuple[float, float] | None] = [None] * n
        self._switch_info: list[dict | None] = [None] * n
        self._outbox: list[list[tuple[str, dict]]] = [[] for _ in range(n)]  # ("event"|"say", ...)
        self._stretch: dict | None = None  # the open "views disagree" stretch
        self.checks_run = 0
        self.status = "views not yet checked"

    def describe(self) -> dict:
        """What the check did so far (stored in each camera's metadata as ``view_check``)."""
        with self._lock:
            return {
                "every_s": self.every_s,
                "checks": self.checks_run,
                "reference_camera": self.names[self.reference_view],
                "status": self.status,
            }

    # -- called from each camera's model thread ----------------------------------------------------
    def publish(self, view: int, t_s: float, est) -> None:
        """Camera ``view``'s followed person at ``t_s`` (a :class:`PoseEstimate`)."""
        with self._lock:
            frames = self._frames[view]
            frames.append(
                _Frame(float(t_s), np.asarray(est.image_px, np.float64)[:, :2], _weights(est, self.cameras[view]))
            )
            while frames and frames[0].t_s < t_s - self.keep_s:
                frames.popleft()
            if view == self.reference_view and t_s >= self._next_s:
                self._add_check(t_s)
                self._next_s = float(t_s) + self.every_s
            if est.found and self._lost[view]:  # found (again): check now
                self._add_check(t_s)
            self._lost[view] = not est.found
            self._run_due()
            self._lock.notify_all()  # a camera that has ended may be waiting for this one (finish)

    def finish(self, view: int) -> None:
        """Camera ``view`` has no more frames. Waits (at most ``finish_wait_s``) until the cameras
        still running have reached its last frame, so that every check up to its end has run; a
        stretch still open is then closed in its recording, to its last frame."""
        with self._lock:
            self._done[view] = True
            end = self._frames[view][-1].t_s if self._frames[view] else -np.inf
            self._run_due()
            self._lock.notify_all()
            self._lock.wait_for(lambda: self._ready(end), timeout=self.finish_wait_s)
            self._run_due()
            st = self._stretch
            if st is not None and view in st["views"]:  # still disagreeing when the take ended: to its end
                st["last_s"] = max(st["last_s"], end)
                self._post_stretch_end([view])
            self._closed[view] = True  # nothing more reaches its recording

    def wants_search(self, view: int) -> bool:
        with self._lock:
            s = self._searches[view]
            return s is not None and not np.isfinite(s.t_s)

    def searched(self, view: int, t_s: float, est, people: list) -> None:
        """Everybody found in camera ``view``'s frame at ``t_s`` (``people``: PoseEstimates)."""
        with self._lock:
            s = self._searches[view]
            if s is None:
                return
            s.t_s, s.followed = float(t_s), np.asarray(est.image_px, np.float64)[:, :2]
            s.people = [(np.asarray(p.image_px, np.float64)[:, :2], _weights(p, self.cameras[view])) for p in people]
            self._run_due()

    def take_switch(self, view: int) -> tuple[float, float] | None:
        """The point (px) of the person camera ``view``'s follower is to follow from now, if any."""
        with self._lock:
            point, self._switch[view] = self._switch[view], None
            return point

    def take_outbox(self, view: int) -> list[tuple[str, dict | str]]:
        """Events to record and notices to say in camera ``view``'s capture (its recording thread)."""
        with self._lock:
            out, self._outbox[view] = self._outbox[view], []
            return out

    # -- the checks (lock held) ------------------------------------------------------------------
    def _add_check(self, t_s: float) -> None:
        if float(t_s) not in self._checks:
            bisect.insort(self._checks, float(t_s))

    def _ready(self, t_s: float) -> bool:
        """Every camera still running has a frame at or after ``t_s``."""
        return all(self._done[v] or (f and f[-1].t_s >= t_s - 1e-9) for v, f in enumerate(self._frames))

    def _run_due(self) -> None:
        while self._checks and self._ready(self._checks[0]):
            self._check(self._checks.pop(0))
        for v, s in enumerate(self._searches):
            if s is not None and np.isfinite(s.t_s) and self._ready(s.t_s):
                self._searches[v] = None
                self._decide(v, s)

    def _at(self, t_s: float) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Every camera's skeleton nearest ``t_s`` (NaN / 0 where none is within ``tolerance_s``)."""
        n = len(self.cameras)
        pts, w, have = np.full((n, 33, 2), np.nan), np.zeros((n, 33)), []
        for v, frames in enumerate(self._frames):
            if not frames:
                continue
            best = min(frames, key=lambda f: abs(f.t_s - t_s))
            if abs(best.t_s - t_s) <= self.tolerance_s:
                pts[v], w[v] = best.points_px, best.weights
                have.append(v)
        return pts, w, have

    def _check(self, t_s: float) -> None:
        from movekit.analysis.association import judge_frame

        pts, w, have = self._at(t_s)
        if len(have) < 2 or self.reference_view not in have:
            logger.debug("view check at %.3f s: skipped (frames of %s only)", t_s, have)
            if any(not self._done[v] and (not f or f[0].t_s > t_s) for v, f in enumerate(self._frames)):
                self._next_s = -np.inf  # a camera joined later (its check opens later): at the next frame
            return
        cams = [self.cameras[v] for v in have]
        j = judge_frame(pts[have], w[have], cams, reference_view=have.index(self.reference_view))
        if not j.judged:
            return
        self.checks_run += 1
        errors = {self.names[v]: _round(j.errors_torso[i]) for i, v in enumerate(have)}
        logger.debug("view check at %.3f s: errors %s, suspects %s", t_s, errors, j.suspects)
        if not j.disagree:
            self.status = f"views agree ({t_s:.2f} s)"
            if self._stretch is not None:
                self._post_stretch_end(self._stretch["views"])
            return
        suspects = [have[i] for i in j.suspects]
        if self._stretch is not None:
            self._stretch["last_s"] = t_s
            self._stretch["errors"].append(max((e for e in errors.values() if e is not None), default=np.nan))
        waiting = [v for v in suspects if self._searches[v] is not None]
        fresh = [v for v in suspects if v not in waiting and t_s - self._searched_s[v] >= self.search_every_s - 1e-9]
        for v in fresh:
            self._searches[v] = _Search(t_s)
            self._searched_s[v] = t_s
        if not fresh and not waiting and self._stretch is None:
            views = [have[i] for i in np.flatnonzero(j.wrong)] if len(have) > 2 else have
            why = f"still, {t_s - max(self._searched_s[v] for v in suspects):.2f} s after the last search"
            self._open_stretch(t_s, views, errors, why if suspects else "no other camera pair agrees")

    def _decide(self, view: int, s: _Search) -> None:
        """After camera ``view`` was searched: switch its follower, or mark the views."""
        from movekit.analysis.association import (
            OTHER_PERSON_TORSO,
            find_client,
            judge_frame,
            torso_centre_px,
            torso_length_px,
        )

        pts, w, have = self._at(s.t_s)
        if view not in have:
            return
        j = judge_frame(pts[have], w[have], [self.cameras[v] for v in have],
                        reference_view=have.index(self.reference_view) if self.reference_view in have else 0)  # fmt: skip
        if len(have) == 2:  # two views: the client is the reference camera's
            trusted = [v for v in have if v != view]
        else:
            trusted = [have[i] for i in j.trusted if have[i] != view]
        pick, errs = find_client(s.people, view, pts, w, self.cameras, trusted)
        errors = {self.names[v]: _round(j.errors_torso[i]) for i, v in enumerate(have)}
        if pick is not None:
            centre = torso_centre_px(s.people[pick][0])
            followed = torso_centre_px(s.followed)
            # the one followed (two runs of the model on one frame) or somebody else: the torso-centre
            # distance that tells people apart in association.py (same person <= 0.47, other >= 0.92)
            same = np.linalg.norm(centre - followed) < OTHER_PERSON_TORSO * torso_length_px(s.people[pick][0])
            if not same and np.isfinite(centre).all():
                self._post_switch(view, s, trusted, centre, errs[pick], errors)
                return
        if j.disagree and self._stretch is None:
            views = [have[i] for i in np.flatnonzero(j.wrong)] if len(have) > 2 else have
            self._open_stretch(s.since_s, views, errors, _why(pick, errs, len(s.people)))

    # -- what is recorded and said -----------------------------------------------------------------
    def _post(self, views: Sequence[int], kind: str, **fields) -> None:
        """An event for each of ``views``' recordings, and its text said once (by the first)."""
        for v in views:
            self._outbox[v].append(("event", {"kind": kind, **fields}))
        if fields.get("text") and views:
            self._outbox[views[0]].append(("say", f"movekit: notice: {fields['text']}"))

    def _post_switch(self, view: int, s: _Search, trusted: list[int], centre, error: float, errors: dict) -> None:
        """Ask camera ``view`` to switch; the event is posted when it has (:meth:`switched`)."""
        self._switch[view] = (float(centre[0]), float(centre[1]))
        self._switch_info[view] = {
            "camera": self.names[view],
            "since_s": s.since_s,
            "searched_s": s.t_s,
            "consistent_with": "+".join(self.names[v] for v in trusted),
            "person": f"{centre[0]:.0f},{centre[1]:.0f}",
            "error_torso": _round(error),
            "errors_torso": errors,
        }
        if self._stretch is not None:
            self._stretch["last_s"] = max(self._stretch["last_s"], s.t_s)
            self._post_stretch_end(list(self._stretch["views"]))

    def switched(self, view: int, t_s: float) -> None:
        """Camera ``view``'s follower follows the person it was asked to from its frame at ``t_s``."""
        with self._lock:
            info = self._switch_info[view]
            self._switch_info[view] = None
            if info is None:
                return
            text = (
                f"{t_s:.2f} s: camera {info['camera']} followed somebody else than camera {info['consistent_with']} "
                f"(since {info['since_s']:.2f} s); switched to the person at {info['person']} px"
            )
            self.status = f"camera {info['camera']} switched to the client ({t_s:.2f} s)"
            self._add_check(t_s)  # judged again at once (the new follower's first frame)
            self._post([view], "view_switched", t_s=float(t_s), **info, text=text)
            logger.info("%s", text)

    def _open_stretch(self, t_s: float, views: list[int], errors: dict, why: str) -> None:
        cams = "+".join(self.names[v] for v in views)
        record = [v for v in views if not self._closed[v]]  # recordings still open
        worst = max((e for e in errors.values() if e is not None), default=float("nan"))
        self._stretch = {"t_s": t_s, "last_s": t_s, "views": record, "camera": cams, "errors": [worst]}
        self.status = f"views disagree: {cams} since {t_s:.2f} s"
        who = f"cameras {cams} do not follow the same person" if len(views) == 2 and len(self.cameras) == 2 else (
            f"camera {cams} does not follow the person the other cameras do" if len(views) == 1
            else f"cameras {cams} do not follow the person the other cameras do")  # fmt: skip
        text = f"{t_s:.2f} s: {who} ({why}); frames marked"
        self._post(record, "views_disagree", t_s=t_s, camera=cams, errors_torso=errors, text=text)
        logger.info("%s", text)

    def _post_stretch_end(self, views: Sequence[int]) -> None:
        """The open stretch's ``view_excluded`` event, in the recordings of ``views``."""
        st = self._stretch
        err = [e for e in st["errors"] if np.isfinite(e)]
        t0, t1 = st["t_s"], st["last_s"]
        text = f"camera {st['camera']} views disagree {t0:.2f}-{t1:.2f} s (live check)"
        for v in views:
            self._outbox[v].append(("event", {
                "kind": "view_excluded", "t_s": t0, "t_end_s": t1, "camera": st["camera"],
                "reason": "views disagree", "check": "live",
                "median_error_torso": _round(float(np.median(err))) if err else None,
                "text": text,
            }))  # fmt: skip
        st["views"] = [v for v in st["views"] if v not in views and not self._closed[v]]
        if not st["views"]:
            self._stretch = None


def _weights(est, camera) -> np.ndarray:
    """A person's landmark weights in ``camera``'s frame: the model's visibility, 0 outside the image."""
    from movekit.analysis.filters import visibility_in_frame

    w = np.nan_to_num(visibility_in_frame(est.image_px, est.visibility, (camera.width_px, camera.height_px)))
    return w if est.found else np.zeros_like(w)


def _round(x: float) -> float | None:
    return round(float(x), 3) if np.isfinite(x) else None


def _why(pick: int | None, errors: list[float], n: int) -> str:
    if n == 0:
        return "nobody found in the camera that disagrees"
    if pick is not None:
        return "the consistent person is the one followed, badly placed"
    shown = ", ".join("?" if not np.isfinite(e) else f"{e:.2f}" for e in errors)
    return f"no single consistent person among {n} found (errors {shown} torso lengths)"


class _CheckedFollower:
    """A camera's :class:`~movekit.capture.follow.PersonFollower` with the live check around it.

    Stands in for ``run.follower`` (installed by :class:`_AgreementSink` when the capture opens;
    the capture's model thread calls it): hands each estimate to the :class:`ViewAgreement`, searches
    the frame for everybody when it asks, and switches to the person it names by starting a new
    follower on that person's torso point (``--person X,Y``), the model's tracking reset. Everything
    else is the follower's. (Interim: follow.py and pipeline.py offer no hook for this yet.)
    """

    def __init__(self, inner, agreement: ViewAgreement, view: int) -> None:
        self._inner, self._first = inner, inner
        self._agreement, self._view = agreement, view
        self._switched: list[dict] = []
        self._quiet_start = False

    def process(self, backend, image_bgr: np.ndarray, t_s: float, image_rgb: np.ndarray | None = None):
        from movekit.capture.follow import PersonFollower

        point = self._agreement.take_switch(self._view)
        if point is not None:
            old, self._inner = self._inner, PersonFollower(choose=point)
            old.close()  # its watcher thread; its selection stays readable
            backend.process(np.zeros_like(image_bgr))  # tracking reset: the new follower chooses afresh
            self._switched.append({"t_s": float(t_s), "person": f"{point[0]:.0f},{point[1]:.0f}"})
            self._agreement.switched(self._view, t_s)
            self._quiet_start = True
        est = self._inner.process(backend, image_bgr, t_s, image_rgb)
        if self._quiet_start and self._inner.selection:  # its "people in view at the start": not a start
            self._inner.events = [e for e in self._inner.events if e.get("change") != "start"]
            self._quiet_start = False
        if self._agreement.wants_search(self._view):
            find = getattr(backend, "find_people", None)
            self._agreement.searched(self._view, t_s, est, find(image_bgr) if find is not None else [])
        self._agreement.publish(self._view, t_s, est)
        return est

    @property
    def events(self) -> list:
        return self._inner.events

    def take_events(self) -> list[dict]:
        return self._inner.take_events()

    @property
    def selection(self) -> dict:
        sel = dict(self._first.selection)
        return {**sel, "switched": list(self._switched)} if self._switched else sel

    def message(self) -> str | None:
        return self._first.message()

    def close(self) -> None:
        if self._inner is not self._first:
            self._inner.close()
        self._first.close()

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


class _AgreementSink:
    """A camera's side of the live check in its capture: installs :class:`_CheckedFollower`, records
    the check's events (``run.mark``) and says its notices, in the camera's recording thread."""

    def __init__(self, agreement: ViewAgreement, view: int) -> None:
        self.agreement, self.view = agreement, view
        self.run = None

    def open(self, run: CaptureRun) -> None:
        self.run = run
        run.follower = _CheckedFollower(run.follower, self.agreement, self.view)

    def frame(self, result) -> None:
        self._deliver()

    def close(self, summary: CaptureSummary) -> None:
        self.agreement.finish(self.view)
        self._deliver()
        if self.run.writer is not None:  # that the take was checked, so that no event means agreement
            self.run.writer.update_metadata(view_check=self.agreement.describe())

    def _deliver(self) -> None:
        for what, item in self.agreement.take_outbox(self.view):
            if what == "event":
                self.run.mark(**item)
                if item.get("kind") in ("view_switched", "view_excluded"):
                    self.run.summary.notices.append(item["text"])
            else:
                self.run.say(item)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


__all__ = [
    "ViewAgreement",
    "associate_first_frames",
    "capture_cameras",
    "is_capture_set",
    "read_capture_set",
    "SET_FILE",
]
