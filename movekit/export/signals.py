"""The non-pose streams of a recording (EMG, BLE sensors, live angles; a triangulated recording's
per-landmark views and reprojection errors) as flat channel tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from movekit.recording import POSE_STREAMS

#: a triangulated recording's landmarks (``movekit triangulate``): exported as markers, not channels
POSE_3D = "pose_3d_m"


@dataclass
class Signal:
    """One stream, channels flattened: ``data`` (samples, channels) float64 in ``unit``."""

    name: str
    kind: str
    t_s: np.ndarray
    data: np.ndarray
    channels: tuple[str, ...]
    unit: str
    rate_hz: float  #: nominal rate, else the median rate of its samples
    nominal: bool  #: False when the stream had no nominal rate (irregular samples)
    attrs: dict


def from_stream(s) -> Signal:
    """A :class:`movekit.recording.Stream` as a Signal; channels named like its columns without the unit."""
    from movekit.analysis.pipeline import frame_rate
    from movekit.recording import unit_suffix

    suffix = unit_suffix(s.spec.unit)
    channels = tuple(c.removesuffix(f"_{suffix}") if suffix else c for c in s.spec.columns())
    rate = s.spec.rate_hz
    return Signal(
        s.spec.name,
        s.spec.kind,
        s.t_s.astype(np.float64),
        s.channels.astype(np.float64),
        channels,
        s.spec.unit,
        float(rate) if rate else frame_rate(s.t_s),
        bool(rate),
        dict(s.spec.attrs),
    )


def signals(rec) -> list[Signal]:
    """Every non-pose stream of a :class:`movekit.recording.Recording` with samples, by name (the
    camera pose streams and the triangulated landmarks ``pose_3d_m`` are markers, not signals)."""
    skip = set(POSE_STREAMS) | {POSE_3D}
    return [from_stream(s) for name, s in sorted(rec.streams.items()) if name not in skip and len(s)]
