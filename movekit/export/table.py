"""The angles table of a triangulated recording with its landmarks beside it, as CSV.

``movekit angles`` writes angles with 3 decimals (a thousandth of a degree); the landmark columns
(metres) get 6 (a micrometre: every float32 coordinate of a body in a lab to within rounding), so
the CSV holds the recording's ``pose_3d_m`` as recorded. Missing values are ``NaN`` as in the
angles CSV; the ``view`` column is text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def landmark_columns(stream) -> dict[str, np.ndarray]:
    """The columns of a ``pose_3d_m`` stream (``nose_x_m`` ... ``right_foot_index_z_m``), float64, NaN
    where a landmark was not triangulated."""
    n = len(stream.t_s)
    data = np.asarray(stream.data, np.float64).reshape(n, -1)
    return {name: data[:, j] for j, name in enumerate(stream.spec.columns())}


def _cell(key: str, v) -> str:
    if key == "view":
        return str(v)
    if not np.isfinite(v):
        return "NaN"
    if key == "time_s":
        return f"{v:.4f}"
    return f"{v:.6f}" if key.endswith("_m") else f"{v:.3f}"


def write_csv(cols: dict, path: str | Path) -> None:
    """``cols`` (equal-length columns) as CSV: time 4 decimals, metres 6, angles and errors 3."""
    names = list(cols)
    n = len(cols["time_s"])
    with open(path, "w", newline="") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            f.write(",".join(_cell(k, cols[k][i]) for k in names) + "\n")
