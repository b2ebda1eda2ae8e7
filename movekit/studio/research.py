"""The researcher's pages of movekit studio: open a recording, scrub through it, compare two.

``routes(config, env)`` gives the Starlette routes :func:`movekit.studio.app.create_app` mounts:

======================================  ==============================================================
``/research``                           the recordings and capture sets under the studio's folder
                                        (``?path=`` adds any other), each with its problems when it is
                                        cut short or damaged; a triangulated one with its cameras
``/research/view?path=P``               scrub: the frame with the skeleton, a time slider, the gated
                                        angle plots with a cursor, refused stretches as gaps, events
``/research/compare?a=P&b=Q&angle=N``   two recordings side by side, each scrubbable, one angle of
                                        both on one plot
``/research/api/recording?path=P``      JSON: time axis, gated angles with their expected errors,
                                        the refused stretches with the reason, events
``/research/api/pose?path=P&i=N``       JSON: frame N's image landmarks (px), visibility, angles
``/research/api/frame?path=P&i=N``      JPEG: frame N of the recording's saved video (404 without)
======================================  ==============================================================

A triangulated recording (stream ``pose_3d_m``, lab frame z up, m: ``movekit triangulate``; a
capture set folder stands for its ``pose_3d.mkrec``) is shown in 3D: its pose JSON holds the lab
landmarks, the views used per landmark and the reprojection error; its timeline the cameras,
their separation, each camera's frame at every 3D frame (its own recording, offset by the
synchronisation) and the stretches where fewer than two views agreed on the body (gaps, with the
``view_excluded`` events that explain them). Its angles are :func:`movekit.analysis.multiview.angles_3d`
gated by the measured two-camera error as the screens gate them
(:func:`movekit.assess._pose.analyse_triangulated`).

The angles are the analysis layer's (:func:`movekit.calibration.analyse_calibrated`, zero-phase
offline filtering as for reports, the recording's own calibration, gated by the measured error
model: expected error <= ``error_model.MAX_ERROR_DEG``); nothing is computed here beyond cutting
the arrays into runs and frames. Time is s from the recording's first pose frame.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from movekit.errors import MovekitError

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
MAX_LISTED = 500  #: recordings listed from the studio's folder at most
POSE_3D = "pose_3d_m"  #: the triangulated pose stream (lab frame, z up, m)
TORSO = (11, 12, 23, 24)  #: shoulders and hips: a 3D frame counts as triangulated when all four are
CANVAS_3D_PX = (720, 600)  #: the 3D view's canvas (px)
FLOOR_GRID_M = 0.5  #: spacing of the floor grid drawn at z = 0 (m)
JPEG_MAX_SIDE_PX = 960  #: frames are sent at most this wide or high (the landmarks stay in full-size px)


# -- opening --------------------------------------------------------------------------------
def find_recordings(folder: str | Path, limit: int = MAX_LISTED) -> list[Path]:
    """Recording directories (holding ``meta.json``) under ``folder``, newest first."""
    from movekit.recording import META_FILE

    root = Path(folder)
    if not root.is_dir():
        return []
    found = [m.parent for m in root.rglob(META_FILE)]
    found = [p for p in found if not any(q != p and q in p.parents for q in found)]  # not nested ones
    found.sort(key=lambda p: (p / META_FILE).stat().st_mtime, reverse=True)
    return found[:limit]


def summarise(path: str | Path) -> dict[str, Any]:
    """One row of the list: name, frames, duration (s), video kept, client, and its problems (a
    recording nothing can be read from gets ``error`` instead of crashing the list). A triangulated
    recording's row says so (``kind`` "3d", its cameras, their separation, the ``view_excluded``
    stretches as ``notes``); a camera of a capture set names its camera."""
    from movekit.capture.inputs import RAW_VIDEO
    from movekit.recording import POSE_STREAMS, open_recording

    path = Path(path)
    row: dict[str, Any] = {"path": str(path), "name": path.name, "problems": [], "notes": [], "error": None,
                           "kind": "2d", "what": ""}  # fmt: skip
    try:
        rec = open_recording(path)
    except MovekitError as exc:
        return {**row, "error": str(exc)}
    if POSE_3D in rec.streams:
        return {**row, **_summarise_3d(rec)}
    pose_ok = all(n in rec.streams for n in POSE_STREAMS)
    n = min((len(rec.streams[s]) for s in POSE_STREAMS), default=0) if pose_ok else 0
    t = rec.streams["pose_image_px"].t_s[:n] if pose_ok else np.zeros(0)
    problems = list(rec.problems) + ([] if pose_ok else ["no pose streams: nothing to scrub"])
    cam = rec.metadata.get("camera") if isinstance(rec.metadata.get("camera"), dict) else None
    what = f"camera {cam.get('name')} of a capture set" if cam and (path.parent / "capture_set.json").is_file() else ""
    return {**row, "problems": problems, "frames": n, "duration_s": float(t[-1] - t[0]) if n > 1 else 0.0,
            "video": (path / RAW_VIDEO).is_file(), "client": rec.metadata.get("client"), "what": what,
            "test": rec.metadata.get("screen") or rec.metadata.get("test"), "scrubbable": pose_ok and n > 0}  # fmt: skip


def _multiview_meta(rec) -> dict[str, Any]:
    """The ``multiview`` metadata of a triangulated recording ({} when missing or not an object)."""
    mv = rec.metadata.get("multiview")
    return mv if isinstance(mv, dict) else {}


def _separation_text(mv: dict) -> str:
    """``", 119 deg apart"`` for two cameras with a known separation, else ``""``."""
    sep = mv.get("separation_deg")
    ok = isinstance(sep, (int, float)) and math.isfinite(sep) and len(mv.get("cameras") or ()) == 2
    return f", {sep:.0f} deg apart" if ok else ""


def _summarise_3d(rec) -> dict[str, Any]:
    """The list row of a triangulated recording (see :func:`summarise`)."""
    st = rec.streams[POSE_3D]
    n = len(st.t_s)
    mv = _multiview_meta(rec)
    cams = [str(c) for c in mv.get("cameras") or ()]
    seen = np.isfinite(np.asarray(st.data, dtype=np.float64).reshape(n, -1, 3)[:, TORSO, 0]).all(axis=1)
    listed = ", ".join(cams) or "not recorded"
    what = (
        f"3D, triangulated from {len(cams) or 'unknown'} cameras ({listed}{_separation_text(mv)}); "
        f"{int(seen.sum())} of {n} frames triangulated"
    )
    notes = [str(e.get("text") or e["kind"]) for e in rec.events if e.get("kind") == "view_excluded"]
    return {"kind": "3d", "what": what, "cameras": cams, "notes": notes, "problems": list(rec.problems),
            "frames": n, "duration_s": float(st.t_s[-1] - st.t_s[0]) if n > 1 else 0.0, "video": False,
            "client": rec.metadata.get("client"), "test": None, "scrubbable": n > 0}  # fmt: skip


def find_capture_sets(folder: str | Path, limit: int = MAX_LISTED) -> list[Path]:
    """Capture sets (``movekit capture A B -o SET``) under ``folder`` or ``folder`` itself, newest first."""
    from movekit.capture.multicam import SET_FILE, is_capture_set

    root = Path(folder)
    if not root.is_dir():
        return []
    found = [f.parent for f in root.rglob(SET_FILE) if is_capture_set(f.parent)]
    found.sort(key=lambda p: (p / SET_FILE).stat().st_mtime, reverse=True)
    return found[:limit]


def summarise_set(path: str | Path) -> dict[str, Any]:
    """One capture set for the list: its cameras (name, source, recording, whether it is there),
    how their clocks relate, whom they followed, and its triangulated recording (with the cameras'
    separation and the ``view_excluded`` stretches as notes) or how to make one."""
    from movekit.capture.multicam import read_capture_set
    from movekit.recording import open_recording

    path = Path(path)
    row: dict[str, Any] = {"path": str(path), "name": path.name, "error": None, "notes": [], "problems": []}
    try:
        info = read_capture_set(path)
        cams = [{"name": str(c["name"]), "source": str(c.get("source", "")), "recording": str(c["recording"]),
                 "present": (Path(c["recording"]) / "meta.json").is_file()} for c in info["cameras"]]  # fmt: skip
    except (MovekitError, KeyError, TypeError, ValueError, OSError) as exc:
        return {**row, "error": f"capture set cannot be read: {exc}"}
    row |= {"cameras": cams, "clock": str(info.get("clock", "")), "triangulated": None}
    row["problems"] = [
        f"camera {c['name']}: its recording {c['recording']} is missing" for c in cams if not c["present"]
    ]
    assoc = info.get("association")
    if isinstance(assoc, dict):
        row["notes"].append(f"the client chosen in {assoc.get('reference_camera')} ({assoc.get('chosen_by')}) "
                            "and found in every other camera by the calibration's geometry")  # fmt: skip
    inside = path / "pose_3d.mkrec"
    if not (inside / "meta.json").is_file():
        row["notes"].append(f"not triangulated: movekit triangulate {path} --calibration FILE -o {inside}")
        return row
    try:
        rec = open_recording(inside)
    except MovekitError as exc:
        return {**row, "problems": [*row["problems"], f"{inside.name} cannot be opened: {exc}"]}
    summary = _summarise_3d(rec) if POSE_3D in rec.streams else {"what": "", "notes": []}
    row |= {"triangulated": str(inside), "what": summary["what"]}
    row["notes"] += summary["notes"]
    row["problems"] += [f"{inside.name}: {p}" for p in rec.problems]
    return row


class VideoFrames:
    """Random access to the frames of a recording's saved video (one decoder, one lock): frame i
    of the video is pose frame i (the capture writes every frame it analyses)."""

    def __init__(self, path: Path) -> None:
        import cv2

        self.path = path
        self._lock = threading.Lock()
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise MovekitError(f"{path}: the saved video cannot be decoded")
        self.frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._next = 0  # index of the frame the next read() returns

    def read(self, i: int) -> np.ndarray | None:
        """Frame ``i`` (BGR), or None past the end of what the video holds."""
        import cv2

        with self._lock:
            if i < self._next or i - self._next > 60:  # a jump: seek (decodes from the key frame)
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, i)
                self._next = i
            while self._next < i:
                if not self._cap.grab():
                    return None
                self._next += 1
            ok, img = self._cap.read()
            self._next += 1
            return img if ok else None

    def close(self) -> None:
        with self._lock:
            self._cap.release()


@dataclass
class Opened:
    """A recording opened for the researcher's pages: its pose and its gated analysis.

    ``kind`` is "2d" (a camera's pose: :class:`movekit.recording.PoseSeries`) or "3d" (a
    triangulated pose: :class:`movekit.assess._pose.TriangulatedSeries`, with ``views_used``
    (frames, 33) and ``reproj_px`` (frames, 33) from the recording, NaN where not stored).
    """

    path: Path
    rec: Any  #: movekit.recording.Recording
    pose: Any  #: movekit.recording.PoseSeries or movekit.assess._pose.TriangulatedSeries
    analysis: Any  #: movekit.analysis.pipeline.AnalysisResult
    video: VideoFrames | None
    timeline: dict = field(default_factory=dict)
    kind: str = "2d"
    views_used: np.ndarray | None = None
    reproj_px: np.ndarray | None = None
    cameras: list = field(default_factory=list)  #: per camera: name, path, frame index per 3D frame
    torso_views: np.ndarray | None = None  #: (frames,) :func:`views_torso`


@functools.lru_cache(maxsize=6)
def _open_cached(path: str, stamp: tuple) -> Opened:
    from movekit.calibration import analyse_calibrated
    from movekit.capture.inputs import RAW_VIDEO
    from movekit.recording import open_recording

    rec = open_recording(path)
    if POSE_3D in rec.streams:
        return _open_3d(Path(path), rec)
    pose = rec.pose()
    if len(pose) == 0:
        raise MovekitError(f"{path}: no pose frames to scrub" + "".join(f"; {p}" for p in rec.problems))
    analysis = analyse_calibrated(pose, space="2d", offline=True)
    video = VideoFrames(Path(path) / RAW_VIDEO) if (Path(path) / RAW_VIDEO).is_file() else None
    opened = Opened(Path(path), rec, pose, analysis, video)
    opened.timeline = timeline_json(opened)
    return opened


def _stream_or_nan(rec, name: str, n: int) -> np.ndarray:
    """Stream ``name`` as (n, 33) float64, NaN-padded (a stream cut shorter) or NaN (not stored)."""
    out = np.full((n, 33), np.nan)
    if name in rec.streams:
        d = np.asarray(rec.streams[name].data, dtype=np.float64).reshape(-1, 33)[:n]
        out[: len(d)] = d
    return out


def _open_3d(path: Path, rec) -> Opened:
    """A triangulated recording: its pose, the screens' gated 3D analysis, and its cameras."""
    from movekit.assess._pose import analyse_triangulated
    from movekit.assess.sources import recording_pose

    pose = recording_pose(rec)
    if len(pose) == 0:
        raise MovekitError(f"{path}: no triangulated frames to scrub" + "".join(f"; {p}" for p in rec.problems))
    analysis = analyse_triangulated(pose, offline=True)
    n = len(pose)
    o = Opened(path, rec, pose, analysis, None, kind="3d", views_used=_stream_or_nan(rec, "pose_3d_views", n),
               reproj_px=_stream_or_nan(rec, "pose_3d_reproj_px", n))  # fmt: skip
    o.cameras = camera_views(path, rec, pose.t_s)
    o.torso_views = views_torso(o)
    o.timeline = timeline_json(o)
    return o


