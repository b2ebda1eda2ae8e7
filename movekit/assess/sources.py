"""Load what an assessment reads: a recording, a video file or a centre-of-pressure file.

This is the only I/O of :mod:`movekit.assess` (besides the command). Supported sources:

* a movekit recording directory (``*.mkrec``): pose streams, device streams (IMU, goniometer,
  inclinometer) and events (pain reports are ``kind == "pain"``, ``"pain_resolved"``);
* a video file (``.mp4 .avi .mov .mkv .webm .m4v``): pose is estimated with
  :func:`movekit.capture.pipeline.run_pose_on_video`;
* a centre-of-pressure CSV with the header ``time_s,cop_x_mm,cop_y_mm`` (x medio-lateral, y
  antero-posterior, the usual posturography convention) or ``time_s,cop_x_m,cop_y_m`` (metres,
  converted to mm and said so); an optional ``fz_n`` column (vertical force, N) lets the balance
  test check that the plate was loaded; further columns are ignored. Comma- or
  semicolon-separated (a semicolon file may use decimal commas);
* any other numeric CSV with a ``time_s`` column, kept as a table (e.g. ``t12_inclination_deg``,
  ``sacrum_inclination_deg`` for the dual-inclinometer lumbar flexion, ``arm_elevation_deg``);
* a Kistler BioWare text export (``.txt`` whose first line starts with ``BioWare``), columns
  ``abs time`` (s) and, per force plate, a group ``Fx .. Fz .. Ax, Ay`` (N, m). Files with two
  plates repeat the group with the same names; each plate is read (:func:`read_bioware_plates`).
  BioWare gives each plate's ``Ax, Ay`` in that plate's own frame (origin at the plate centre), so
  a combined centre of pressure needs the plates' placement: with ``plate_origins_mm`` it is the
  force-weighted ``sum(Fz_i * COP_i) / sum(Fz_i)`` over the loaded plates, the plates' axes
  assumed parallel (no rotation between plates); without it, a file in which only one plate ever
  carries load uses that plate (and says so), and a file in which more than one plate carries load
  is refused with a message (never the last plate silently).

A plate is *unloaded* while its vertical force is below :data:`UNLOADED_N` (20 N): the centre of
pressure (moment over force) is undefined there and the BioWare export shows metres of garbage.
20 N is an engineering bound of the order force-plate software uses to detect contact (pyCGM2's
``detectGaitConsecutiveForcePlates`` defaults to 25 N) and about three times the no-load noise of
the unloaded Kistler plates in the biomdp exports (-13 to +7 N).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from movekit.errors import MovekitError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
UNLOADED_N = 20.0  #: vertical force (N) below which a plate counts as unloaded (see module docstring)
COP_COLUMNS = "time_s,cop_x_mm,cop_y_mm (or cop_x_m,cop_y_m in metres; optional fz_n)"


def name_list(names, limit: int = 10) -> str:
    """``a, b, c`` with at most ``limit`` names, then ``and N more``."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names) if names else "(none)"
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


@dataclass
class CopSeries:
    """Centre of pressure: ``t_s`` (s), ``x_mm`` medio-lateral, ``y_mm`` antero-posterior (mm)."""

    t_s: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    source: str = "force plate"
    fz_n: np.ndarray | None = None  #: total vertical force (N) when the source has it
    notes: list[str] = field(default_factory=list)  #: conversions and choices made while reading
    problem: str | None = None  #: why no centre of pressure could be formed (then x/y are NaN)


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


def _sniff_delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def read_csv_table(path: str | Path) -> dict[str, np.ndarray]:
    """Numeric CSV with a header and a ``time_s`` column -> ``{column: float64 array}``.

    Comma- or semicolon-separated (sniffed from the header line); in a semicolon file a decimal
    comma is read as a decimal point.
    """
    return _read_csv(path)[0]


