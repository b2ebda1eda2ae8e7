"""Load what an assessment reads: a recording, a video file or a centre-of-pressure file.

This is the only I/O of :mod:`movekit.assess` (besides the command). Supported sources:

* a movekit recording directory (``*.mkrec``): pose streams, device streams (IMU, goniometer,
  inclinometer) and events (pain reports are ``kind == "pain"``, ``"pain_resolved"``);
* a video file (``.mp4 .avi .mov .mkv .webm .m4v``): pose is estimated with
  :func:`movekit.capture.pipeline.run_pose_on_video`;
* a centre-of-pressure CSV with the header ``time_s,cop_x_mm,cop_y_mm`` (x medio-lateral, y
  antero-posterior, the usual posturography convention; further columns are ignored);
* any other numeric CSV with a ``time_s`` column, kept as a table (e.g. ``t12_inclination_deg``,
  ``sacrum_inclination_deg`` for the dual-inclinometer lumbar flexion, ``arm_elevation_deg``);
* a Kistler BioWare text export (``.txt`` whose first line starts with ``BioWare``), columns
  ``abs time`` (s) and ``Ax``, ``Ay`` (m).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from movekit.errors import MovekitError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


@dataclass
class CopSeries:
    """Centre of pressure: ``t_s`` (s), ``x_mm`` medio-lateral, ``y_mm`` antero-posterior (mm)."""

    t_s: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    source: str = "force plate"


@dataclass
class Session:
    """Everything an assessment may use from one source."""

    source: str
    pose: Any = None  #: :class:`movekit.recording.PoseSeries` or None
    cop: CopSeries | None = None
    table: dict[str, np.ndarray] | None = None  #: other CSV columns (e.g. inclinometer angles)
    streams: dict[str, Any] = field(default_factory=dict)  #: name -> Stream (t_s, data, spec)
    events: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def pain_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") in ("pain", "pain_resolved")]


def read_csv_table(path: str | Path) -> dict[str, np.ndarray]:
    """Numeric CSV with a header and a ``time_s`` column -> ``{column: float64 array}``."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            rows = [row for row in reader if row and any(c.strip() for c in row)]
        if "time_s" not in header:
            raise MovekitError(f"{path}: a CSV source needs a time_s column; found {', '.join(header)}")
        a = np.array([[float(c) if c.strip() else np.nan for c in row] for row in rows],
                     dtype=np.float64).reshape(-1, len(header))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise MovekitError(f"{path}: not a readable numeric CSV ({exc})") from None
    if len(a) < 2:
        raise MovekitError(f"{path}: fewer than 2 samples")
    return {h: a[:, i] for i, h in enumerate(header)}


def read_cop_csv(path: str | Path) -> CopSeries:
    """Read a ``time_s,cop_x_mm,cop_y_mm`` CSV (MovekitError naming the file when malformed)."""
    tab = read_csv_table(path)
    need = ("time_s", "cop_x_mm", "cop_y_mm")
    if not all(c in tab for c in need):
        raise MovekitError(f"{path}: a CoP CSV needs the columns {', '.join(need)}; found {', '.join(tab)}")
    return CopSeries(tab["time_s"], tab["cop_x_mm"], tab["cop_y_mm"], source=f"force plate CSV {Path(path).name}")


def read_bioware(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read a Kistler BioWare text export: ``(t_s, {column name: values})`` in the file's units."""
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise MovekitError(f"{path}: unreadable ({exc})") from None
    head = next((i for i, ln in enumerate(lines) if ln.startswith("abs time")), None)
    if not lines or not lines[0].startswith("BioWare") or head is None:
        raise MovekitError(f"{path}: not a Kistler BioWare export (no 'abs time' header)")
    names = lines[head].split("\t")
    rows = [ln.split("\t") for ln in lines[head + 2:] if ln.strip()]
    try:
        a = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise MovekitError(f"{path}: malformed data row ({exc})") from None
    return a[:, 0], {n: a[:, i] for i, n in enumerate(names)}


def read_bioware_cop(path: str | Path) -> CopSeries:
    """Centre of pressure from a BioWare export (``Ax``, ``Ay`` in m -> mm)."""
    t, cols = read_bioware(path)
    if "Ax" not in cols or "Ay" not in cols:
        raise MovekitError(f"{path}: no Ax/Ay centre-of-pressure columns")
    return CopSeries(t, cols["Ax"] * 1000.0, cols["Ay"] * 1000.0, source=f"Kistler BioWare {Path(path).name}")


def load_session(path: str | Path) -> Session:
    """Open ``path`` as a recording, a video or a CoP file (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise MovekitError(f"no such file or recording: {p}")
    if p.is_dir():
        from movekit.recording import open_recording

        rec = open_recording(p)
        pose = rec.pose() if "pose_image_px" in rec.streams else None
        return Session(str(p), pose=pose, streams=dict(rec.streams), events=list(rec.events),
                       metadata=dict(rec.metadata))
    suffix = p.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        from movekit.capture.pipeline import run_pose_on_video

        return Session(str(p), pose=run_pose_on_video(p))
    if suffix == ".csv":
        tab = read_csv_table(p)
        if "cop_x_mm" in tab and "cop_y_mm" in tab:
            return Session(str(p), cop=read_cop_csv(p))
        return Session(str(p), table=tab)
    if suffix == ".txt":
        with open(p, errors="replace") as f:
            first = f.readline()
        if first.startswith("BioWare"):
            return Session(str(p), cop=read_bioware_cop(p))
    raise MovekitError(f"{p}: not a recording, a video ({', '.join(VIDEO_SUFFIXES)}) or a CoP file "
                       "(.csv with time_s,cop_x_mm,cop_y_mm or a Kistler BioWare .txt)")