def _view_path(path: Path, given: str) -> Path:
    """A camera recording named in the triangulation's ``source.views``: as given, else beside the
    triangulated recording (a capture set moved or given by a relative path)."""
    p = Path(given)
    if (p / "meta.json").is_file() or p.is_absolute() and p.exists():
        return p
    return path.parent / p.name


def camera_views(path: Path, rec, t_s: np.ndarray) -> list[dict[str, Any]]:
    """Each camera of a triangulated recording: ``name``, ``path`` of its own recording, ``video``
    (kept), ``frame_size_px``, ``index`` (its frame at each 3D frame: the nearest after removing the
    synchronisation offset, None farther than 0.75 of its frame period) or ``problem`` (no recording:
    the triangulation read a video file, or the recording moved)."""
    from movekit.capture.inputs import RAW_VIDEO
    from movekit.recording import open_recording

    mv = _multiview_meta(rec)
    given = (rec.metadata.get("source") or {}).get("views") or []
    names = list(mv.get("cameras") or [])
    offsets = list(mv.get("offsets_s") or [])
    out = []
    for v, g in enumerate(given):
        name = str(names[v]) if v < len(names) else f"view {v + 1}"
        p = _view_path(path, str(g))
        row: dict[str, Any] = {"name": name, "path": str(p), "video": False, "index": None, "problem": None}
        if not (p / "meta.json").is_file():
            why = f"no recording of camera {name} at {p} (a video file was triangulated, or it moved)"
            out.append({**row, "problem": why})
            continue
        try:
            pose = open_recording(p).pose()
        except MovekitError as exc:
            out.append({**row, "problem": f"camera {name}: {exc}"})
            continue
        off = float(offsets[v]) if v < len(offsets) and v else 0.0
        out.append({**row, "video": (p / RAW_VIDEO).is_file(), "frame_size_px": list(pose.frame_size_px),
                    "offset_s": off, "index": _nearest_frames(pose.t_s, np.asarray(t_s) - off)})  # fmt: skip
    return out