def _read_csv(path: str | Path) -> tuple[dict[str, np.ndarray], str]:
    path = Path(path)
    try:
        with open(path, newline="") as f:
            first = f.readline()
            f.seek(0)
            delim = _sniff_delimiter(first)
            reader = csv.reader(f, delimiter=delim)
            header = [h.strip() for h in next(reader, [])]
            rows = [row for row in reader if row and any(c.strip() for c in row)]
        kind = "semicolon-separated " if delim == ";" else ""
        if "time_s" not in header:
            raise MovekitError(f"{path}: a {kind}CSV source needs a time_s column; found {name_list(header)}")
        conv = (lambda c: float(c.strip().replace(",", "."))) if delim == ";" else (lambda c: float(c))
        a = np.array([[conv(c) if c.strip() else np.nan for c in row] for row in rows],
                     dtype=np.float64).reshape(-1, len(header))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise MovekitError(f"{path}: not a readable numeric CSV ({exc})") from None
    if len(a) < 2:
        raise MovekitError(f"{path}: fewer than 2 samples")
    return {h: a[:, i] for i, h in enumerate(header)}, delim


def is_cop_table(tab) -> bool:
    """True when a CSV table carries a centre of pressure in mm or m."""
    return ("cop_x_mm" in tab and "cop_y_mm" in tab) or ("cop_x_m" in tab and "cop_y_m" in tab)


def read_cop_csv(path: str | Path, tab: dict[str, np.ndarray] | None = None, delimiter: str = ",") -> CopSeries:
    """Read a ``time_s,cop_x_mm,cop_y_mm`` (or ``cop_x_m,cop_y_m``) CSV, optional ``fz_n``.

    MovekitError naming the file, the columns expected and the columns found when malformed.
    """
    if tab is None:
        tab, delimiter = _read_csv(path)
    notes = []
    if delimiter == ";":
        notes.append("read as a semicolon-separated CSV")
    if "cop_x_mm" in tab and "cop_y_mm" in tab:
        x, y = tab["cop_x_mm"], tab["cop_y_mm"]
    elif "cop_x_m" in tab and "cop_y_m" in tab:
        x, y = tab["cop_x_m"] * 1000.0, tab["cop_y_m"] * 1000.0
        notes.append("cop_x_m, cop_y_m in metres converted to mm")
    else:
        raise MovekitError(f"{path}: a CoP CSV needs the columns {COP_COLUMNS}; found {name_list(list(tab))}")
    fz = tab.get("fz_n")
    return CopSeries(tab["time_s"], x, y, source=f"force plate CSV {Path(path).name}", fz_n=fz, notes=notes)


def _read_bioware_raw(path: Path):
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise MovekitError(f"{path}: unreadable ({exc})") from None
    head = next((i for i, ln in enumerate(lines) if ln.startswith("abs time")), None)
    if not lines or not lines[0].startswith("BioWare") or head is None:
        raise MovekitError(f"{path}: not a Kistler BioWare export (no 'abs time' header)")
    names = lines[head].split("\t")
    units = lines[head + 1].split("\t") if head + 1 < len(lines) else []
    rows = [ln.split("\t") for ln in lines[head + 2:] if ln.strip()]
    try:
        a = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise MovekitError(f"{path}: malformed data row ({exc})") from None
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] != len(names):
        raise MovekitError(f"{path}: malformed BioWare data ({a.shape[0] if a.ndim else 0} rows, "
                           f"{len(names)} columns named)")
    return names, units, a


def read_bioware_plates(path: str | Path) -> tuple[np.ndarray, list[dict[str, np.ndarray]], list[dict[str, str]]]:
    """Read a BioWare export plate by plate: ``(t_s, [{name: values}, ...], [{name: unit}, ...])``.

    A new plate's group starts at each repeated ``Fx`` column (BioWare repeats the same names for
    every plate); values stay in the file's units.
    """
    path = Path(path)
    names, units, a = _read_bioware_raw(path)
    plates: list[dict[str, np.ndarray]] = []
    plate_units: list[dict[str, str]] = []
    for i, n in enumerate(names[1:], start=1):
        if not plates or n in plates[-1]:
            plates.append({})
            plate_units.append({})
        plates[-1][n] = a[:, i]
        plate_units[-1][n] = units[i].strip() if i < len(units) else ""
    return a[:, 0], plates, plate_units


