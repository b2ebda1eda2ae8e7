"""Read surface EMG from CSV, HDF5 (generic or PLUX OpenSignals) and movekit recordings.

Every reader returns an :class:`EMGSignal`: ``t_s`` (samples,) float64 seconds, ``data_uv``
(samples, channels) float64 microvolts, channel names and the sampling rate.

CSV
    A header row; a ``time_s`` (or ``t_s``) column and one column per channel, or no time column and
    a rate given by the caller. A channel column's unit comes from its name suffix: ``_uv`` (the
    default when there is none), ``_mv`` or ``_v``; the channel is named without it
    (``vmo_uv`` -> ``vmo``).
HDF5, generic
    A ``time_s`` dataset (samples,) or a ``rate_hz`` attribute on the file, and either one
    dataset per channel (samples,) named like CSV columns, or a ``data`` dataset
    (samples, channels) with a ``channel_names`` attribute and a ``unit`` attribute.
HDF5, PLUX OpenSignals
    One group per device (its MAC address) with ``raw/channel_N`` ADC counts and attributes
    ``sampling rate``, ``resolution`` and ``device``. Counts become microvolts by PLUX's EMG sensor
    transfer function ``EMG(V) = (ADC / 2^n - 1/2) * VCC / G_EMG`` (PLUX Wireless Biosignals,
    "Electromyography (EMG) Sensor" data sheet) with the constants of biosignalsnotebooks 0.6.14
    ``conversion.raw_to_phy("EMG", device, ..., option="mV")``: VCC = 3 V, G_EMG = 1000 for bioplux,
    biosignalsplux and channeller (range +-1.5 mV); VCC = 3.3 V, G_EMG = 1008 for BITalino and 1009
    for BITalino (r)evolution / R-IoT.
EDF / BDF (European Data Format, Kemp et al. 1992, Electroencephalogr Clin Neurophysiol 82:391;
BDF: the 24-bit BioSemi variant)
    Read with pyedflib (the ``edf`` extra): the channels in uV, mV or V (physical dimension) at the
    rate of the first such channel; channels at another rate or in other units (annotations,
    accelerometers) are left out and named in the notes. Labels become channel names.
C3D (analog channels)
    Read with ezc3d (the ``export`` extra), which applies the C3D analog scaling
    ``real = (stored - ANALOG:OFFSET) * ANALOG:SCALE * ANALOG:GEN_SCALE`` (C3D.org, "The C3D File
    Format User Guide", Motion Lab Systems 2008, chapter "Analog data"; ezc3d 1.7 drops the sign
    of a negative OFFSET, which movekit restores, checked against py-c3d). Channels whose
    ``ANALOG:UNITS`` is V, mV or uV are EMG candidates; by default those whose label contains "EMG"
    (or every volt channel when none does), at ``ANALOG:RATE``. Labels become channel names; time
    starts at the first frame (``first_frame / POINT:RATE``), or at ``MOVEKIT:T0_S`` in files that
    movekit exported; NaN rows at either end (where movekit's export had no samples) are dropped.
    A file shorter than its header says, or with NaN inside, is refused.
OTBiolab+ MATLAB export (OT Bioelettronica, ``.mat``)
    ``Data`` (samples, channels), ``Time`` (samples,) s, ``SamplingFrequency`` (Hz) and
    ``Description`` (one string per channel ending in its unit, ``"Vastus Lateralis - AUX 3
    (Channel 1->1) - GR08MM1305 (1)[uV]"``): the channels in uV, mV or V are kept and named
    ``<muscle>_<electrode>`` (``vastus_lateralis_1``); decompositions, sources and auxiliary
    channels (a.u., %MVC) are left out and counted in ``source``. The ``.otb+``/``.otb4`` archives
    themselves are not read (no openly licensed sample to test a reader on): export to MATLAB.
Recording
    A ``*.mkrec`` directory: the first stream whose kind is ``"emg"`` (or the named one).

Every reader takes ``channels`` (names to keep, in that order) through :func:`read_emg`.
"""

