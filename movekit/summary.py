"""One-screen summary of a recording (``movekit info``).

A recording made by ``movekit triangulate`` (or ``movekit capture A B --calibration``) is described
by its triangulation: the views it came from, their cameras and calibration file, how far apart
the cameras were, the pose models, how many frames were triangulated and what went wrong in the
sources (its ``multiview`` metadata).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from movekit.errors import MovekitError
from movekit.recording import POSE_STREAMS, Recording

#: shoulders and hips: a frame counts as triangulated when all four are (as movekit triangulate counts)
TORSO = (11, 12, 23, 24)


def stream_gaps(t_s: np.ndarray, factor: float = 1.5) -> tuple[int, float]:
    """Gaps longer than ``factor`` times the median interval: (count, seconds missing)."""
    if len(t_s) < 3:
        return 0, 0.0
    dt = np.diff(t_s)
    med = float(np.median(dt))
    if med <= 0:
        return 0, 0.0
    big = dt > factor * med
    return int(big.sum()), float((dt[big] - med).sum())


def summarise(rec: Recording) -> dict:
    """Plain-data summary: duration, streams, rates, events, gaps, detection rate."""
    streams = {}
    t0, t1 = np.inf, -np.inf
    for name, s in sorted(rec.streams.items()):
        n = len(s)
        info = {
            "samples": n,
            "shape": list(s.spec.shape),
            "unit": s.spec.unit,
            "kind": s.spec.kind,
            "nominal_rate_hz": s.spec.rate_hz,
        }
        if n:
            t0, t1 = min(t0, float(s.t_s[0])), max(t1, float(s.t_s[-1]))
            info["start_s"], info["end_s"] = float(s.t_s[0]), float(s.t_s[-1])
        if n > 1:
            info["measured_rate_hz"] = float(1.0 / np.median(np.diff(s.t_s)))
            # samples delivered over the span: lost samples lower it (the median interval does not)
            span = float(s.t_s[-1] - s.t_s[0])
            info["delivered_rate_hz"] = float((n - 1) / span) if span > 0 else float("nan")
            info["gaps"], info["gap_s"] = stream_gaps(s.t_s)
        streams[name] = info
    out = {
        "path": str(rec.path),
        "closed": rec.closed,
        # marked closed by its writer, yet not holding what was written then: damaged since
        "damaged_after_close": rec.metadata.get("closed") is True and not rec.closed,
        "duration_s": float(t1 - t0) if t1 >= t0 else 0.0,
        "movekit_version": rec.metadata.get("movekit_version"),
        "source": rec.metadata.get("source", {}).get("source"),
        "streams": streams,
        "events": dict(Counter(e.get("kind", "?") for e in rec.events)),
        "problems": rec.problems,
        "source_ended_early": [e for e in rec.events if e.get("kind") == "source_ended_early"],
        "views_excluded": [e.get("text", "") for e in rec.events if e.get("kind") == "view_excluded"],
        "views_switched": [e.get("text", "") for e in rec.events if e.get("kind") == "view_switched"],
    }
    if any(n in rec.streams for n in POSE_STREAMS):
        try:
            out.update(_pose_summary(rec))
        except MovekitError as exc:  # a damaged recording: say what is there, and this
            out["pose_problem"] = str(exc)
    if "pose_3d_m" in rec.streams:
        out["triangulated"] = triangulation(rec)
        if out["source"] is None:
            n_views = len(out["triangulated"]["views"]) or len(out["triangulated"]["cameras"])
            out["source"] = f"triangulation of {n_views or 'unrecorded'} views"
    return out


def triangulation(rec: Recording) -> dict:
    """What a triangulated recording was made from: views (paths), cameras, calibration file,
    separation, pose models, offsets and sync, frames triangulated (all four torso joints, as
    ``movekit triangulate`` counts them) of all frames, landmarks triangulated, and problems."""
    mv = rec.metadata.get("multiview")
    mv = mv if isinstance(mv, dict) else {}
    src = rec.metadata.get("source")
    views = src.get("views") if isinstance(src, dict) else None
    st = rec.streams["pose_3d_m"]
    n = len(st.t_s)
    pts = np.asarray(st.data, np.float64)  # (frames, 33, 3), the stream's shape
    seen = np.isfinite(pts).all(axis=-1)
    torso = int(seen[:, list(TORSO)].all(axis=1).sum()) if n else 0
    sep = mv.get("separation_deg")
    return {
        "views": [str(v) for v in views] if isinstance(views, list) else [],
        "cameras": [str(c) for c in mv.get("cameras") or []],
        "calibration": mv.get("calibration"),
        "separation_deg": float(sep) if isinstance(sep, int | float) and not isinstance(sep, bool) else None,
        "pose_models": list(mv.get("pose_models") or []),
        "offsets_s": list(mv.get("offsets_s") or []),
        "sync": [str(x) for x in mv.get("sync") or []],
        "frames": n,
        "frames_triangulated": torso,
        "frames_triangulated_recorded": mv.get("frames_triangulated"),
        "landmarks_triangulated": float(seen.mean()) if n else 0.0,
        "frames_left_out_short_runs": mv.get("frames_left_out_short_runs"),
        "source_problems": [str(p) for p in mv.get("source_problems") or []],
        "vertical_from": mv.get("vertical_from"),
        "metadata_missing": not mv,
    }


def _pose_models_text(models: list) -> str:
    from movekit.analysis.error_model import POSE_MODELS

    if not models or all(m is None for m in models):
        return "pose models not recorded"
    names = [POSE_MODELS.get(m, str(m)) if m is not None else "not recorded" for m in models]
    return "pose model " + names[0] if len(set(names)) == 1 else "pose models " + ", ".join(names)


def format_triangulation(t: dict) -> list[str]:
    """The lines of :func:`triangulation` for :func:`format_summary`."""
    if t["metadata_missing"]:
        return [
            f"3d pose    {t['frames_triangulated']} of {t['frames']} frames triangulated; which cameras, calibration "
            "and sources are not recorded (no multiview metadata)"
        ]
    cams = t["cameras"]
    sep = t["separation_deg"]
    apart = f", {sep:.0f} deg apart" if sep is not None and np.isfinite(sep) and len(cams) == 2 else ""
    lines = [
        f"3d pose    {t['frames_triangulated']} of {t['frames']} frames triangulated (the four torso joints; "
        f"{100 * t['landmarks_triangulated']:.0f}% of landmarks) from {len(cams)} cameras "
        f"({', '.join(cams) or 'not recorded'}{apart}); {_pose_models_text(t['pose_models'])}; lab frame, z up",
        f"calibration {t['calibration'] or 'not recorded'}"
        + (f" (its vertical from: {t['vertical_from']})" if t.get("vertical_from") else ""),
    ]
    offsets = t["offsets_s"]
    for i, view in enumerate(t["views"]):
        cam = cams[i] if i < len(cams) else "?"
        off = f" (offset {offsets[i]:+.3f} s)" if i < len(offsets) and isinstance(offsets[i], int | float) else ""
        lines.append(f"view       {cam}: {view}{off}")
    for text in t["sync"]:
        lines.append(f"sync       {text}")
    short = t["frames_left_out_short_runs"]
    if isinstance(short, int) and short:
        lines.append(f"left out   {short} frames whose torso the views agreed on only briefly")
    for p in t["source_problems"]:
        lines.append(f"warning    source: {p}")
    return lines


def _pose_summary(rec: Recording) -> dict:
    pose = rec.pose()
    return {
        "frames": len(pose),
        "detection_rate": float(pose.detected.mean()) if len(pose) else 0.0,
        "frames_dropped": int(sum(e.get("count", 0) for e in rec.events if e.get("kind") == "frames_dropped")),
        "pose_model": rec.metadata.get("pose_model", {}),
    }


def _closed_text(s: dict) -> str:
    if s["closed"]:
        return "closed cleanly"
    if s.get("damaged_after_close"):
        return "closed cleanly, but damaged since: see the warnings"
    return "NOT closed: recovered after a stop or crash"


def format_summary(s: dict) -> str:
    lines = [
        f"recording  {s['path']}  ({_closed_text(s)})",
        f"duration   {s['duration_s']:.2f} s   source {s.get('source')}   movekit {s.get('movekit_version')}",
    ]
    if "triangulated" in s:
        lines.extend(format_triangulation(s["triangulated"]))
    if "pose_problem" in s:
        lines.append(f"pose       unreadable: {s['pose_problem']}")
    if "frames" in s:
        model = s.get("pose_model", {})
        lines.append(
            f"pose       {s['frames']} frames, person found in {100 * s['detection_rate']:.1f}%, "
            f"{s['frames_dropped']} dropped by movekit; model {model.get('backend', '?')} "
            f"complexity {model.get('model_complexity', '?')}"
        )
    lines.append("streams")
    for name, st in s["streams"].items():
        rate = st.get("measured_rate_hz")
        nominal = st.get("nominal_rate_hz")
        text = f"  {name:<18} {st['samples']:>7} samples  {tuple(st['shape'])}  {st['unit']:<4}"
        if rate:
            text += f" {rate:.1f} Hz measured"
            delivered = st.get("delivered_rate_hz")
            if delivered and np.isfinite(delivered) and abs(delivered - rate) > 0.01 * rate:
                text += f", {delivered:.1f} Hz delivered (samples lost)"
        if nominal:
            text += f" ({nominal:g} nominal)"
        if st.get("gaps"):
            text += f", {st['gaps']} gaps ({st['gap_s']:.2f} s)"
        lines.append(text)
    ev = s["events"]
    lines.append("events     " + (", ".join(f"{k} x{v}" for k, v in sorted(ev.items())) if ev else "none"))
    for text in s.get("views_excluded", []):
        lines.append(f"excluded   {text}")
    for text in s.get("views_switched", []):
        lines.append(f"switched   {text}")
    for p in s["problems"]:
        lines.append(f"warning    {p}")
    for e in s.get("source_ended_early", []):
        lines.append(
            f"warning    the source video ended early (truncated or damaged?): {e['frames_read']} of "
            f"the {e['frames_declared']} frames its container declares were read"
        )
    return "\n".join(lines)