def read_bioware(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read a Kistler BioWare text export: ``(t_s, {column name: values})`` in the file's units.

    The first plate's columns keep their names; a second plate's are ``<name>_plate2`` and so on
    (BioWare repeats the names), so no plate overwrites another.
    """
    t, plates, _ = read_bioware_plates(path)
    cols = {"abs time": t}
    for k, pl in enumerate(plates, start=1):
        for n, v in pl.items():
            cols[n if k == 1 else f"{n}_plate{k}"] = v
    return t, cols


def _to_mm(v: np.ndarray, unit: str) -> np.ndarray:
    return v * (1.0 if unit == "mm" else 10.0 if unit == "cm" else 1000.0)


def _runs_text(t: np.ndarray, mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    return f"{t[idx[0]]:.2f}-{t[idx[-1]]:.2f} s" if idx.size else "never"


def read_bioware_cop(path: str | Path, plate_origins_mm: list[tuple[float, float]] | None = None) -> CopSeries:
    """Centre of pressure and total vertical force from a BioWare export (``Ax``, ``Ay`` in m -> mm).

    ``plate_origins_mm``: each plate centre's ``(x, y)`` in a common frame (mm, plate axes parallel);
    needed to combine plates that both carry load (see the module docstring).
    """
    path = Path(path)
    t, plates, units = read_bioware_plates(path)
    for k, pl in enumerate(plates, start=1):
        miss = [c for c in ("Fz", "Ax", "Ay") if c not in pl]
        if miss:
            raise MovekitError(f"{path}: plate {k} has no {', '.join(miss)} column(s) (found "
                               f"{name_list(list(pl))}); the CoP needs Fz, Ax, Ay")
    fz = [pl["Fz"] for pl in plates]
    ax = [_to_mm(pl["Ax"], u.get("Ax", "m")) for pl, u in zip(plates, units)]
    ay = [_to_mm(pl["Ay"], u.get("Ay", "m")) for pl, u in zip(plates, units)]
    total = np.sum(fz, axis=0)
    src = f"Kistler BioWare {path.name}"
    if len(plates) == 1:
        return CopSeries(t, ax[0], ay[0], source=src, fz_n=total)
    n = len(plates)
    loaded = [f >= UNLOADED_N for f in fz]
    ever = [k for k in range(n) if loaded[k].any()]
    src += f" ({n} plates)"
    if plate_origins_mm is not None:
        if len(plate_origins_mm) != n:
            raise MovekitError(f"{path}: {n} plates but {len(plate_origins_mm)} plate origins given")
        w = np.array([np.where(loaded[k], fz[k], 0.0) for k in range(n)])
        gx = np.array([np.where(loaded[k], ax[k] + plate_origins_mm[k][0], 0.0) for k in range(n)])
        gy = np.array([np.where(loaded[k], ay[k] + plate_origins_mm[k][1], 0.0) for k in range(n)])
        sw = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(sw > 0, (w * gx).sum(axis=0) / sw, np.nan)
            y = np.where(sw > 0, (w * gy).sum(axis=0) / sw, np.nan)
        return CopSeries(t, x, y, source=src, fz_n=total,
                         notes=[(f"CoP of {n} plates combined force-weighted, sum(Fz_i*COP_i)/sum(Fz_i), "
                                 "with the plate origins given (plate axes assumed parallel)")])
    if len(ever) <= 1:
        k = ever[0] if ever else 0
        return CopSeries(t, ax[k], ay[k], source=src, fz_n=total,
                         notes=[(f"plate {k + 1} of {n} carried the load; the other plate(s) stayed "
                                 f"below {UNLOADED_N:g} N and are ignored")])
    when = "; ".join(f"plate {k + 1} loaded {_runs_text(t, loaded[k])}" for k in ever)
    problem = (f"{len(ever)} force plates carried load ({when}); BioWare gives each plate's CoP in "
               "its own frame and the file does not say where the plates stand, so one centre of "
               "pressure cannot be formed: stand on one plate, or export a combined CoP")
    nan = np.full(t.shape, np.nan)
    return CopSeries(t, nan, nan.copy(), source=src, fz_n=total, problem=problem)


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
        tab, delim = _read_csv(p)
        if is_cop_table(tab):
            return Session(str(p), cop=read_cop_csv(p, tab, delim))
        return Session(str(p), table=tab, metadata={"csv_columns": list(tab), "csv_delimiter": delim})
    if suffix == ".txt":
        with open(p, errors="replace") as f:
            first = f.readline()
        if first.startswith("BioWare"):
            return Session(str(p), cop=read_bioware_cop(p))
    raise MovekitError(f"{p}: not a recording, a video ({', '.join(VIDEO_SUFFIXES)}) or a CoP file "
                       f"(.csv with {COP_COLUMNS}, or a Kistler BioWare .txt)")