from __future__ import annotations

import csv
import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError

log = logging.getLogger(__name__)

PLUX_VCC_V = 3.0
PLUX_EMG_GAIN = 1000.0
_UNIT_SCALE = {"uv": 1.0, "mv": 1e3, "v": 1e6}


@dataclass
class EMGSignal:
    """EMG samples in microvolts with their times.

    Attributes
    ----------
    t_s : (samples,) float64, seconds
    data_uv : (samples, channels) float64, microvolts
    channel_names : tuple of str
    rate_hz : float
    source : str
        Where it came from (path and, for HDF5/recordings, the group or stream).
    """

    t_s: np.ndarray
    data_uv: np.ndarray
    channel_names: tuple[str, ...]
    rate_hz: float
    source: str


_PLUX_DEVICES = {"bitalino": (3.3, 1008.0), "bitalino_rev": (3.3, 1009.0), "bitalino_riot": (3.3, 1009.0)}


def plux_emg_uv(
    adc: np.ndarray, resolution_bits: int, vcc_v: float = PLUX_VCC_V, gain: float = PLUX_EMG_GAIN
) -> np.ndarray:
    """PLUX EMG sensor ADC counts to microvolts: ``(ADC / 2^n - 1/2) * VCC / G * 1e6`` (PLUX data sheet)."""
    return (np.asarray(adc, dtype=np.float64) / 2.0 ** int(resolution_bits) - 0.5) * vcc_v / gain * 1e6


def _split_unit(name: str) -> tuple[str, float]:
    low = name.lower()
    for suffix, scale in _UNIT_SCALE.items():
        if low.endswith("_" + suffix):
            return name[: -len(suffix) - 1], scale
    return name, 1.0


def _rate_from_times(t: np.ndarray, path: object) -> float:
    if len(t) < 2:
        raise MovekitError(f"{path}: need at least two samples to know the sampling rate; pass --rate")
    d = np.diff(t)
    if not np.all(np.isfinite(t)) or np.any(d <= 0):
        raise MovekitError(f"{path}: time_s must be finite and strictly increasing")
    return float(1.0 / np.median(d))


def _finish(t: np.ndarray | None, data: np.ndarray, names: list[str], rate_hz: float | None, source: str) -> EMGSignal:
    if data.ndim != 2 or data.shape[1] == 0:
        raise MovekitError(f"{source}: no EMG channel columns found")
    if t is None:
        if not rate_hz:
            raise MovekitError(f"{source} has no time_s column; give the sampling rate (--rate HZ)")
        t = np.arange(len(data)) / float(rate_hz)
    else:
        r = _rate_from_times(t, source)
        if rate_hz and abs(float(rate_hz) - r) > 0.01 * r:
            raise MovekitError(
                f"{source}: --rate {float(rate_hz):g} Hz disagrees with its time_s column ({r:.6g} Hz): "
                "the file's own times are used, so leave --rate out"
            )
        rate_hz = float(rate_hz) if rate_hz else r  # a given rate that agrees: the nominal one
    dead = [n for n, col in zip(names, np.asarray(data, np.float64).T) if not np.isfinite(col).any()]
    if dead:
        raise MovekitError(
            f"{source}: channel {', '.join(dead)} holds no finite sample (a sensor that recorded nothing?)"
        )
    return EMGSignal(np.asarray(t, np.float64), np.asarray(data, np.float64), tuple(names), float(rate_hz), source)