def _nearest_frames(t_cam_s: np.ndarray, want_s: np.ndarray) -> list[int | None]:
    """Index of the frame of ``t_cam_s`` (s) nearest each time in ``want_s`` (s), None when none is
    within 0.75 of the camera's median frame period."""
    t = np.asarray(t_cam_s, dtype=np.float64)
    want = np.asarray(want_s, dtype=np.float64)
    if t.size == 0:
        return [None] * want.size
    period = float(np.median(np.diff(t))) if t.size > 1 else math.inf
    j = np.searchsorted(t, want).clip(0, t.size - 1)
    before = (j - 1).clip(0)
    j = np.where(np.abs(t[before] - want) <= np.abs(t[j] - want), before, j)
    ok = np.abs(t[j] - want) <= 0.75 * period
    return [int(k) if good else None for k, good in zip(j.tolist(), ok.tolist())]


def _as_recording(p: Path) -> Path:
    """A capture set stands for its triangulated recording ``pose_3d.mkrec``; any other path is itself."""
    from movekit.recording import META_FILE

    if (p / META_FILE).is_file() or not (p / "capture_set.json").is_file():
        return p
    from movekit.capture.multicam import is_capture_set

    if not is_capture_set(p):
        return p
    if not (p / "pose_3d.mkrec" / META_FILE).is_file():
        raise MovekitError(
            f"{p} is a capture set without a triangulated pose: run movekit triangulate {p} --calibration "
            f"FILE -o {p / 'pose_3d.mkrec'}, or open one camera's recording in it"
        )
    return p / "pose_3d.mkrec"


