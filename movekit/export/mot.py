"""OpenSim motion file (``.mot``) of joint angles, tab-separated.

Layout (OpenSim "Storage (.sto) / Motion (.mot) Files")::

    <name>
    version=1
    nRows=<frames>
    nColumns=<columns including time>
    inDegrees=yes
    <key>=<value> ...        movekit notes (OpenSim keeps unknown key=value lines as metadata)
    endheader
    time  <column> ...
    <rows>

Angles the error model refuses are ``NaN`` (OpenSim reads and writes NaN); each angle
``<name>_deg`` is followed by its expected error ``<name>_err_deg``.
"""

from __future__ import annotations

import numpy as np


def _clean(text: str) -> str:
    return " ".join(str(text).split()).replace("=", ":")


def mot_text(time_s: np.ndarray, columns: dict[str, np.ndarray], name: str, notes: dict[str, str] | None = None) -> str:
    """The whole MOT file: ``time`` then ``columns`` (numeric, degrees for angles)."""
    t = np.asarray(time_s, np.float64)
    t = t - t[0] if len(t) else t
    names = list(columns)
    data = np.column_stack([t] + [np.asarray(columns[k], np.float64) for k in names]) if names else t[:, None]
    head = [_clean(name), "version=1", f"nRows={len(t)}", f"nColumns={1 + len(names)}", "inDegrees=yes"]
    head += [f"{_clean(k).replace(' ', '_')}={_clean(v)}" for k, v in (notes or {}).items()]
    head += ["endheader", "\t".join(["time"] + names)]
    rows = ["\t".join("NaN" if not np.isfinite(v) else f"{v:.6f}" for v in row) for row in data]
    return "\n".join(head + rows) + "\n"