def read_csv(path: str | Path, rate_hz: float | None = None) -> EMGSignal:
    """Read a CSV of EMG (see the module docstring for the layout)."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            header = next(csv.reader(f))
    except (OSError, StopIteration) as exc:
        raise MovekitError(f"{path}: cannot read a CSV header ({exc.__class__.__name__})") from None
    header = [h.strip() for h in header]
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise MovekitError(f"{path}: not a numeric CSV ({exc})") from None
    if table.size and table.shape[1] != len(header):
        raise MovekitError(f"{path}: {table.shape[1]} values per row but {len(header)} header names")
    table = table.reshape(-1, len(header))
    t = None
    names, cols = [], []
    for j, h in enumerate(header):
        if h.lower() in ("time_s", "t_s"):
            t = table[:, j]
            continue
        name, scale = _split_unit(h)
        names.append(name)
        cols.append(table[:, j] * scale)
    data = np.column_stack(cols) if cols else np.zeros((len(table), 0))
    return _finish(t, data, names, rate_hz, str(path))


def read_hdf5(path: str | Path, rate_hz: float | None = None) -> EMGSignal:
    """Read EMG from HDF5: PLUX OpenSignals or the generic layout (module docstring)."""
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise MovekitError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        devices = [k for k in f if isinstance(f[k], h5py.Group) and "raw" in f[k]]
        if devices:
            names, cols, rates = [], [], []
            n = None
            for dev in devices:
                g = f[dev]
                rate = float(g.attrs.get("sampling rate", 0) or 0)
                res = np.atleast_1d(g.attrs.get("resolution", [16]))
                dev_kind = str(g.attrs.get("device", "")).lower()
                vcc, gain = _PLUX_DEVICES.get(dev_kind, (PLUX_VCC_V, PLUX_EMG_GAIN))
                chans = sorted((k for k in g["raw"] if k.startswith("channel_")), key=lambda k: int(k.split("_")[1]))
                for i, ch in enumerate(chans):
                    adc = g["raw"][ch][:].reshape(-1)
                    bits = int(res[min(i, len(res) - 1)])
                    cols.append(plux_emg_uv(adc, bits, vcc, gain))
                    names.append(ch if len(devices) == 1 else f"{dev.replace(':', '')}_{ch}")
                    rates.append(rate)
            if len(set(rates)) > 1:
                # devices at different rates: keep the fastest (surface EMG needs >= 1 kHz, SENIAM)
                # and say which channels were left out
                top = max(rates)
                keep = [i for i, r in enumerate(rates) if r == top]
                dropped = [f"{names[i]} ({rates[i]:g} Hz)" for i in range(len(rates)) if rates[i] != top]
                log.warning(
                    "%s: devices at different rates; kept the %g Hz channels, left out %s",
                    path,
                    top,
                    ", ".join(dropped),
                )
                names = [names[i] for i in keep]
                cols = [cols[i] for i in keep]
                rates = [top]
            n = min(len(c) for c in cols)
            data = np.column_stack([c[:n] for c in cols])
            return _finish(None, data, names, rate_hz or rates[0], f"{path} (OpenSignals)")
        t = f["time_s"][:].astype(np.float64).reshape(-1) if "time_s" in f else None
        rate = rate_hz or (float(f.attrs["rate_hz"]) if "rate_hz" in f.attrs else None)
        if "data" in f:
            data = np.asarray(f["data"][:], dtype=np.float64)
            if data.ndim == 1:
                data = data[:, None]
            raw_names = f["data"].attrs.get("channel_names", f.attrs.get("channel_names"))
            names = (
                [n.decode() if isinstance(n, bytes) else str(n) for n in raw_names]
                if raw_names is not None
                else [f"ch{i}" for i in range(data.shape[1])]
            )
            unit = str(f["data"].attrs.get("unit", f.attrs.get("unit", "uV"))).lower()
            scale = _UNIT_SCALE.get(unit.replace("µ", "u"), None)
            if scale is None:
                raise MovekitError(f"{path}: unknown EMG unit {unit!r} (uV, mV or V)")
            return _finish(t, data * scale, names, rate, str(path))
        names, cols = [], []
        for k in f:
            if k == "time_s" or not isinstance(f[k], h5py.Dataset) or f[k].ndim != 1:
                continue
            name, scale = _split_unit(k)
            names.append(name)
            cols.append(f[k][:].astype(np.float64) * scale)
        if not cols:
            raise MovekitError(
                f"{path}: no EMG datasets (expected OpenSignals raw/channel_N, 'data' or one per channel)"
            )
        n = min(len(c) for c in cols)
        return _finish(t[:n] if t is not None else None, np.column_stack([c[:n] for c in cols]), names, rate, str(path))


def read_recording(path: str | Path, stream: str | None = None) -> EMGSignal:
    """The EMG stream of a movekit recording (first stream of kind ``emg`` unless named)."""
    from movekit.recording import open_recording

    rec = open_recording(path)
    if stream is None:
        cands = [n for n, s in rec.streams.items() if s.spec.kind == "emg"]
        if not cands:
            raise MovekitError(f"{path} has no EMG stream (streams: {', '.join(rec.streams) or 'none'})")
        stream = cands[0]
    if stream not in rec.streams:
        raise MovekitError(f"{path} has no stream {stream!r}")
    s = rec.streams[stream]
    scale = _UNIT_SCALE.get(s.spec.unit.lower().replace("µ", "u"))
    if scale is None:
        raise MovekitError(f"{path}: EMG stream {stream!r} is in {s.spec.unit!r}, expected uV, mV or V")
    data = s.channels.astype(np.float64) * scale
    names = list(s.spec.channel_names or [f"ch{i}" for i in range(data.shape[1])])
    return _finish(s.t_s.astype(np.float64), data, names, s.spec.rate_hz, f"{path}:{stream}")


def read_edf(path: str | Path, channels: list[str] | None = None) -> EMGSignal:
    """EMG channels of an EDF or BDF file (see the module docstring); ``channels`` picks by label."""
    try:
        import pyedflib
    except ImportError:
        raise MovekitError(f"{path}: reading EDF/BDF needs pyedflib: pip install movekit[edf]") from None
    p = Path(path)
    try:
        f = pyedflib.EdfReader(str(p))
    except OSError as exc:
        raise MovekitError(f"{p}: not a readable EDF/BDF file ({exc})") from None
    try:
        labels = [lab.strip() for lab in f.getSignalLabels()]
        units = [f.getPhysicalDimension(i).strip().lower().replace("µ", "u") for i in range(len(labels))]
        rates = [float(f.getSampleFrequency(i)) for i in range(len(labels))]
        keep = [i for i, u in enumerate(units) if u in _UNIT_SCALE and (channels is None or labels[i] in channels)]
        if not keep:
            raise MovekitError(f"{p}: no EMG channel in uV, mV or V" + (f" named {', '.join(channels)}" if channels else "")
                               + f" (channels: {', '.join(f'{a} [{b}]' for a, b in zip(labels, units))})")  # fmt: skip
        rate = rates[keep[0]]
        same = [i for i in keep if rates[i] == rate]
        n = min(int(f.getNSamples()[i]) for i in same)
        data = np.column_stack([f.readSignal(i)[:n] * _UNIT_SCALE[units[i]] for i in same])
    finally:
        f.close()
    left_out = [labels[i] for i in keep if i not in same]
    source = str(p) + (f" (left out at another rate: {', '.join(left_out)})" if left_out else "")
    return EMGSignal(np.arange(n) / rate, data.astype(np.float64), tuple(labels[i] for i in same), rate, source)


def _unit_scale(unit: str) -> float | None:
    """Microvolts per unit for V, mV and uV (also spelt with the micro sign or Greek mu); else None."""
    u = str(unit).strip().lower().replace("\u00b5", "u").replace("\u03bc", "u")
    return _UNIT_SCALE.get(u)


def _load_c3d(p: Path):
    try:
        import ezc3d
    except ImportError:
        raise MovekitError(f"{p}: reading C3D needs ezc3d: pip install 'movekit[export]'") from None
    try:
        return ezc3d.c3d(str(p))
    except (RuntimeError, OSError, ValueError, IndexError) as exc:
        raise MovekitError(f"{p}: not a readable C3D file ({exc})") from None


def _c3d_param(c, group: str, name: str, default=None):
    try:
        return c["parameters"][group][name]["value"]
    except KeyError:
        return default


def _c3d_rate(c, group: str) -> float:
    """``POINT:RATE`` or ``ANALOG:RATE`` in Hz (0 when absent)."""
    return float(np.ravel(_c3d_param(c, group, "RATE", [0.0]))[0] or 0.0)


def _c3d_t0_s(c) -> float:
    """Time of the first frame (s): movekit's own ``MOVEKIT:T0_S``, else ``first_frame / POINT:RATE``."""
    mk = _c3d_param(c, "MOVEKIT", "T0_S")
    if mk is not None and len(mk):
        try:
            return float(mk[0])
        except ValueError:
            pass
    rate = _c3d_rate(c, "POINT")
    first = int(c["header"]["points"]["first_frame"])
    return first / rate if rate > 0 else 0.0


