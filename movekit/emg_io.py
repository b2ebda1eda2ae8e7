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
Recording
    A ``*.mkrec`` directory: the first stream whose kind is ``"emg"`` (or the named one).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError

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
        rate_hz = float(rate_hz) if rate_hz else r
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
                print(
                    f"movekit: notice: {path}: devices at different rates; kept the {top:g} Hz channels, "
                    f"left out {', '.join(dropped)}",
                    file=sys.stderr,
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
    data = s.data.reshape(len(s.t_s), -1).astype(np.float64) * scale
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


def read_emg(path: str | Path, rate_hz: float | None = None) -> EMGSignal:
    """Read EMG from a CSV, HDF5, EDF/BDF file or recording directory, chosen by what ``path`` is."""
    p = Path(path)
    if not p.exists():
        raise MovekitError(f"{p}: no such file or recording")
    if p.is_dir():
        return read_recording(p)
    with open(p, "rb") as fh:
        magic = fh.read(8)
    if magic == b"\x89HDF\r\n\x1a\n" or p.suffix.lower() in (".h5", ".hdf5"):
        return read_hdf5(p, rate_hz)
    if p.suffix.lower() in (".edf", ".bdf") or magic in (b"0       ", b"\xffBIOSEMI"):
        return read_edf(p)
    return read_csv(p, rate_hz)