def open_for_research(path: str | Path) -> Opened:
    """The recording at ``path`` with its analysis (cached while its files are unchanged); a capture
    set stands for its triangulated recording.

    Raises
    ------
    MovekitError
        Not a recording, nothing readable, or no pose in it.
    """
    from movekit.recording import EVENTS_FILE, META_FILE

    p = Path(str(path)).expanduser()
    if not str(path).strip():
        raise MovekitError("give the path of a recording (a folder holding meta.json)")
    p = _as_recording(p)
    if not (p / META_FILE).is_file():
        raise MovekitError(f"{p} is not a movekit recording (no {META_FILE})")
    p = p.resolve()
    stamp = tuple((p / f).stat().st_mtime_ns if (p / f).exists() else 0 for f in (META_FILE, EVENTS_FILE))
    return _open_cached(str(p), stamp)


# -- the JSON the pages read ----------------------------------------------------------------
def _floats(a) -> list[float | None]:
    """A float array as a JSON list, NaN -> None (values otherwise exact)."""
    return [None if not math.isfinite(v) else v for v in np.asarray(a, dtype=np.float64).tolist()]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame of each run of True in ``mask`` (inclusive)."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist()))


def _gap_reason(an, name: str, i0: int, i1: int) -> str:
    """Why ``name`` is missing over frames i0..i1: the analysis' own words
    (:meth:`~movekit.analysis.pipeline.AnalysisResult.reason`) for the middle frame the error gate
    refused; a stretch the gate passed was cut for another reason, said so."""
    err = np.asarray(an.error_deg[name][i0 : i1 + 1], dtype=np.float64)
    over = np.flatnonzero(~(err <= an.max_error_deg))  # unknown error is refused too
    if over.size:
        return an.reason(name, frame=i0 + int(over[over.size // 2]))
    what = name.removesuffix("_deg").replace("_", " ")
    return f"{what}: not kept here (landmarks not seen, filter settling, or a valid stretch too short to keep)"


def angle_series(an, t_rel_s: np.ndarray, gap_reason=None) -> tuple[dict, dict]:
    """``(shown, refused)``: the gated angles with any valid frame -> values, expected errors and
    the refused stretches (gaps) with the reason (``gap_reason(an, name, i0, i1)``, default
    :func:`_gap_reason`); every other angle -> why it is never shown."""
    gap_reason = gap_reason or _gap_reason
    shown, refused = {}, {}
    for name, v in an.angles.items():
        ok = np.isfinite(v)
        if not ok.any():
            refused[name] = an.reason(name)
            continue
        gaps = [{"i0": i0, "i1": i1, "start_s": float(t_rel_s[i0]), "end_s": float(t_rel_s[i1]),
                 "reason": gap_reason(an, name, i0, i1)} for i0, i1 in _runs(~ok)]  # fmt: skip
        shown[name] = {"deg": _floats(v), "err_deg": _floats(an.error_deg[name]), "gaps": gaps}
    return shown, refused


def timeline_json(o: Opened) -> dict[str, Any]:
    """The whole recording for the scrub page: time (s from the first frame), angles, events; for a
    triangulated recording also its cameras and the stretches with fewer than two views
    (:func:`_timeline_3d`)."""
    an, pose = o.analysis, o.pose
    t = np.asarray(pose.t_s, dtype=np.float64)
    t_rel = t - t[0]
    few = few_view_runs(o) if o.kind == "3d" else []
    shown, refused = angle_series(an, t_rel, _gap_reason_3d(o, few) if o.kind == "3d" else None)
    events = [{"t_s": float(e["t_s"]) - float(t[0]), "kind": str(e["kind"]),
               "label": str(e.get("label") or e.get("note") or e.get("text") or e["kind"]).replace("_", " ")}
              | ({"t_end_s": float(e["t_end_s"]) - float(t[0])} if isinstance(e.get("t_end_s"), (int, float)) else {})
              for e in o.rec.events if isinstance(e.get("t_s"), (int, float))]  # fmt: skip
    out = {
        "kind": o.kind,
        "path": str(o.path),
        "name": o.path.name,
        "frames": len(t),
        "t0_s": float(t[0]),
        "t_s": _floats(t_rel),
        "video": o.video is not None,
        "video_frames": o.video.frames if o.video is not None else 0,
        "angles": shown,
        "refused": refused,
        "events": events,
        "problems": list(o.rec.problems),
        "max_error_deg": float(an.max_error_deg),
        "filter": an.mode,
        "client": o.rec.metadata.get("client"),
    }
    if o.kind == "3d":
        return out | _timeline_3d(o, few)
    w, h = pose.frame_size_px
    return out | {"frame_size_px": [w, h] if w and h else _extent_px(pose.image_px)}


def views_torso(o: Opened) -> np.ndarray:
    """Per 3D frame: the fewest views any of the shoulders and hips was triangulated from (0 where
    one of them was not triangulated, whatever the views stream says)."""
    used = np.nan_to_num(o.views_used[:, TORSO], nan=0.0).min(axis=1)
    seen = np.isfinite(o.pose.points_lab_m[:, TORSO, 0]).all(axis=1)
    if not np.isfinite(o.views_used[:, TORSO]).any():  # no views stream: two or more wherever triangulated
        used = np.where(seen, 2.0, 0.0)
    return np.where(seen, used, 0.0)


def few_view_runs(o: Opened) -> list[dict[str, Any]]:
    """The stretches of a triangulated recording where fewer than two views agreed on the body (its
    shoulders and hips not triangulated), each with the reason: the ``view_excluded`` events over
    it, else the triangulation's own check (views dropped over the reprojection limit, or not seen)."""
    t = np.asarray(o.pose.t_s, dtype=np.float64)
    excluded = [e for e in o.rec.events if e.get("kind") == "view_excluded" and isinstance(e.get("t_s"), (int, float))]
    runs = []
    for i0, i1 in _runs(o.torso_views < 2):
        over = [str(e.get("text") or e.get("reason")) for e in excluded
                if e["t_s"] <= t[i1] and float(e.get("t_end_s", e["t_s"])) >= t[i0]]  # fmt: skip
        why = (
            "; ".join(over)
            if over
            else ("the views did not agree within the reprojection limit, or a camera did not see the client")
        )
        runs.append({"i0": i0, "i1": i1, "start_s": float(t[i0] - t[0]), "end_s": float(t[i1] - t[0]),
                     "reason": f"fewer than two views: not triangulated ({why})"})  # fmt: skip
    return runs


def _gap_reason_3d(o: Opened, few: list[dict]):
    """The gap reason of a triangulated recording's angle: its measured error when refused (the
    screens' words), else the fewer-than-two-views stretches it overlaps, else cleaning."""

    def reason(an, name: str, i0: int, i1: int) -> str:
        err = np.asarray(an.error_deg[name][i0 : i1 + 1], dtype=np.float64)
        if (~(err <= an.max_error_deg)).any():
            return an.reason(name)
        what = name.removesuffix("_deg").replace("_", " ")
        over = [r for r in few if r["i0"] <= i1 and r["i1"] >= i0]
        if over:
            n = sum(min(i1, r["i1"]) - max(i0, r["i0"]) + 1 for r in over)
            return f"{what}: {n} of {i1 - i0 + 1} frames here with {over[0]['reason']}"
        return f"{what}: not kept here (the landmarks it needs not triangulated, or a stretch too short to keep)"

    return reason


def _timeline_3d(o: Opened, few: list[dict]) -> dict[str, Any]:
    """The 3D part of a triangulated recording's timeline: cameras, set-up, per-frame views of the
    torso, the fewer-than-two-views stretches, each camera's frames, and the landmarks' extent (m)."""
    mv = _multiview_meta(o.rec)
    pts = o.pose.points_lab_m
    finite = pts[np.isfinite(pts).all(axis=2)]
    lo = finite.min(axis=0).tolist() if finite.size else [-1.0, -1.0, 0.0]
    hi = finite.max(axis=0).tolist() if finite.size else [1.0, 1.0, 1.8]
    return {
        "frame_size_px": list(CANVAS_3D_PX),
        "cameras": list(o.pose.cameras),
        "separation_deg": o.pose.separation_deg,
        "set_up": str(o.analysis.set_up),
        "describe": o.pose.describe(),
        "sync": [str(x) for x in mv.get("sync") or []],
        "views_torso": _floats(o.torso_views),
        "few_views": few,
        "camera_views": o.cameras,
        "bounds_m": {"min": lo, "max": hi},
        "floor_grid_m": FLOOR_GRID_M,
        "subject_right_xy": subject_right_xy(pts),
        "frame": "the calibration's lab frame: x, y on the floor, z up, m",
    }


def subject_right_xy(points_lab_m: np.ndarray) -> list[float] | None:
    """The subject's right on the floor: the unit (x, y) of the median vector from the left to the
    right shoulder (MediaPipe landmarks 11 -> 12) over the recording; None when never triangulated.
    The lab's x axis is the calibration's, not the subject's: this shows which way they faced."""
    d = points_lab_m[:, 12, :2] - points_lab_m[:, 11, :2]
    d = d[np.isfinite(d).all(axis=1)]
    if not len(d):
        return None
    m = np.median(d, axis=0)
    n = float(np.hypot(*m))
    return [float(m[0] / n), float(m[1] / n)] if n > 0 else None


def _extent_px(image_px: np.ndarray) -> list[int]:
    """A canvas size that holds every landmark (no frame size stored): at least 640 x 480 px."""
    finite = image_px[..., :2][np.isfinite(image_px[..., 0])]
    if not finite.size:
        return [640, 480]
    hi = np.nanmax(finite, axis=0)
    return [max(640, int(hi[0] * 1.05)), max(480, int(hi[1] * 1.05))]


def _frame_index(o: Opened, i: Any) -> int:
    try:
        k = int(i)
    except (TypeError, ValueError):
        raise MovekitError(f"frame {i!r} is not a whole number") from None
    if not 0 <= k < len(o.pose):
        raise MovekitError(f"frame {k} is outside this recording (0-{len(o.pose) - 1})")
    return k


def pose_json(o: Opened, i: Any) -> dict[str, Any]:
    """Frame ``i``: its time, image landmarks (px, x right / y down), visibility and gated angles
    with their expected errors (deg; None where refused)."""
    k = _frame_index(o, i)
    an = o.analysis
    if o.kind == "3d":
        return _pose_json_3d(o, k)
    return {
        "i": k,
        "t_s": float(o.pose.t_s[k] - o.pose.t_s[0]),
        "image_px": [[None if not math.isfinite(c) else c for c in row] for row in o.pose.image_px[k].tolist()],
        "visibility": _floats(o.pose.visibility[k]),
        "detected": bool(o.pose.detected[k]),
        "angles_deg": {n: _floats(an.angles[n][k : k + 1])[0] for n in o.timeline["angles"]},
        "err_deg": {n: _floats(an.error_deg[n][k : k + 1])[0] for n in o.timeline["angles"]},
        "view": str(an.view[k]),
    }


def _pose_json_3d(o: Opened, k: int) -> dict[str, Any]:
    """Frame ``k`` of a triangulated recording: lab landmarks (m, z up; None where not
    triangulated), views used and reprojection error (px) per landmark, the gated angles with
    their measured errors (deg), and each camera's frame index at this instant."""
    an = o.analysis
    return {
        "kind": "3d",
        "i": k,
        "t_s": float(o.pose.t_s[k] - o.pose.t_s[0]),
        "points_m": [[None if not math.isfinite(c) else c for c in row] for row in o.pose.points_lab_m[k].tolist()],
        "views": _floats(o.views_used[k]),
        "reproj_px": _floats(o.reproj_px[k]),
        "views_torso": float(o.torso_views[k]),
        "angles_deg": {n: _floats(an.angles[n][k : k + 1])[0] for n in o.timeline["angles"]},
        "err_deg": {n: _floats(an.error_deg[n][k : k + 1])[0] for n in o.timeline["angles"]},
        "cameras": [
            {"name": c["name"], "path": c["path"], "i": None if c["index"] is None else c["index"][k]}
            for c in o.cameras
        ],  # fmt: skip
    }


def frame_jpeg(o: Opened, i: Any, quality: int = 80) -> bytes | None:
    """Frame ``i`` of the saved video as JPEG (at most :data:`JPEG_MAX_SIDE_PX`), None without one."""
    import cv2

    k = _frame_index(o, i)
    if o.video is None:
        return None
    img = o.video.read(k)
    if img is None:
        return None
    h, w = img.shape[:2]
    scale = JPEG_MAX_SIDE_PX / max(h, w)
    if scale < 1:
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None


# -- pages and routes -----------------------------------------------------------------------
def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


class ResearchPages:
    """Page builders (the templates ``research_*.html``; the page logic is ``static/research.js``)."""

    def __init__(self, config, env=None) -> None:
        self.config, self.env = config, env or _env()

    def render(self, template: str, **ctx: Any) -> str:
        return self.env.get_template(template).render(live=getattr(self.config, "live", None), **ctx)

    def listing(self, extra: str | None) -> str:
        folder = Path(self.config.recordings_dir)
        paths, sets = find_recordings(folder), find_capture_sets(folder)
        if extra:
            p = Path(extra).expanduser()
            paths = [*(find_recordings(p) if p.is_dir() and not (p / "meta.json").exists() else [p]), *paths]
            sets = [*find_capture_sets(p), *sets]
        rows = [summarise(p) for p in dict.fromkeys(paths)]
        set_rows = [summarise_set(p) for p in dict.fromkeys(sets)]
        return self.render("research_list.html", rows=rows, sets=set_rows, folder=str(folder), extra=extra or "")

    def view(self, path: str) -> str:
        o = open_for_research(path)
        return self.render("research_view.html", o=o.timeline)

    def compare(self, a: str, b: str, angle: str | None) -> str:
        ta, tb = open_for_research(a).timeline, open_for_research(b).timeline
        names = [n for n in ta["angles"] if n in tb["angles"]]
        names += [n for n in (*ta["angles"], *tb["angles"]) if n not in names]
        if angle and angle not in names:
            raise MovekitError(f"{angle} is not shown in either recording (shown: {', '.join(names) or 'none'})")
        return self.render("research_compare.html", a=ta, b=tb, names=names, angle=angle or (names or [""])[0])


def routes(config, env=None) -> list:
    """The researcher's routes (see the module docstring) for :func:`movekit.studio.app.create_app`."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    pages = ResearchPages(config, env)

    def page(build):
        async def endpoint(request: Request) -> Response:
            try:
                return HTMLResponse(await run_in_threadpool(build, request.query_params))
            except MovekitError as exc:
                back = request.headers.get("referer") or "/research"
                return HTMLResponse(pages.render("error.html", message=str(exc), back=back), 400)

        return endpoint

    def api(build):
        async def endpoint(request: Request) -> Response:
            q = request.query_params
            try:
                return await run_in_threadpool(build, open_for_research(q.get("path", "")), q)
            except MovekitError as exc:
                return JSONResponse({"error": str(exc)}, 400)

        return endpoint

    def jpeg(o: Opened, q) -> Response:
        data = frame_jpeg(o, q.get("i"))
        if data is None:
            return JSONResponse({"error": "this recording kept no video for that frame"}, 404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})

    return [
        Route("/research", page(lambda q: pages.listing(q.get("path")))),
        Route("/research/view", page(lambda q: pages.view(q.get("path", "")))),
        Route("/research/compare", page(lambda q: pages.compare(q.get("a", ""), q.get("b", ""), q.get("angle")))),
        Route("/research/api/recording", api(lambda o, q: JSONResponse(o.timeline))),
        Route("/research/api/pose", api(lambda o, q: JSONResponse(pose_json(o, q.get("i"))))),
        Route("/research/api/frame", api(jpeg)),
    ]


__all__ = [
    "Opened",
    "ResearchPages",
    "VideoFrames",
    "angle_series",
    "camera_views",
    "few_view_runs",
    "find_capture_sets",
    "find_recordings",
    "frame_jpeg",
    "open_for_research",
    "pose_json",
    "routes",
    "summarise",
    "subject_right_xy",
    "summarise_set",
    "timeline_json",
    "views_torso",
]