def _c3d_header_frames(p: Path, c) -> int | None:
    """Frames the file's own header announces (ezc3d rewrites its copy to what it could read).

    Header words 4 and 5 (first and last frame, 1-based uint16) in the processor's byte order
    (parameter block byte 4: 84 Intel, 85 DEC, 86 MIPS big-endian); a last frame of 65535 means
    "see ``TRIAL:ACTUAL_END_FIELD``" (two 16-bit words, low first; C3D user guide).
    """
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
            fh.seek((head[0] - 1) * 512 + 3)
            proc = fh.read(1)
    except (OSError, IndexError):
        return None
    if len(head) < 10 or len(proc) < 1:
        return None
    first, last = struct.unpack((">" if proc[0] == 86 else "<") + "HH", head[6:10])
    if last == 0xFFFF:
        end = _c3d_param(c, "TRIAL", "ACTUAL_END_FIELD")
        start = _c3d_param(c, "TRIAL", "ACTUAL_START_FIELD")
        if end is not None and start is not None and len(end) >= 2 and len(start) >= 2:
            first = (int(start[0]) & 0xFFFF) + ((int(start[1]) & 0xFFFF) << 16)
            last = (int(end[0]) & 0xFFFF) + ((int(end[1]) & 0xFFFF) << 16)
    return max(0, last - first + 1)


