"""Load what an assessment reads: a recording, a video file or a centre-of-pressure file.

This is the only I/O of :mod:`movekit.assess` (besides the command). Supported sources:

* a movekit recording directory (``*.mkrec``): pose streams, device streams (IMU, goniometer,
  inclinometer) and events (pain reports are ``kind == "pain"``, ``"pain_resolved"``). A
  recording with a triangulated pose (``pose_3d_m``, made by ``movekit triangulate`` or by
  ``movekit capture A B --calibration``) gives that 3D pose
  (:class:`movekit.assess._pose.TriangulatedSeries`), which the screens then measure in 3D;
* a capture set folder (``movekit capture A B -o SET``): its triangulated ``pose_3d.mkrec``
  (refused with what to run when the set was captured without a calibration);
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

* a CSV with force-plate forces and moments instead of a CoP (``time_s,fx_n,fy_n,fz_n,mx_nm,my_nm,
  mz_nm``, plate origin at its surface): ``CoP = (-My, Mx) / Fz`` (the top-plate offset ignored,
  said so); a force that is negative while loaded (the force on the plate, as Vicon exports it)
  is turned into the load;
* a headerless text or CSV export (Kistler, AMTI, Bertec; tab, comma, semicolon or space
  separated) when its layout is recognised (:data:`HEADERLESS_LAYOUTS`: 7 columns time + forces
  and moments, or 1 + 17 x plates columns of a BioWare export) or named with ``columns``
  (``movekit assess balance FILE --columns time_s,fx_n,...``); otherwise a one-line message says
  which layouts were expected;
* a Vicon Nexus CSV export (first line ``Devices``): each force plate's ``Force`` (N) and ``CoP``
  (mm, lab frame) of the ``Devices`` block; loaded plates are combined force-weighted (all are in
  the lab frame, so no plate origins are needed);
* a recording with a stream of kind ``cop``/``force_plate``/``balance_board`` in mm, cm or m
  (first two channels x, y; a channel named ``fz`` is the vertical force in N);
* an Xsens MT Manager text export of one IMU (``// Sample rate: 120.0Hz`` and other ``//`` lines,
  then a tab-separated ``Counter Acc_X .. Gyr_Z ..`` header; :func:`read_xsens_mt`): its
  accelerometer (m/s2) and gyroscope (rad/s) become the streams ``imu_acc`` and ``imu_gyro``, so
  ``movekit assess gait FILE --axis z`` (a shank IMU) and ``gait-trunk`` (a lower-back IMU) read
  it like a recording.

Every malformed file (empty, non-numeric, non-UTF-8, a row with more or fewer cells than the
header names) is refused with a one-line :class:`MovekitError` naming the file.

A plate is *unloaded* while its vertical force is below :data:`UNLOADED_N` (20 N): the centre of
pressure (moment over force) is undefined there and the BioWare export shows metres of garbage.
20 N is an engineering bound of the order force-plate software uses to detect contact (pyCGM2's
``detectGaitConsecutiveForcePlates`` defaults to 25 N) and about three times the no-load noise of
the unloaded Kistler plates in the biomdp exports (-13 to +7 N).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from movekit.errors import MovekitError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
#: binary signal formats that are not assessment sources (their EMG is read by ``movekit emg``)
SIGNAL_FILE_SUFFIXES = {
    ".c3d": "C3D",
    ".h5": "HDF5",
    ".hdf5": "HDF5",
    ".edf": "EDF",
    ".bdf": "BDF",
    ".mat": "MATLAB",
}
UNLOADED_N = 20.0  #: vertical force (N) below which a plate counts as unloaded (see module docstring)
COP_COLUMNS = (
    "time_s,cop_x_mm,cop_y_mm (or cop_x_m,cop_y_m in metres; optional fz_n), or time_s,fx_n,fy_n,fz_n,mx_nm,my_nm,mz_nm"
)
FORCE_COLUMNS = ("time_s", "fx_n", "fy_n", "fz_n", "mx_nm", "my_nm", "mz_nm")
#: one plate's columns in a BioWare export, in the file's order (units N, N m, m)
BIOWARE_PLATE = (
    "Fx",
    "Fy",
    "Fz",
    "Fx12",
    "Fx34",
    "Fy14",
    "Fy23",
    "Fz1",
    "Fz2",
    "Fz3",
    "Fz4",
    "Mx",
    "My",
    "Mz",
    "Tz",
    "Ax",
    "Ay",
)
BIOWARE_UNITS = ("N",) * 11 + ("N m",) * 4 + ("m", "m")
#: layouts of headerless force-plate text files recognised by their column count
HEADERLESS_LAYOUTS = (
    f"{len(FORCE_COLUMNS)} columns {','.join(FORCE_COLUMNS)} (AMTI/Bertec order, time in s, moments in N m)",
    f"1 + {len(BIOWARE_PLATE)} x plates columns of a Kistler BioWare export "
    "(abs time, " + ", ".join(BIOWARE_PLATE) + ")",
)
#: column names ``--columns`` understands (others are read and ignored)
KNOWN_COLUMNS = ("time_s", "cop_x_mm", "cop_y_mm", "cop_x_m", "cop_y_m") + FORCE_COLUMNS[1:]


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
class Trial:
    """Everything an assessment may use from one source."""

    source: str
    pose: Any = None  #: :class:`movekit.recording.PoseSeries` or None
    cop: CopSeries | None = None
    table: dict[str, np.ndarray] | None = None  #: other CSV columns (e.g. inclinometer angles)
    streams: dict[str, Any] = field(default_factory=dict)  #: name -> Stream (t_s, data, spec)
    events: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: what reading the source found wrong (a recording cut by a crash, a damaged stream)
    problems: list[str] = field(default_factory=list)

    def pain_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") in ("pain", "pain_resolved")]


def _sniff_delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _split(line: str, delim: str | None) -> list[str]:
    return line.split() if delim is None else [c.strip() for c in line.split(delim)]


def _numeric(cells: list[str], decimal_comma: bool) -> bool:
    try:
        for c in cells:
            float(c.replace(",", ".") if decimal_comma else c)
    except ValueError:
        return False
    return bool(cells)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MovekitError(f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.reason})") from None
    except OSError as exc:
        raise MovekitError(f"{path}: unreadable ({exc.strerror or exc})") from None


def _read_lines(path: Path) -> list[str]:
    """The non-blank lines of a UTF-8 text file; MovekitError when unreadable or empty."""
    lines = [ln for ln in _read_text(path).splitlines() if ln.strip()]
    if not lines:
        raise MovekitError(f"{path}: empty file")
    return lines


def _text_delimiter(line: str) -> str | None:
    for d in ("\t", ";", ","):
        if d in line:
            return d
    return None  # whitespace


def _matrix(path: Path, rows: list[str], delim: str | None, ncols: int, first_line: int, names: str) -> np.ndarray:
    dec = delim == ";"
    out = np.empty((len(rows), ncols))
    for i, ln in enumerate(rows):
        cells = _split(ln, delim)
        if len(cells) != ncols:
            raise MovekitError(f"{path}: line {first_line + i} has {len(cells)} cells but {names} {ncols} columns")
        for j, c in enumerate(cells):
            if not c:
                out[i, j] = np.nan
                continue
            try:
                out[i, j] = float(c.replace(",", ".") if dec else c)
            except ValueError:
                raise MovekitError(
                    f"{path}: line {first_line + i}, column {j + 1}: {c[:20]!r} is not a number"
                ) from None
    return out


def _read_csv(path: str | Path, columns: list[str] | None = None) -> tuple[dict[str, np.ndarray], str]:
    """``({column: values}, delimiter)``; ``columns`` names the columns of a headerless file."""
    path = Path(path)
    lines = _read_lines(path)
    delim = "\t" if "\t" in lines[0] else _sniff_delimiter(lines[0])
    first = _split(lines[0], _text_delimiter(lines[0]))
    if columns is not None or _numeric(first, _text_delimiter(lines[0]) == ";"):
        return _read_headerless(path, lines, columns), delim
    header = _split(lines[0], delim)
    kind = {";": "semicolon-separated ", "\t": "tab-separated "}.get(delim, "")
    if "time_s" not in header:
        raise MovekitError(f"{path}: a {kind}CSV source needs a time_s column; found {name_list(header)}")
    width = len(header)
    while header and not header[-1]:  # a trailing delimiter: an empty last column
        header.pop()
    if any(not h for h in header) or len(set(header)) != len(header):
        raise MovekitError(f"{path}: the header has empty or repeated column names ({name_list(header)})")
    a = _matrix(path, lines[1:], delim, width, 2, "the header names")
    if len(a) < 2:
        raise MovekitError(f"{path}: fewer than 2 samples")
    return {h: a[:, i] for i, h in enumerate(header)}, delim


class _BiowareRows(Exception):
    """Raised inside the CSV reader when a headerless file has a BioWare layout (carries it)."""

    def __init__(self, names, units, a):
        super().__init__("bioware layout")
        self.raw = (names, units, a)


def _read_headerless(path: Path, lines: list[str], columns: list[str] | None) -> dict[str, np.ndarray]:
    """A headerless numeric file: columns from ``columns`` or a recognised layout
    (:data:`HEADERLESS_LAYOUTS`); a BioWare layout raises :class:`_BiowareRows`."""
    delim = _text_delimiter(lines[0])
    n = len(_split(lines[0], delim))
    if columns is not None:
        if len(columns) != n:
            raise MovekitError(
                f"{path}: --columns names {len(columns)} columns ({','.join(columns)}) but the file has {n}"
            )
        a = _matrix(path, lines, delim, n, 1, "--columns names")
        if len(a) < 2:
            raise MovekitError(f"{path}: fewer than 2 samples")
        return {c: a[:, i] for i, c in enumerate(columns)}
    nplate = (n - 1) // len(BIOWARE_PLATE) if n > 1 and (n - 1) % len(BIOWARE_PLATE) == 0 else 0
    if n == len(FORCE_COLUMNS) or nplate:
        a = _matrix(path, lines, delim, n, 1, "the first line has")
        if len(a) >= 2 and _is_time(a[:, 0]):
            if n == len(FORCE_COLUMNS) and _looks_like_forces(a[:, 1:4]):
                return {c: a[:, i] for i, c in enumerate(FORCE_COLUMNS)}
            k = len(BIOWARE_PLATE)
            if nplate and all(_looks_like_forces(a[:, 1 + p * k : 4 + p * k]) for p in range(nplate)):
                raise _BiowareRows(["abs time"] + list(BIOWARE_PLATE) * nplate, ["s"] + list(BIOWARE_UNITS) * nplate, a)
    raise MovekitError(
        f"{path}: no header, and a {n}-column layout is not recognised; expected "
        f"{'; or '.join(HEADERLESS_LAYOUTS)}; or name the columns with --columns (e.g. "
        "--columns time_s,cop_x_mm,cop_y_mm)"
    )


def _is_time(t: np.ndarray) -> bool:
    d = np.diff(t)
    return bool(np.all(np.isfinite(t)) and np.all(d > 0) and np.ptp(d) <= 0.01 * np.median(d) + 1e-9)


def _looks_like_forces(f: np.ndarray) -> bool:
    """Fx, Fy, Fz columns: the vertical force dominates while loaded (or the plate is empty)."""
    if not np.isfinite(f).any():
        return False
    med = np.nanmedian(np.abs(f), axis=0)
    return bool(med[2] >= UNLOADED_N and med[2] > 2 * max(med[0], med[1])) or bool(np.nanmax(np.abs(f)) < UNLOADED_N)


def is_cop_table(tab) -> bool:
    """True when a CSV table carries a centre of pressure in mm or m, or forces and moments."""
    return (
        ("cop_x_mm" in tab and "cop_y_mm" in tab)
        or ("cop_x_m" in tab and "cop_y_m" in tab)
        or all(c in tab for c in ("fz_n", "mx_nm", "my_nm"))
    )


def _load_n(fz: np.ndarray) -> tuple[np.ndarray, bool]:
    """The load on the plate (N, positive) from a vertical force that may be the force *on* the
    plate (negative while loaded, e.g. Vicon); True when the sign was turned."""
    fz = np.asarray(fz, dtype=np.float64)
    big = fz[np.abs(fz) >= UNLOADED_N]
    if big.size and np.median(big) < 0:
        return -fz, True
    return fz, False


def read_cop_csv(path: str | Path, tab: dict[str, np.ndarray] | None = None, delimiter: str = ",") -> CopSeries:
    """Read a ``time_s,cop_x_mm,cop_y_mm`` (or ``cop_x_m,cop_y_m``) CSV, optional ``fz_n``; or a
    ``time_s,fx_n,fy_n,fz_n,mx_nm,my_nm,mz_nm`` table (CoP from the moments).

    MovekitError naming the file, the columns expected and the columns found when malformed.
    """
    if tab is None:
        tab, delimiter = _read_csv(path)
    notes = []
    if delimiter == ";":
        notes.append("read as a semicolon-separated CSV")
    fz = tab.get("fz_n")
    if fz is not None:
        fz, turned = _load_n(fz)
        if turned:
            notes.append("fz_n negative while loaded (the force on the plate): its sign turned to give the load")
    if "cop_x_mm" in tab and "cop_y_mm" in tab:
        x, y = tab["cop_x_mm"], tab["cop_y_mm"]
    elif "cop_x_m" in tab and "cop_y_m" in tab:
        x, y = tab["cop_x_m"] * 1000.0, tab["cop_y_m"] * 1000.0
        notes.append("cop_x_m, cop_y_m in metres converted to mm")
    elif fz is not None and "mx_nm" in tab and "my_nm" in tab:
        f = tab["fz_n"]
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(fz >= UNLOADED_N, -tab["my_nm"] / f * 1000.0, np.nan)
            y = np.where(fz >= UNLOADED_N, tab["mx_nm"] / f * 1000.0, np.nan)
        notes.append(
            "CoP from forces and moments, (-My, Mx) / Fz, plate origin at its surface (the top-plate "
            f"offset is ignored); undefined while Fz < {UNLOADED_N:g} N"
        )
    else:
        raise MovekitError(f"{path}: a CoP CSV needs the columns {COP_COLUMNS}; found {name_list(list(tab))}")
    if "time_s" not in tab:
        raise MovekitError(f"{path}: a CoP source needs a time_s column; found {name_list(list(tab))}")
    return CopSeries(tab["time_s"], x, y, source=f"force plate file {Path(path).name}", fz_n=fz, notes=notes)


def _read_bioware_raw(path: Path):
    lines = _read_lines(path)
    head = next((i for i, ln in enumerate(lines) if ln.startswith("abs time")), None)
    if not lines[0].startswith("BioWare") or head is None:
        raise MovekitError(f"{path}: not a Kistler BioWare export (no 'abs time' header)")
    names = lines[head].split("\t")
    units = lines[head + 1].split("\t") if head + 1 < len(lines) else []
    a = _matrix(path, lines[head + 2 :], "\t", len(names), head + 3, "the header names")
    if a.shape[0] < 2:
        raise MovekitError(f"{path}: malformed BioWare data ({a.shape[0]} rows, {len(names)} columns named)")
    return names, units, a


def _plates(names, units, a):
    plates: list[dict[str, np.ndarray]] = []
    plate_units: list[dict[str, str]] = []
    for i, n in enumerate(names[1:], start=1):
        if not plates or n in plates[-1]:
            plates.append({})
            plate_units.append({})
        plates[-1][n] = a[:, i]
        plate_units[-1][n] = units[i].strip() if i < len(units) else ""
    return a[:, 0], plates, plate_units


def read_bioware_plates(path: str | Path) -> tuple[np.ndarray, list[dict[str, np.ndarray]], list[dict[str, str]]]:
    """Read a BioWare export plate by plate: ``(t_s, [{name: values}, ...], [{name: unit}, ...])``.

    A new plate's group starts at each repeated ``Fx`` column (BioWare repeats the same names for
    every plate); values stay in the file's units.
    """
    return _plates(*_read_bioware_raw(Path(path)))


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


def read_bioware_cop(
    path: str | Path, plate_origins_mm: list[tuple[float, float]] | None = None, _raw=None
) -> CopSeries:
    """Centre of pressure and total vertical force from a BioWare export (``Ax``, ``Ay`` in m -> mm).

    ``plate_origins_mm``: each plate centre's ``(x, y)`` in a common frame (mm, plate axes parallel);
    needed to combine plates that both carry load (see the module docstring).
    """
    path = Path(path)
    t, plates, units = _plates(*(_raw or _read_bioware_raw(path)))
    for k, pl in enumerate(plates, start=1):
        miss = [c for c in ("Fz", "Ax", "Ay") if c not in pl]
        if miss:
            raise MovekitError(
                f"{path}: plate {k} has no {', '.join(miss)} column(s) (found "
                f"{name_list(list(pl))}); the CoP needs Fz, Ax, Ay"
            )
    fz = [pl["Fz"] for pl in plates]
    ax = [_to_mm(pl["Ax"], u.get("Ax", "m")) for pl, u in zip(plates, units)]
    ay = [_to_mm(pl["Ay"], u.get("Ay", "m")) for pl, u in zip(plates, units)]
    src = f"Kistler BioWare {path.name}" + (" (headerless, BioWare column layout)" if _raw else "")
    return _combine_plates(path, t, fz, ax, ay, src, plate_origins_mm, lab_frame=False)


def _combine_plates(path, t, fz, ax, ay, src, plate_origins_mm=None, *, lab_frame: bool) -> CopSeries:
    """One CoP from per-plate loads ``fz`` (N), CoPs ``ax, ay`` (mm): see the module docstring."""
    total = np.sum(fz, axis=0)
    n = len(fz)
    if n == 1:
        return CopSeries(t, ax[0], ay[0], source=src, fz_n=total)
    loaded = [f >= UNLOADED_N for f in fz]
    ever = [k for k in range(n) if loaded[k].any()]
    src += f" ({n} plates)"
    if plate_origins_mm is not None or (lab_frame and len(ever) > 1):
        if plate_origins_mm is None:
            plate_origins_mm = [(0.0, 0.0)] * n
        if len(plate_origins_mm) != n:
            raise MovekitError(f"{path}: {n} plates but {len(plate_origins_mm)} plate origins given")
        w = np.array([np.where(loaded[k], fz[k], 0.0) for k in range(n)])
        gx = np.array([np.where(loaded[k], ax[k] + plate_origins_mm[k][0], 0.0) for k in range(n)])
        gy = np.array([np.where(loaded[k], ay[k] + plate_origins_mm[k][1], 0.0) for k in range(n)])
        sw = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(sw > 0, (w * gx).sum(axis=0) / sw, np.nan)
            y = np.where(sw > 0, (w * gy).sum(axis=0) / sw, np.nan)
        how = (
            "the plates' CoPs are in the lab frame"
            if lab_frame
            else "with the plate origins given (plate axes assumed parallel)"
        )
        return CopSeries(
            t,
            x,
            y,
            source=src,
            fz_n=total,
            notes=[f"CoP of {n} plates combined force-weighted, sum(Fz_i*COP_i)/sum(Fz_i), {how}"],
        )
    if len(ever) <= 1:
        k = ever[0] if ever else 0
        return CopSeries(
            t,
            ax[k],
            ay[k],
            source=src,
            fz_n=total,
            notes=[
                (
                    f"plate {k + 1} of {n} carried the load; the other plate(s) stayed "
                    f"below {UNLOADED_N:g} N and are ignored"
                )
            ],
        )
    when = "; ".join(f"plate {k + 1} loaded {_runs_text(t, loaded[k])}" for k in ever)
    problem = (
        f"{len(ever)} force plates carried load ({when}); BioWare gives each plate's CoP in "
        "its own frame and the file does not say where the plates stand, so one centre of "
        "pressure cannot be formed: stand on one plate, or export a combined CoP"
    )
    nan = np.full(t.shape, np.nan)
    return CopSeries(t, nan, nan.copy(), source=src, fz_n=total, problem=problem)


def read_vicon_devices_cop(path: str | Path) -> CopSeries:
    """CoP and load from the ``Devices`` block of a Vicon Nexus CSV export (force plates' ``Force``
    in N and ``CoP`` in mm, both lab frame; ``Combined`` devices are skipped)."""
    path = Path(path)
    raw_lines = _read_text(path).splitlines()
    if not raw_lines or raw_lines[0].strip().strip(",") != "Devices" or len(raw_lines) < 6:
        raise MovekitError(f"{path}: not a Vicon Nexus export with a Devices block")
    try:
        rate = float(raw_lines[1].split(",")[0])
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError
    except ValueError:
        raise MovekitError(f"{path}: line 2 should give the Devices rate (Hz), not {raw_lines[1][:30]!r}") from None
    end = next((i for i in range(5, len(raw_lines)) if not raw_lines[i].strip(" ,")), len(raw_lines))
    devices = raw_lines[2].split(",")
    names = raw_lines[3].split(",")
    units = raw_lines[4].split(",")
    groups: dict[str, dict[str, int]] = {}
    cur = ""
    for i, n in enumerate(names):
        if i < len(devices) and devices[i].strip():
            cur = devices[i].strip()
        if " - " in cur:
            dev, kind = cur.rsplit(" - ", 1)
            if kind in ("Force", "CoP") and not dev.startswith("Combined"):
                groups.setdefault(dev, {})[f"{kind}:{n.strip()}"] = i
    plates = [(d, g) for d, g in groups.items() if {"Force:Fz", "CoP:Cx", "CoP:Cy"} <= set(g)]
    if not plates:
        raise MovekitError(f"{path}: the Devices block has no force plate with Force Fz and CoP Cx, Cy columns")
    width = max(i for _, g in plates for i in g.values()) + 1
    rows = [",".join(r.split(",")[:width]) for r in raw_lines[5:end]]
    a = _matrix(path, rows, ",", width, 6, "the Devices block needs")
    for _d, g in plates:
        for key in ("CoP:Cx", "CoP:Cy"):
            u = units[g[key]].strip() if g[key] < len(units) else "mm"
            if u not in ("mm", ""):
                a[:, g[key]] = _to_mm(a[:, g[key]], u)
    t = np.arange(len(a)) / rate
    loads = [_load_n(a[:, g["Force:Fz"]])[0] for _, g in plates]
    cop = _combine_plates(
        path,
        t,
        loads,
        [a[:, g["CoP:Cx"]] for _, g in plates],
        [a[:, g["CoP:Cy"]] for _, g in plates],
        f"Vicon Nexus devices {path.name}",
        lab_frame=True,
    )
    cop.notes.insert(
        0,
        f"Devices block at {rate:g} Hz, force plates {', '.join(d for d, _ in plates)}; Fz "
        "negative while loaded (the force on the plate) read as the load",
    )
    with np.errstate(invalid="ignore"):
        gone = np.sum(loads, axis=0) < UNLOADED_N
    cop.x_mm = np.where(gone, np.nan, cop.x_mm)
    cop.y_mm = np.where(gone, np.nan, cop.y_mm)
    return cop


_COP_KINDS = ("cop", "force_plate", "forceplate", "balance_board")
_LENGTH_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


def _recording_cop(rec) -> CopSeries | None:
    """A CoP stream of a recording (kind in :data:`_COP_KINDS`, unit mm/cm/m), else None."""
    for name, st in rec.streams.items():
        spec = st.spec
        unit = str(spec.unit).lower()
        if spec.kind not in _COP_KINDS or unit not in _LENGTH_MM:
            continue
        d = st.channels.astype(np.float64)
        if d.shape[1] < 2:
            continue
        chans = [c.lower() for c in (spec.channel_names or ())]
        fz = d[:, chans.index("fz")] if "fz" in chans else None
        return CopSeries(
            np.asarray(st.t_s, dtype=np.float64),
            d[:, 0] * _LENGTH_MM[unit],
            d[:, 1] * _LENGTH_MM[unit],
            source=f"recording stream {name}",
            fz_n=fz,
            notes=[] if unit == "mm" else [f"stream in {unit} converted to mm"],
        )
    return None


def recording_pose(rec):
    """The pose a screen measures in a recording: the triangulated 3D pose when it has one
    (stream ``pose_3d_m``, lab frame; :class:`movekit.assess._pose.TriangulatedSeries` with the
    ``multiview`` metadata's cameras and separation), else the camera's pose, else None."""
    if "pose_3d_m" in rec.streams:
        from movekit.assess._pose import TriangulatedSeries

        st = rec.streams["pose_3d_m"]
        mv = rec.metadata.get("multiview") or {}
        sep = mv.get("separation_deg")
        try:
            sep = float(sep) if sep is not None else None
        except (TypeError, ValueError):
            raise MovekitError(f"{rec.path}: multiview separation_deg {sep!r} is not a number") from None
        return TriangulatedSeries(
            np.asarray(st.t_s, dtype=np.float64),
            np.asarray(st.data, dtype=np.float64),  # (frames, 33, 3), the stream's shape
            tuple(mv.get("cameras") or ()),
            sep,
            mv.get("calibration"),
            tuple(mv.get("pose_models") or ()),
            mv.get("vertical_from"),
        )
    return rec.pose() if "pose_image_px" in rec.streams else None


def triangulated_in_set(path: Path) -> Path:
    """A capture set stands for its triangulated recording ``pose_3d.mkrec``; any other folder is itself."""
    if not (path / "capture_set.json").is_file():  # cheap test first: the capture module costs ~0.3 s to import
        return path
    from movekit.capture.multicam import is_capture_set

    if not is_capture_set(path):
        return path
    inside = path / "pose_3d.mkrec"
    if not inside.is_dir():
        raise MovekitError(
            f"{path} is a capture set without a triangulated pose: run movekit triangulate {path} "
            "--calibration FILE -o OUT.mkrec, then assess OUT.mkrec (or assess one camera's recording in it)"
        )
    return inside


#: Xsens MT Manager text export: the counter wraps at 2^16 (MT Manager's 16-bit packet counter)
XSENS_COUNTER_WRAP = 65536
#: the columns of one IMU in an Xsens export and their units (MT Manager's defaults for calibrated
#: data, as scikit-kinematics 0.10.4 ``skinematics.sensors.xsens`` reads them)
XSENS_TRIPLES = {"Acc": ("imu_acc", "m/s2"), "Gyr": ("imu_gyro", "rad/s"), "Mag": ("imu_mag", "a.u.")}


def _xsens_rate_hz(path: Path, comments: list[str]) -> float:
    for ln in comments:
        key, _, val = ln.lstrip("/ ").partition(":")
        if key.strip().lower() in ("sample rate", "update rate"):
            try:
                rate = float(val.strip().lower().removesuffix("hz"))
            except ValueError:
                break
            if rate > 0:
                return rate
    raise MovekitError(f"{path}: an Xsens text export without a '// Sample rate: ...Hz' line; its rate is unknown")


def read_xsens_mt(path: str | Path) -> Trial:
    """One IMU's Xsens MT Manager text export as a trial with ``imu_acc``, ``imu_gyro`` (and
    ``imu_mag``) streams; times from the packet counter over the stated sample rate (s from the
    first sample), so a lost packet leaves a gap instead of shifting the rest.

    Raises
    ------
    MovekitError
        No sample rate, no ``Counter`` column, no ``Acc_*``/``Gyr_*`` triple, or a malformed row.
    """
    from movekit.recording import Stream, StreamSpec

    path = Path(path)
    lines = _read_lines(path)
    problems = []
    if not _read_text(path).endswith("\n") and len(lines) > 1:
        lines = lines[:-1]  # the last row may hold a number cut short: never read it as data
        problems.append("the last row has no line end (the file was cut mid-write?): left out")
    comments = [ln for ln in lines if ln.startswith("//")]
    body = [ln for ln in lines if not ln.startswith("//")]
    rate = _xsens_rate_hz(path, comments)
    header = _split(body[0].strip(), "\t")
    if not header or header[0] != "Counter":
        raise MovekitError(f"{path}: an Xsens text export needs a Counter column first; found {name_list(header)}")
    rows = [ln.strip() for ln in body[1:]]
    a = _matrix(path, rows, "\t", len(header), len(comments) + 2, "the header names")
    if len(a) < 2:
        raise MovekitError(f"{path}: fewer than 2 samples")
    steps = np.mod(np.diff(a[:, 0]), XSENS_COUNTER_WRAP)
    t = np.concatenate([[0.0], np.cumsum(steps)]) / rate
    streams = {}
    for prefix, (name, unit) in XSENS_TRIPLES.items():
        cols = [f"{prefix}_{c}" for c in "XYZ"]
        if all(c in header for c in cols):
            data = a[:, [header.index(c) for c in cols]].astype(np.float32)
            spec = StreamSpec(name, (3,), unit, rate, ("x", "y", "z"), kind="imu", attrs={"source": path.name})
            streams[name] = Stream(spec, t, data)
    if "imu_acc" not in streams and "imu_gyro" not in streams:
        raise MovekitError(f"{path}: an Xsens text export without Acc_X..Z or Gyr_X..Z columns ({name_list(header)})")
    lost = int(np.sum(steps - 1))
    if lost:
        problems.append(f"{lost} sample(s) lost (gaps in the Xsens packet counter)")
    return Trial(str(path), streams=streams, metadata={"xsens_rate_hz": rate}, problems=problems)


def parse_columns(text: str | None) -> list[str] | None:
    """``--columns a,b,c`` -> names; MovekitError when it has no ``time_s`` or repeats a name."""
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",")]
    if "time_s" not in cols or any(not c for c in cols) or len(set(cols)) != len(cols):
        raise MovekitError(
            f"--columns {text!r}: give each column's name once, separated by commas, including "
            f"time_s; names understood: {', '.join(KNOWN_COLUMNS)} (others are ignored)"
        )
    return cols


def load_trial(path: str | Path, *, columns: list[str] | None = None) -> Trial:
    """Open ``path`` as a recording, a video or a CoP/force-plate file (see the module docstring).

    ``columns``: the column names of a headerless text/CSV file (:func:`parse_columns`).
    """
    p = Path(path)
    if not p.exists():
        raise MovekitError(f"no such file or recording: {p}")
    if p.is_dir():
        from movekit.recording import open_recording

        rec = open_recording(triangulated_in_set(p))
        pose = recording_pose(rec)
        return Trial(
            str(p),
            pose=pose,
            cop=_recording_cop(rec),
            streams=dict(rec.streams),
            events=list(rec.events),
            metadata=dict(rec.metadata),
            problems=list(rec.problems),
        )
    suffix = p.suffix.lower()
    if suffix in SIGNAL_FILE_SUFFIXES and columns is None:
        raise MovekitError(
            f"{p}: a {SIGNAL_FILE_SUFFIXES[suffix]} file: movekit assess reads recordings, videos and "
            f"force-plate text exports ({COP_COLUMNS}; Kistler BioWare .txt; Vicon Nexus CSV); EMG in "
            "this file goes to movekit emg, and a force plate can be exported from its software as text"
        )
    if suffix in VIDEO_SUFFIXES:
        from movekit.capture.pipeline import run_pose_on_video

        return Trial(str(p), pose=run_pose_on_video(p))
    first = _read_lines(p)[0]
    if columns is None and first.startswith("// ") and "Counter" in _read_text(p)[:2000]:
        return read_xsens_mt(p)
    if columns is None and first.startswith("BioWare"):
        return Trial(str(p), cop=read_bioware_cop(p))
    if columns is None and first.strip().strip(",") == "Devices":
        return Trial(str(p), cop=read_vicon_devices_cop(p))
    if suffix in (".csv", ".txt", ".tsv", ".dat", ".asc") or columns is not None:
        try:
            tab, delim = _read_csv(p, columns)
        except _BiowareRows as bw:
            return Trial(str(p), cop=read_bioware_cop(p, _raw=bw.raw))
        if is_cop_table(tab):
            return Trial(str(p), cop=read_cop_csv(p, tab, delim))
        if suffix != ".csv" and columns is None:
            raise MovekitError(
                f"{p}: a text file with columns {name_list(list(tab))}: not a CoP or force-plate "
                f"file (expected {COP_COLUMNS})"
            )
        return Trial(str(p), table=tab, metadata={"csv_columns": list(tab), "csv_delimiter": delim})
    raise MovekitError(
        f"{p}: not a recording, a video ({', '.join(VIDEO_SUFFIXES)}) or a CoP file "
        f"(.csv with {COP_COLUMNS}, a Kistler BioWare .txt, a Vicon Nexus CSV or a "
        "headerless force-plate text file)"
    )
