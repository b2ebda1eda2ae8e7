"""The result card's plot: the screen's joint angles over the recording, as inline SVG.

The angles are the recording's live stream (causally cleaned and gated when recorded: a refused
angle is a gap, never a number); events (pain, pain gone, markers) are vertical lines. Nothing is
computed here beyond scaling to the picture.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

#: The angles plotted for each screen (live stream channel names, deg), in order of preference.
SCREEN_ANGLES: dict[str, tuple[str, ...]] = {
    "painful-arc": ("left_shoulder_abduction", "right_shoulder_abduction"),
    "hip-hinge": ("trunk_inclination", "left_hip_flexion", "right_hip_flexion"),
    "lumbar-flexion": ("trunk_inclination",),
    "balance": ("trunk_lateral_lean", "trunk_inclination"),
    "single-leg-stance": ("left_knee_flexion", "right_knee_flexion", "trunk_lateral_lean"),
    "step-down": ("left_knee_flexion", "right_knee_flexion", "left_knee_fppa", "right_knee_fppa"),
    "sit-to-stand": ("left_hip_flexion", "right_hip_flexion", "left_knee_flexion", "right_knee_flexion"),
    "tug": ("trunk_inclination", "left_knee_flexion", "right_knee_flexion"),
    "squat": ("left_knee_flexion", "right_knee_flexion", "left_hip_flexion", "right_hip_flexion"),
    "posture": ("trunk_inclination", "trunk_lateral_lean", "pelvis_obliquity"),
}
COLOURS = ("#1f5fa8", "#c2571a", "#2e8b57", "#7b3fa0")
EVENT_COLOURS = {"pain": "#c0182a", "pain_resolved": "#2e8b57", "marker": "#666666"}


def _nice_range(lo: float, hi: float) -> tuple[float, float]:
    if not np.isfinite(lo) or not np.isfinite(hi):
        return 0.0, 1.0
    if hi - lo < 10:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 5, mid + 5
    return float(np.floor(lo / 10) * 10), float(np.ceil(hi / 10) * 10)


def _polylines(t: np.ndarray, v: np.ndarray, x, y) -> list[str]:
    """Point lists of the finite runs of ``v`` (a refused stretch is a gap)."""
    ok = np.isfinite(v) & np.isfinite(t)
    runs, cur = [], []
    for ti, vi, k in zip(t, v, ok):
        if k:
            cur.append(f"{x(ti):.1f},{y(vi):.1f}")
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return [" ".join(r) for r in runs if len(r) > 1]


def angle_plot_svg(
    t_s,
    series: dict[str, np.ndarray],
    events: list[dict],
    *,
    y_label: str = "angle (deg)",
    limit_deg: float | None = None,
    width_px: int = 720,
    height_px: int = 260,
) -> str:
    """An SVG line plot of angle series (deg) over time (s from the start), with event lines.

    Parameters
    ----------
    t_s : (frames,) s from the start of the recording
    series : name -> (frames,) deg, NaN where refused or not measured
    events : dicts with ``t_s`` (same clock as ``t_s``) and ``kind``
    y_label : the vertical axis' label, with its unit
    limit_deg : a horizontal line drawn at this value (e.g. the error gate's 5 deg)
    """
    t = np.asarray(t_s, dtype=np.float64)
    left, right, top, bottom = 48, 12, 12, 36
    pw, ph = width_px - left - right, height_px - top - bottom
    vals = np.concatenate([np.asarray(v, dtype=np.float64) for v in series.values()]) if series else np.array([])
    if limit_deg is not None:
        vals = np.append(vals, [0.0, limit_deg])
    lo, hi = _nice_range(np.nanmin(vals) if np.isfinite(vals).any() else np.nan,
                         np.nanmax(vals) if np.isfinite(vals).any() else np.nan)  # fmt: skip
    t0, t1 = (float(t[0]), float(t[-1])) if len(t) > 1 and t[-1] > t[0] else (0.0, 1.0)

    def x(v: float) -> float:
        return left + (v - t0) / (t1 - t0) * pw

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {width_px} {height_px}" '
           f'width="{width_px}" height="{height_px}" role="img" aria-label="joint angles over time">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#999"/>']  # fmt: skip
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">{v:.0f}</text>')
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
    for k in range(6):
        v = t0 + (t1 - t0) * k / 5
        out.append(f'<text x="{x(v):.1f}" y="{top + ph + 14}" text-anchor="middle" font-size="11">{v - t0:.1f}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height_px - 4}" text-anchor="middle" font-size="12">time (s)</text>')
    out.append(f'<text x="12" y="{top + ph / 2}" font-size="12" transform="rotate(-90 12 {top + ph / 2})" '
               f'text-anchor="middle">{escape(y_label)}</text>')  # fmt: skip
    if limit_deg is not None:
        out.append(f'<line class="limit" x1="{left}" x2="{left + pw}" y1="{y(limit_deg):.1f}" y2="{y(limit_deg):.1f}" '
                   f'stroke="#b3261e" stroke-width="1.5"/><text x="{left + pw - 4}" y="{y(limit_deg) - 4:.1f}" '
                   f'text-anchor="end" font-size="11" fill="#b3261e">limit {limit_deg:g} deg</text>')  # fmt: skip
    for ev in events:
        te = float(ev.get("t_s", np.nan))
        if np.isfinite(te) and t0 <= te <= t1:
            c = EVENT_COLOURS.get(ev.get("kind"), "#999")
            out.append(f'<line class="event {escape(str(ev.get("kind")))}" x1="{x(te):.1f}" x2="{x(te):.1f}" '
                       f'y1="{top}" y2="{top + ph}" stroke="{c}" stroke-dasharray="4 3"/>')  # fmt: skip
    for i, (name, v) in enumerate(series.items()):
        c = COLOURS[i % len(COLOURS)]
        for pts in _polylines(t, np.asarray(v, dtype=np.float64), x, y):
            out.append(f'<polyline class="series" fill="none" stroke="{c}" stroke-width="1.6" points="{pts}"/>')
        out.append(f'<text x="{left + 8}" y="{top + 16 + 14 * i}" font-size="12" fill="{c}">'
                   f"{escape(name.replace('_', ' '))} (deg)</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def recording_plot(path: str | Path, screen: str) -> tuple[str | None, str]:
    """``(svg, caption)`` for a recording and screen; svg None (and the caption says why) when no
    angle of the screen passed the error gate anywhere in it."""
    from movekit.live import LIVE_STREAM
    from movekit.recording import open_recording

    rec = open_recording(path)
    st = rec.streams.get(LIVE_STREAM)
    if st is None or len(st.t_s) < 2:
        return None, "no live angles in this recording"
    names = list(st.spec.channel_names or ())
    data = np.asarray(st.data, dtype=np.float64).reshape(len(st.t_s), -1)
    series = {}
    for name in SCREEN_ANGLES.get(screen, ()):
        if name in names and np.isfinite(data[:, names.index(name)]).sum() >= 2:
            series[name] = data[:, names.index(name)]
    if not series:
        return _error_plot(rec, screen)
    t0 = float(st.t_s[0])
    t = np.asarray(st.t_s, dtype=np.float64) - t0
    events = [{**e, "t_s": float(e["t_s"]) - t0} for e in rec.events if e.get("kind") in EVENT_COLOURS]
    caption = (
        "Joint angles as recorded live (gaps: refused, expected error over 5 deg or not seen); "
        "dashed lines: red pain, green pain gone, grey marker."
    )
    return angle_plot_svg(t, series, events), caption


def _error_plot(rec, screen: str) -> tuple[str | None, str]:
    """When every angle of the screen was refused: their expected error over the recording against
    the limit (the analysis' own figures, :func:`movekit.calibration.analyse_calibrated`)."""
    from movekit.analysis.error_model import MAX_ERROR_DEG
    from movekit.calibration import analyse_calibrated

    an = analyse_calibrated(rec.pose(), space="2d", offline=True)
    series = {}
    for name in SCREEN_ANGLES.get(screen, ()):
        e = an.error_deg.get(f"{name}_deg")
        if e is not None and np.isfinite(e).any():
            series[f"{name} expected error"] = np.asarray(e, dtype=np.float64)
    if not series:
        return None, "none of this test's angles could be measured in this recording (see the validity lines)"
    t0 = float(an.t_s[0])
    events = [{**e, "t_s": float(e["t_s"]) - t0} for e in rec.events if e.get("kind") in EVENT_COLOURS]
    svg = angle_plot_svg(np.asarray(an.t_s) - t0, series, events, y_label="expected error (deg)",
                         limit_deg=MAX_ERROR_DEG)  # fmt: skip
    caption = (
        f"No angle of this test is shown: in this view its expected error (measured, docs/validity.md) stays "
        f"over the {MAX_ERROR_DEG:g} deg limit, so the angle is refused. Dashed lines: red pain, green pain "
        "gone, grey marker."
    )
    return svg, caption


__all__ = ["SCREEN_ANGLES", "angle_plot_svg", "recording_plot"]