def _c3d_signed_offsets_fixed(c, analog: np.ndarray) -> np.ndarray:
    """Undo ezc3d's ``abs()`` of negative ``ANALOG:OFFSET`` values in a signed-format file.

    The C3D user guide defines ``real = (stored - OFFSET) * SCALE * GEN_SCALE`` with OFFSET a signed
    integer for signed (default) analog data; ezc3d 1.7 subtracts ``abs(OFFSET)`` (its
    ``AnalogsInfo.cpp``, right for UNSIGNED files whose offsets wrap negative), which shifts a
    channel with a negative offset by ``2 |OFFSET| SCALE GEN_SCALE``. py-c3d applies the signed
    offset; tests/test_emg_io.py checks the two agree.
    """
    fmt = " ".join(str(v) for v in np.ravel(_c3d_param(c, "ANALOG", "FORMAT", []))).strip().upper()
    offsets = np.ravel(np.asarray(_c3d_param(c, "ANALOG", "OFFSET", []), dtype=np.float64))
    if fmt == "UNSIGNED" or not np.any(offsets < 0):
        return analog
    n = analog.shape[1]
    scales = np.ones(n)
    given = np.ravel(np.asarray(_c3d_param(c, "ANALOG", "SCALE", []), dtype=np.float64))[:n]
    scales[: len(given)] = given
    gen = float(np.ravel(_c3d_param(c, "ANALOG", "GEN_SCALE", [1.0]))[0])
    off = np.zeros(n)
    off[: min(n, len(offsets))] = offsets[:n]
    shift = np.where(off < 0, -2.0 * off * scales * gen, 0.0)
    return analog + shift[None, :, None]


