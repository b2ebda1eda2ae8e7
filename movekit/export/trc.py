"""OpenSim/Pose2Sim marker file (``.trc``), tab-separated.

Layout (OpenSim "Marker (.trc) Files")::

    PathFileType  4  (X/Y/Z)  <file name>
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    <values>
    Frame#  Time  <marker1>  <tab>  <tab>  <marker2> ...
    <tab> <tab> X1  Y1  Z1  X2 ...
    <blank line>
    1  0.000  x  y  z ...

A missing marker is left blank, as OpenSim reads it.
"""

from __future__ import annotations

import numpy as np

from movekit.export.markers import Markers


def _num(v: float) -> str:
    return "" if not np.isfinite(v) else f"{v:.6f}"


def trc_text(m: Markers, file_name: str) -> str:
    """The whole TRC file for ``m`` (positions in metres)."""
    n_frames, n_markers = m.xyz_m.shape[:2]
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{m.rate_hz:.6g}\t{m.rate_hz:.6g}\t{n_frames}\t{n_markers}\tm\t{m.rate_hz:.6g}\t1\t{n_frames}",
        "Frame#\tTime\t" + "\t".join(f"{name}\t\t" for name in m.names).rstrip("\t"),
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, n_markers + 1)),
        "",
    ]
    t0 = m.t_s[0] if len(m.t_s) else 0.0
    flat = m.xyz_m.reshape(n_frames, -1)
    for i in range(n_frames):
        lines.append(f"{i + 1}\t{m.t_s[i] - t0:.6f}\t" + "\t".join(_num(v) for v in flat[i]))
    return "\n".join(lines) + "\n"
