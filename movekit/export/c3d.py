"""C3D with points, analog channels and events, written with ezc3d.

C3D has one point rate and one analog rate, an integer multiple of it. Points are the markers
of :mod:`movekit.export.markers` in millimetres (residual -1 where missing). Every other stream
(EMG, BLE sensors, live angles) becomes analog channels: each is linearly interpolated from its
own rate onto the analog clock, the smallest multiple of the point rate at or above the fastest
stream; ``ANALOG:DESCRIPTIONS`` names each channel's stream, kind and original rate, and NaN marks
where a stream has no samples. Events carry the recording's events (``EVENT:LABELS`` = kind) at
their time from the first frame.

A recording made by ``movekit triangulate`` gives its triangulated landmarks as the points (the
axes of :func:`movekit.export.markers.from_lab`: the lab frame turned to Y up, ``POINT:X_SCREEN``
``+X`` and ``POINT:Y_SCREEN`` ``+Y`` telling viewers such as Mokka which way is up); its per-landmark
views and reprojection errors are analog channels at the point rate.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from movekit.export.markers import Markers, resample
from movekit.export.signals import Signal

REQUIREMENT = "ezc3d>=1.5"


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


def write_c3d(
    path: str | Path,
    markers: Markers,
    signals: list[Signal],
    events: list[dict],
    notes: dict | None = None,
    screen: tuple[str, str] | None = None,
) -> dict:
    """Write ``path``; return what went where (rates, channel labels, event count).

    ``screen``: ``POINT:X_SCREEN`` and ``POINT:Y_SCREEN`` (the axes a viewer shows rightwards and
    upwards, e.g. ``("+X", "+Y")``); not written when None."""
    ezc3d = _ezc3d()
    c = ezc3d.c3d()
    n_frames = len(markers.t_s)
    t0 = float(markers.t_s[0]) if n_frames else 0.0
    rate = float(markers.rate_hz)
    pts = np.transpose(markers.xyz_m * 1000.0, (2, 1, 0))  # (3, markers, frames), mm
    missing = ~np.isfinite(pts).all(axis=0)
    points = np.ones((4, pts.shape[1], n_frames))
    points[:3] = np.where(missing, 0.0, pts)
    c["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c["parameters"]["POINT"]["LABELS"]["value"] = list(markers.names)
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    if screen is not None:
        c.add_parameter("POINT", "X_SCREEN", [screen[0]])
        c.add_parameter("POINT", "Y_SCREEN", [screen[1]])
    c["data"]["points"] = points
    c["data"]["meta_points"] = {"residuals": np.where(missing, -1.0, 0.0)[None]}

    a_rate, ratio = analog_rate_hz(rate, signals)
    t_analog = t0 + np.arange(n_frames * ratio) / a_rate
    labels, units, descriptions, rows = [], [], [], []
    for s in signals:
        x = resample(s.t_s, s.data, t_analog)
        for j, ch in enumerate(s.channels):
            labels.append(f"{s.name}.{ch}")
            units.append(s.unit)
            descriptions.append(
                f"{s.kind} stream {s.name}, {'nominal' if s.nominal else 'median'} "
                f"{s.rate_hz:g} Hz, linearly resampled to {a_rate:g} Hz"
            )
            rows.append(x[:, j])
    if labels:
        c["parameters"]["ANALOG"]["RATE"]["value"] = [a_rate]
        c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
        c["parameters"]["ANALOG"]["UNITS"]["value"] = units
        c["parameters"]["ANALOG"]["DESCRIPTIONS"]["value"] = descriptions
        c["data"]["analogs"] = np.asarray(rows, np.float64)[None]
    else:
        c["parameters"]["ANALOG"]["RATE"]["value"] = [a_rate]
        c["data"]["analogs"] = np.zeros((1, 0, n_frames * ratio))

    n_events = 0
    for ev in sorted(events, key=lambda e: float(e.get("t_s", math.nan))):
        t = float(ev.get("t_s", math.nan)) - t0
        if not math.isfinite(t):
            continue
        minutes, seconds = divmod(t, 60.0)
        extra = {k: v for k, v in ev.items() if k not in ("t_s", "kind")}
        c.add_event(
            [int(minutes), float(seconds)],
            context="General",
            label=str(ev.get("kind", "event")),
            description=json.dumps(extra, default=str)[:255],
        )
        n_events += 1
    for key, value in (notes or {}).items():
        c.add_parameter("MOVEKIT", key.upper()[:30], [str(value)])
    c.add_parameter("MOVEKIT", "T0_S", [f"{t0:.6f}"])
    c.write(str(path))
    return {
        "point_rate_hz": rate,
        "analog_rate_hz": a_rate,
        "analog_labels": labels,
        "events": n_events,
        "frames": n_frames,
        "t0_s": t0,
    }
