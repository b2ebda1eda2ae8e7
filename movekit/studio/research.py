"""The researcher's pages of movekit studio: open a recording, scrub through it, compare two.

``routes(config, env)`` gives the Starlette routes :func:`movekit.studio.app.create_app` mounts:

======================================  ==============================================================
``/research``                           the recordings under the studio's folder (``?path=`` adds any
                                        other), each with its problems when it is cut short or damaged
``/research/view?path=P``               scrub: the frame with the skeleton, a time slider, the gated
                                        angle plots with a cursor, refused stretches as gaps, events
``/research/compare?a=P&b=Q&angle=N``   two recordings side by side, each scrubbable, one angle of
                                        both on one plot
``/research/api/recording?path=P``      JSON: time axis, gated angles with their expected errors,
                                        the refused stretches with the reason, events
``/research/api/pose?path=P&i=N``       JSON: frame N's image landmarks (px), visibility, angles
``/research/api/frame?path=P&i=N``      JPEG: frame N of the recording's saved video (404 without)
======================================  ==============================================================

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
    recording nothing can be read from gets ``error`` instead of crashing the list)."""
    from movekit.capture.inputs import RAW_VIDEO
    from movekit.recording import POSE_STREAMS, open_recording

    path = Path(path)
    row: dict[str, Any] = {"path": str(path), "name": path.name, "problems": [], "error": None}
    try:
        rec = open_recording(path)
    except MovekitError as exc:
        return {**row, "error": str(exc)}
    pose_ok = all(n in rec.streams for n in POSE_STREAMS)
    n = min((len(rec.streams[s]) for s in POSE_STREAMS), default=0) if pose_ok else 0
    t = rec.streams["pose_image_px"].t_s[:n] if pose_ok else np.zeros(0)
    problems = list(rec.problems) + ([] if pose_ok else ["no pose streams: nothing to scrub"])
    return {**row, "problems": problems, "frames": n, "duration_s": float(t[-1] - t[0]) if n > 1 else 0.0,
            "video": (path / RAW_VIDEO).is_file(), "client": rec.metadata.get("client"),
            "test": rec.metadata.get("screen") or rec.metadata.get("test"), "scrubbable": pose_ok and n > 0}  # fmt: skip


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
    """A recording opened for the researcher's pages: its pose and its gated analysis."""

    path: Path
    rec: Any  #: movekit.recording.Recording
    pose: Any  #: movekit.recording.PoseSeries
    analysis: Any  #: movekit.analysis.pipeline.AnalysisResult
    video: VideoFrames | None
    timeline: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=6)
def _open_cached(path: str, stamp: tuple) -> Opened:
    from movekit.calibration import analyse_calibrated
    from movekit.capture.inputs import RAW_VIDEO
    from movekit.recording import open_recording

    rec = open_recording(path)
    pose = rec.pose()
    if len(pose) == 0:
        raise MovekitError(f"{path}: no pose frames to scrub" + "".join(f"; {p}" for p in rec.problems))
    analysis = analyse_calibrated(pose, space="2d", offline=True)
    video = VideoFrames(Path(path) / RAW_VIDEO) if (Path(path) / RAW_VIDEO).is_file() else None
    opened = Opened(Path(path), rec, pose, analysis, video)
    opened.timeline = timeline_json(opened)
    return opened


def open_for_research(path: str | Path) -> Opened:
    """The recording at ``path`` with its analysis (cached while its files are unchanged).

    Raises
    ------
    MovekitError
        Not a recording, nothing readable, or no pose in it.
    """
    from movekit.recording import EVENTS_FILE, META_FILE

    p = Path(str(path)).expanduser()
    if not str(path).strip():
        raise MovekitError("give the path of a recording (a folder holding meta.json)")
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


def angle_series(an, t_rel_s: np.ndarray) -> tuple[dict, dict]:
    """``(shown, refused)``: the gated angles with any valid frame -> values, expected errors and
    the refused stretches (gaps) with the reason; every other angle -> why it is never shown."""
    shown, refused = {}, {}
    for name, v in an.angles.items():
        ok = np.isfinite(v)
        if not ok.any():
            refused[name] = an.reason(name)
            continue
        gaps = [{"i0": i0, "i1": i1, "start_s": float(t_rel_s[i0]), "end_s": float(t_rel_s[i1]),
                 "reason": _gap_reason(an, name, i0, i1)} for i0, i1 in _runs(~ok)]  # fmt: skip
        shown[name] = {"deg": _floats(v), "err_deg": _floats(an.error_deg[name]), "gaps": gaps}
    return shown, refused


def timeline_json(o: Opened) -> dict[str, Any]:
    """The whole recording for the scrub page: time (s from the first frame), angles, events."""
    an, pose = o.analysis, o.pose
    t = np.asarray(pose.t_s, dtype=np.float64)
    t_rel = t - t[0]
    shown, refused = angle_series(an, t_rel)
    events = [{"t_s": float(e["t_s"]) - float(t[0]), "kind": str(e["kind"]),
               "label": str(e.get("label") or e.get("note") or e["kind"]).replace("_", " ")}
              for e in o.rec.events if isinstance(e.get("t_s"), (int, float))]  # fmt: skip
    w, h = pose.frame_size_px
    return {
        "path": str(o.path),
        "name": o.path.name,
        "frames": len(t),
        "t0_s": float(t[0]),
        "t_s": _floats(t_rel),
        "frame_size_px": [w, h] if w and h else _extent_px(pose.image_px),
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
        paths = find_recordings(folder)
        if extra:
            p = Path(extra).expanduser()
            paths = [*(find_recordings(p) if p.is_dir() and not (p / "meta.json").exists() else [p]), *paths]
        rows = [summarise(p) for p in dict.fromkeys(paths)]
        return self.render("research_list.html", rows=rows, folder=str(folder), extra=extra or "")

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
    "find_recordings",
    "frame_jpeg",
    "open_for_research",
    "pose_json",
    "routes",
    "summarise",
    "timeline_json",
]