def _c3d_pick(p: Path, labels: list[str], units: list[str], channels: list[str] | None) -> list[int]:
    """Indices of the EMG channels: the named ones, or the volt channels labelled EMG (else all volt ones)."""
    volt = [i for i, u in enumerate(units) if _unit_scale(u) is not None]
    listing = ", ".join(f"{a} [{b}]" for a, b in zip(labels, units))
    if channels:
        pick = []
        for name in channels:
            if name not in labels:
                raise MovekitError(f"{p}: no analog channel {name!r} (channels: {listing})")
            i = labels.index(name)
            if i not in volt:
                raise MovekitError(f"{p}: analog channel {name!r} is in {units[i]!r}, not V, mV or uV")
            pick.append(i)
        return pick
    if not volt:
        raise MovekitError(f"{p}: no analog channel in V, mV or uV (channels: {listing})")
    emg = [i for i in volt if "emg" in labels[i].lower()]
    return emg or volt


def read_c3d(path: str | Path, channels: list[str] | None = None) -> EMGSignal:
    """EMG from the analog channels of a C3D file (see the module docstring), in microvolts.

    Parameters
    ----------
    path : C3D file.
    channels : analog labels to keep, in this order (default: the volt channels labelled EMG).

    Raises
    ------
    MovekitError
        Not a C3D file, truncated (fewer analog samples than its header announces), no analog
        channels, or no channel in V, mV or uV.
    """
    p = Path(path)
    c = _load_c3d(p)
    analog = np.asarray(c["data"]["analogs"], dtype=np.float64)
    labels = [str(v).strip() for v in _c3d_param(c, "ANALOG", "LABELS", [])]
    if analog.ndim != 3 or analog.shape[1] == 0 or not labels:
        raise MovekitError(f"{p}: the C3D file has no analog channels (nothing to read as EMG)")
    rate = _c3d_rate(c, "ANALOG")
    if rate <= 0:
        raise MovekitError(f"{p}: the C3D file has no analog rate (ANALOG:RATE)")
    point_rate, frames = _c3d_rate(c, "POINT"), _c3d_header_frames(p, c)
    expected = frames * max(1, round(rate / point_rate)) if frames and point_rate > 0 else 0
    if analog.shape[2] < expected:
        raise MovekitError(
            f"{p}: truncated C3D file: the header announces {expected} analog samples, the file holds {analog.shape[2]}"
        )
    analog = _c3d_signed_offsets_fixed(c, analog)
    units = list(_c3d_param(c, "ANALOG", "UNITS", []))
    units = [str(u).strip() for u in units] + ["?"] * (len(labels) - len(units))
    pick = _c3d_pick(p, labels, units, channels)
    data = np.column_stack([analog[0, i] * _unit_scale(units[i]) for i in pick])
    left = [labels[i] for i, u in enumerate(units) if _unit_scale(u) is not None and i not in pick]
    source = str(p) + (f" (other volt channels left out: {', '.join(left)})" if left else "")
    t = _c3d_t0_s(c) + np.arange(len(data)) / rate
    t, data = _trim_missing(p, t, data)
    return EMGSignal(t, data, tuple(labels[i] for i in pick), rate, source)


