"""The angles table of ``movekit export --format csv`` (with a triangulated recording's landmarks
beside it).

Every number is written with 6 decimals: ``time_s`` to the microsecond on the session clock (a
60 Hz frame time such as 0.016667 s is off by at most 0.5 us, far below the clock's own
resolution), angles and their errors to a millionth of a degree and landmarks to a micrometre,
as the MOT export does; :data:`PRECISION` says so in the sidecar. Missing values are ``NaN``;
the ``view`` column is text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def landmark_columns(stream) -> dict[str, np.ndarray]:
    """The columns of a ``pose_3d_m`` stream (``nose_x_m`` ... ``right_foot_index_z_m``), float64, NaN
    where a landmark was not triangulated."""
    data = stream.channels.astype(np.float64)
    return {name: data[:, j] for j, name in enumerate(stream.spec.columns())}


#: what the CSV's digits hold, for the sidecar
PRECISION = (
    "every number to 6 decimals: time_s to 1 us on the session clock, angles and errors to 1e-6 deg, "
    "landmarks to 1e-6 m (the Parquet export holds the same float64 values unrounded)"
)


def _cell(key: str, v) -> str:
    if key == "view":
        return str(v)
    return f"{v:.6f}" if np.isfinite(v) else "NaN"


def write_csv(cols: dict, path: str | Path) -> None:
    """``cols`` (equal-length columns) as CSV, every number to 6 decimals (:data:`PRECISION`)."""
    names = list(cols)
    n = len(cols["time_s"])
    with open(path, "w", newline="") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            f.write(",".join(_cell(k, cols[k][i]) for k in names) + "\n")
