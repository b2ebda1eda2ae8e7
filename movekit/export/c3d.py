"""C3D with points, analog channels and events, written with ezc3d.

C3D has one point rate and one analog rate, an integer multiple of it. Points are the markers
of :mod:`movekit.export.markers` in millimetres (residual -1 where missing). Every other stream
(EMG, BLE sensors, live angles) becomes analog channels: each is linearly interpolated from its
own rate onto the analog clock, the smallest multiple of the point rate at or above the fastest
stream; ``ANALOG:DESCRIPTIONS`` names each channel's stream, kind and original rate, and NaN marks
where a stream has no samples. Frame 1 is at or before the earliest sample of any stream (the
points are blank, residual -1, in frames without a marker frame), so no sample is dropped;
``MOVEKIT:T0_S`` is frame 1's session-clock time. Events carry the recording's events
(``EVENT:LABELS`` = kind) at their time from frame 1; one before frame 1 is left out (and listed
in the sidecar), never given a negative time.

Every file has ``POINT:X_SCREEN`` ``+X`` and ``POINT:Y_SCREEN`` ``+Y`` (:data:`SCREEN`): all the
marker sets are Y up. A recording made by ``movekit triangulate`` gives its triangulated landmarks
as the points (the axes of :func:`movekit.export.markers.from_lab`: the lab frame turned to Y up);
its per-landmark views and reprojection errors are analog channels at the point rate.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from movekit.export.markers import Markers, resample
from movekit.export.signals import Signal

REQUIREMENT = "ezc3d>=1.5"


#: ``POINT:X_SCREEN``, ``POINT:Y_SCREEN`` of every export: each marker set of
#: :mod:`movekit.export.markers` has Y up and X rightwards as seen (the image's x for one camera,
#: the lab's x for a triangulation), so viewers such as Mokka show the body upright
SCREEN = ("+X", "+Y")


def _ezc3d():
    try:
        import ezc3d
    except ImportError:
        from movekit.errors import MovekitError

        raise MovekitError(f"C3D export needs ezc3d: pip install '{REQUIREMENT}'") from None
    return ezc3d


def analog_rate_hz(point_rate_hz: float, signals: list[Signal]) -> tuple[float, int]:
    """(analog rate, samples per frame): the smallest multiple of the point rate >= every stream's rate."""
    fastest = max((s.rate_hz for s in signals), default=point_rate_hz)
    ratio = max(1, math.ceil(fastest / point_rate_hz - 1e-9))
    return point_rate_hz * ratio, ratio


def cover(markers: Markers, signals: list[Signal], a_rate: float, ratio: int) -> tuple[Markers, int]:
    """(``markers`` with blank frames added at its own rate, frames added before): frame 1 at or
    before the earliest sample of any stream, the last frame's analog samples reaching the latest.

    The recorded frames keep their times; an added frame is missing in every marker (residual -1)."""
    t, rate = np.asarray(markers.t_s, np.float64), float(markers.rate_hz)
    first = min([float(s.t_s[0]) for s in signals] + [float(t[0])])
    last = max([float(s.t_s[-1]) for s in signals] + [float(t[-1])])
    before = max(0, math.ceil((t[0] - first) * rate - 1e-6))
    after = max(0, math.ceil((last - (ratio - 1) / a_rate - t[-1]) * rate - 1e-6))
    blank = np.full((1,) + markers.xyz_m.shape[1:], np.nan)
    return (
        replace(
            markers,
            t_s=np.concatenate([t[0] - np.arange(before, 0, -1) / rate, t, t[-1] + np.arange(1, after + 1) / rate]),
            xyz_m=np.concatenate([np.repeat(blank, before, 0), markers.xyz_m, np.repeat(blank, after, 0)]),
        ),
        before,
    )


def _points(c, markers: Markers) -> None:
    """POINT parameters and data: mm, residual -1 (C3D's invalid point) where a marker is missing."""
    pts = np.transpose(markers.xyz_m * 1000.0, (2, 1, 0))  # (3, markers, frames), mm
    missing = ~np.isfinite(pts).all(axis=0)
    points = np.ones((4, pts.shape[1], pts.shape[2]))
    points[:3] = np.where(missing, 0.0, pts)
    c["parameters"]["POINT"]["RATE"]["value"] = [float(markers.rate_hz)]
    c["parameters"]["POINT"]["LABELS"]["value"] = list(markers.names)
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c["data"]["points"] = points
    c["data"]["meta_points"] = {"residuals": np.where(missing, -1.0, 0.0)[None]}


