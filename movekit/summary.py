"""One-screen summary of a recording (``movekit info``)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from movekit.recording import Recording


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
    if "pose_image_px" in rec.streams:
        pose = rec.pose()
        out["frames"] = len(pose)
        out["detection_rate"] = float(pose.detected.mean()) if len(pose) else 0.0
        out["frames_dropped"] = int(sum(e.get("count", 0) for e in rec.events if e.get("kind") == "frames_dropped"))
        out["pose_model"] = rec.metadata.get("pose_model", {})
    return out


def format_summary(s: dict) -> str:
    lines = [
        f"recording  {s['path']}  ({'closed cleanly' if s['closed'] else 'NOT closed: recovered after a stop or crash'})",
        f"duration   {s['duration_s']:.2f} s   source {s.get('source')}   movekit {s.get('movekit_version')}",
    ]
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