def _trim_missing(p: Path, t: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop leading and trailing samples where a channel is NaN (movekit's C3D export marks where a
    stream has no samples so); NaN inside is refused (the causal filters would carry it on)."""
    ok = np.isfinite(data).all(axis=1)
    if not ok.any():
        raise MovekitError(f"{p}: the EMG channels hold no finite sample")
    first, last = int(np.argmax(ok)), len(ok) - int(np.argmax(ok[::-1]))
    if not ok[first:last].all():
        bad = first + int(np.argmin(ok[first:last]))
        raise MovekitError(f"{p}: missing EMG samples (NaN) inside the recording, first at {t[bad]:.4f} s")
    return t[first:last], data[first:last]


_OTB_KEYS = ("Data", "Time", "SamplingFrequency", "Description")
_OTB_DESC = re.compile(r"^(?P<name>.*?)\s*\[\s*(?P<unit>[^\]]*)\]\s*$")
_OTB_GRID = re.compile(r"^(?P<muscle>[^-]+?)\s+-\s.*\((?P<n>\d+)\)$")


def _mat_first(x) -> np.ndarray:
    """The array inside a MATLAB cell (first trial) or the array itself."""
    x = np.asarray(x)
    while x.dtype == object and x.size:
        x = np.asarray(x.flat[0])
    return x


def _otb_name(desc: str) -> str:
    m = _OTB_GRID.match(desc)
    text = f"{m['muscle']} {m['n']}" if m else desc
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "ch"


def _load_mat(p: Path) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(str(p))
    except NotImplementedError:
        raise MovekitError(f"{p}: MATLAB v7.3 files are not read; save it again with -v7 (MAT version 5)") from None
    except (ValueError, TypeError, OSError) as exc:
        raise MovekitError(f"{p}: not a readable MATLAB file ({exc})") from None


def read_otb_mat(path: str | Path, channels: list[str] | None = None) -> EMGSignal:
    """EMG from an OTBiolab+ MATLAB export (see the module docstring), in microvolts.

    Raises
    ------
    MovekitError
        Not a MATLAB v5 file, not OTBiolab+'s layout, or no channel in uV, mV or V.
    """
    p = Path(path)
    m = _load_mat(p)
    missing = [k for k in _OTB_KEYS if k not in m]
    if missing:
        found = ", ".join(k for k in m if not k.startswith("__")) or "none"
        raise MovekitError(
            f"{p}: not an OTBiolab+ MATLAB export: no {', '.join(missing)} "
            f"(expected {', '.join(_OTB_KEYS)}; variables: {found})"
        )
    data = _mat_first(m["Data"]).astype(np.float64)
    t = _mat_first(m["Time"]).astype(np.float64).reshape(-1)
    desc = [str(_mat_first(d).reshape(-1)[0]) if _mat_first(d).size else "" for d in np.ravel(m["Description"])]
    rate = float(np.ravel(m["SamplingFrequency"])[0])
    if data.ndim != 2 or data.shape[1] != len(desc) or len(t) != data.shape[0]:
        raise MovekitError(f"{p}: Data {data.shape}, Time ({len(t)},) and {len(desc)} Descriptions do not agree")
    parsed = [_OTB_DESC.match(d) for d in desc]
    units = [mm["unit"] if mm else "" for mm in parsed]
    keep = [i for i, u in enumerate(units) if _unit_scale(u) is not None]
    if not keep:
        raise MovekitError(f"{p}: no channel in uV, mV or V (units: {', '.join(sorted(set(units)))})")
    names = _unique([_otb_name(parsed[i]["name"]) for i in keep])
    cols = np.column_stack([data[:, i] * _unit_scale(units[i]) for i in keep])
    other = len(desc) - len(keep)
    sig = _finish(t, cols, names, rate, f"{p} (OTBiolab+; {other} other channels left out)" if other else str(p))
    return select_channels(sig, channels)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def select_channels(sig: EMGSignal, channels: list[str] | None) -> EMGSignal:
    """Keep ``channels`` (in that order); MovekitError naming the ones that are not there."""
    if not channels:
        return sig
    absent = [c for c in channels if c not in sig.channel_names]
    if absent:
        raise MovekitError(f"{sig.source}: no channel {', '.join(absent)} (channels: {', '.join(sig.channel_names)})")
    cols = [sig.channel_names.index(c) for c in channels]
    return EMGSignal(sig.t_s, sig.data_uv[:, cols], tuple(channels), sig.rate_hz, sig.source)


_OTB_ARCHIVES = (".otb+", ".otb4", ".otb")


#: Surface EMG carries most of its power in ~20-450 Hz (De Luca 2010; SENIAM); the real EMG
#: files read here keep 88-100 % of their power (mean removed) at or above 20 Hz, while the
#: goniometer, accelerometer and force-plate channels of the same PLUX sets keep 0-7 %
#: (biosignalsnotebooks 0.6.14: GON.h5, gonio_arm_flex.h5, sync_acc_1.h5, loft_time_subject_1.h5;
#: tests/test_outside_sensor_files.py). A channel under this share is named as probably not EMG.
MIN_EMG_BAND_SHARE = 0.5
EMG_BAND_LOW_HZ = 20.0


def emg_band_share(sig: EMGSignal, low_hz: float = EMG_BAND_LOW_HZ) -> np.ndarray:
    """Share (0..1) of each channel's power, mean removed, at or above ``low_hz`` (Hz); NaN for a
    channel without variance or when the sampling rate cannot show ``low_hz`` (Nyquist <= low_hz)."""
    x = np.asarray(sig.data_uv, dtype=np.float64)
    out = np.full(x.shape[1] if x.ndim == 2 else 0, np.nan)
    if x.ndim != 2 or len(x) < 4 or sig.rate_hz / 2 <= low_hz:
        return out
    x = np.nan_to_num(x - np.nanmean(x, axis=0))
    power = np.abs(np.fft.rfft(x, axis=0)) ** 2
    high = np.fft.rfftfreq(len(x), 1.0 / sig.rate_hz) >= low_hz
    total = power.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, power[high].sum(axis=0) / total, np.nan)


def not_emg_warnings(sig: EMGSignal) -> list[str]:
    """One message per channel whose power lies mostly below 20 Hz (see :data:`MIN_EMG_BAND_SHARE`)."""
    share = emg_band_share(sig)
    return [
        f"{name}: only {100 * v:.0f}% of its power lies at or above {EMG_BAND_LOW_HZ:g} Hz, where surface EMG "
        "has most of it (De Luca 2010): it looks like a slower signal (a goniometer, accelerometer, force, "
        "EEG or ECG), not EMG; check the channel (--channels)"
        for name, v in zip(sig.channel_names, share)
        if np.isfinite(v) and v < MIN_EMG_BAND_SHARE
    ]


def read_emg(path: str | Path, rate_hz: float | None = None, channels: list[str] | None = None) -> EMGSignal:
    """Read EMG from a CSV, HDF5, EDF/BDF, C3D, OTBiolab+ .mat file or recording, chosen by what ``path`` is.

    Parameters
    ----------
    path : file or ``*.mkrec`` directory.
    rate_hz : sampling rate (Hz) for a CSV/HDF5 file without times.
    channels : channel names to keep, in this order (default: every EMG channel the reader finds).
    """
    p = Path(path)
    if not p.exists():
        raise MovekitError(f"{p}: no such file or recording")
    if p.is_dir():
        return select_channels(read_recording(p), channels)
    suffix = p.suffix.lower()
    if suffix in _OTB_ARCHIVES:
        raise MovekitError(
            f"{p}: OT Bioelettronica archives ({', '.join(_OTB_ARCHIVES)}) are not read yet; "
            "export the recording from OTBiolab+ as MATLAB (.mat) and give that file"
        )
    with open(p, "rb") as fh:
        magic = fh.read(8)
    if suffix == ".c3d" or magic[:2] == b"\x02\x50":
        return read_c3d(p, channels)
    if suffix == ".mat" or magic.startswith(b"MATLAB"):
        return read_otb_mat(p, channels)
    if magic == b"\x89HDF\r\n\x1a\n" or suffix in (".h5", ".hdf5"):
        return select_channels(read_hdf5(p, rate_hz), channels)
    if suffix in (".edf", ".bdf") or magic in (b"0       ", b"\xffBIOSEMI"):
        return select_channels(read_edf(p, channels), channels)
    return select_channels(read_csv(p, rate_hz), channels)