def _analogs(c, signals: list[Signal], t_analog: np.ndarray, a_rate: float) -> tuple[list[str], dict]:
    """ANALOG parameters and data; (labels, per stream the NaN samples before its first and after its
    last sample: the analog clock runs from frame 1 to the last frame's last sample)."""
    labels, units, descriptions, rows, padding = [], [], [], [], {}
    for s in signals:
        x = resample(s.t_s, s.data, t_analog)
        padding[s.name] = [int((t_analog < s.t_s[0]).sum()), int((t_analog > s.t_s[-1]).sum())]
        for j, ch in enumerate(s.channels):
            labels.append(f"{s.name}.{ch}")
            units.append(s.unit)
            descriptions.append(
                f"{s.kind} stream {s.name}, {'nominal' if s.nominal else 'median'} "
                f"{s.rate_hz:g} Hz, linearly resampled to {a_rate:g} Hz"
            )
            rows.append(x[:, j])
    c["parameters"]["ANALOG"]["RATE"]["value"] = [a_rate]
    if labels:
        c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
        c["parameters"]["ANALOG"]["UNITS"]["value"] = units
        c["parameters"]["ANALOG"]["DESCRIPTIONS"]["value"] = descriptions
    c["data"]["analogs"] = np.asarray(rows, np.float64).reshape(len(rows), len(t_analog))[None]
    return labels, padding


def _events(c, events: list[dict], t0: float) -> tuple[int, list[dict]]:
    """EVENT entries at their time from frame 1 (``t0`` s on the session clock); (placed, left out):
    an event before frame 1 is left out, never given a negative or wrapped time."""
    placed, left_out = 0, []
    for ev in sorted(events, key=lambda e: float(e.get("t_s", math.nan))):
        t_s = float(ev.get("t_s", math.nan))
        if not math.isfinite(t_s) or t_s - t0 < -1e-9:
            left_out.append({"t_s": t_s, "kind": ev.get("kind"), "why": "before frame 1 (no time in the file)"})
            continue
        minutes, seconds = divmod(max(t_s - t0, 0.0), 60.0)
        extra = {k: v for k, v in ev.items() if k not in ("t_s", "kind")}
        c.add_event(
            [int(minutes), float(seconds)],
            context="General",
            label=str(ev.get("kind", "event")),
            description=json.dumps(extra, default=str)[:255],
        )
        placed += 1
    return placed, left_out


def write_c3d(
    path: str | Path,
    markers: Markers,
    signals: list[Signal],
    events: list[dict],
    notes: dict | None = None,
) -> dict:
    """Write ``path``; return what went where (rates, channel labels, events, the time origin).

    Frame 1 is at or before the earliest sample of any stream (:func:`cover`): the points are
    blank (residual -1) before the first marker frame and after the last; analog samples and
    events keep their session-clock times, ``t0_s`` (``MOVEKIT:T0_S``) being frame 1's.
    ``POINT:X_SCREEN`` and ``POINT:Y_SCREEN`` are :data:`SCREEN`."""
    ezc3d = _ezc3d()
    c = ezc3d.c3d()
    a_rate, ratio = analog_rate_hz(float(markers.rate_hz), signals)
    markers, before = cover(markers, signals, a_rate, ratio)
    n_frames, t0 = len(markers.t_s), float(markers.t_s[0])
    _points(c, markers)
    c.add_parameter("POINT", "X_SCREEN", [SCREEN[0]], "axis a viewer shows rightwards")
    c.add_parameter("POINT", "Y_SCREEN", [SCREEN[1]], "axis a viewer shows upwards")
    labels, padding = _analogs(c, signals, t0 + np.arange(n_frames * ratio) / a_rate, a_rate)
    n_events, left_out = _events(c, events, t0)
    for key, value in (notes or {}).items():
        c.add_parameter("MOVEKIT", key.upper()[:30], [str(value)])
    c.add_parameter("MOVEKIT", "T0_S", [f"{t0:.6f}"], "session-clock time (s) of frame 1 and analog sample 1")
    c.add_parameter("MOVEKIT", "FIRST_POSE_FRAME", [before + 1], "frame of the first recorded marker frame")
    c.write(str(path))
    return {
        "point_rate_hz": float(markers.rate_hz),
        "analog_rate_hz": a_rate,
        "analog_labels": labels,
        "events": n_events,
        "events_left_out": left_out,
        "frames": n_frames,
        "t0_s": t0,
        "first_pose_frame": before + 1,
        "time_origin": f"frame 1 (time 0 of points, analogs and events) is {t0:.6f} s on the session clock",
        "analog_nan_samples": padding,
        "screen": SCREEN,
        "analog_missing": "NaN where a stream has no sample: [before its first, after its last] per stream in "
        f"analog_nan_samples (C3D holds {ratio} analog samples in every frame, so the ends are padded)",
    }
