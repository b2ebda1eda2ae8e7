"""Surface EMG processing, offline (batch) and live (causal streaming), with one implementation.

Pipeline per channel (SENIAM recommendations, Hermens 1999/2000; De Luca 2010, "Filtering the
surface EMG signal: movement artifact and baseline noise contamination", J Biomech 43:1573;
ISEK reporting standard, Merletti 1999):

1. band-pass, 4th-order Butterworth, default 20-450 Hz (De Luca 2010 recommends a 20 Hz high-pass
   corner against movement artefact); the upper corner is capped at 0.45 x the sampling rate so the
   filter stays realisable below Nyquist;
2. optional mains notch (50 or 60 Hz and its harmonics below Nyquist, quality factor 30);
3. full-wave rectification;
4. amplitude: a moving RMS over a trailing window (default 100 ms, in the 50-250 ms range) or a
   linear envelope (2nd-order Butterworth low-pass of the rectified signal, default 6 Hz);
5. optional normalisation to a maximal voluntary contraction trial (%MVC).

Onsets and offsets follow Hodges & Bui 1996 ("A comparison of computer-based methods for the
determination of onset of muscle contraction using electromyography", Electroencephalogr Clin
Neurophysiol 101:511-519): the rectified signal low-passed at 50 Hz, averaged over a window of
``min_on_s`` (25 ms), exceeds the baseline mean + k SD (k = 3), the onset being the first sample of
that window above the threshold; the offset is where its mean over ``min_off_s`` (100 ms) falls
back below; bursts shorter than ``min_burst_s`` (100 ms) are dropped. Optionally the detection
signal is the Teager-Kaiser energy operator ``x[n]^2 - x[n+1] x[n-1]`` of the band-passed signal (Li,
Zhou & Aruin 2007, "Teager-Kaiser energy operation of surface EMG improves muscle activity onset
detection", Ann Biomed Eng 35:1532-1538), computed causally one sample late.

Everything is causal: every filter runs forward with its state carried between chunks, moving
windows keep their tail, and the onset detector keeps its state. :func:`process` (batch) is
literally one call of :class:`EMGStream` on the whole signal, so a signal processed live in chunks
of any size gives the same envelopes (to float rounding) and the same onset/offset times.
Offline zero-phase filtering is deliberately not offered: live feedback must see what the
recording shows. The causal filters delay the envelope (a 100 ms moving RMS by ~50 ms); onset times
are stamped inside the detection window, which removes most of the detection delay, but a live
onset is only *announced* once its burst has lasted ``min_burst_s``.

Arrays are ``(samples, channels)`` in microvolts with ``t_s`` ``(samples,)`` in seconds. NaN input
samples (lost packets) are fed to the filters as 0 and give NaN outputs at those samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import signal as _sig

from movekit.errors import MovekitError

__all__ = [
    "EMGConfig",
    "EMGEvent",
    "EMGResult",
    "EMGStream",
    "process",
    "mvc_reference",
    "bandpass_sos",
    "notch_sos",
    "teager_kaiser",
    "onset_offset_pairs",
    "vmo_vl_ratio",
    "onset_difference_s",
    "median_frequency",
    "fatigue_trend",
    "FatigueTrend",
    "activity_mask",
    "quietest_window",
]


# --------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class EMGConfig:
    """Settings of the EMG pipeline (all frequencies in Hz, durations in s).

    Attributes
    ----------
    band_hz : (low, high)
        Band-pass corners; default 20-450 Hz (SENIAM; De Luca 2010). ``high`` is capped at 0.45 x rate.
    band_order : int
        Butterworth order of the band-pass (per edge), default 4.
    notch_hz : float or None
        Mains frequency (50 or 60) to notch out with its harmonics below Nyquist; None = no notch.
    notch_q : float
        Quality factor of each notch (bandwidth = f / Q).
    envelope : {"rms", "linear"}
        Moving RMS over ``rms_window_s`` or linear envelope low-passed at ``envelope_lowpass_hz``.
    rms_window_s : float
        Trailing RMS window, 0.05-0.25 s recommended (SENIAM/ISEK); default 0.1 s.
    envelope_lowpass_hz : float
        Corner of the 2nd-order low-pass of the linear envelope, default 6 Hz.
    onset_method : {"hodges", "tkeo"}
        "hodges": rectified band-passed signal; "tkeo": rectified Teager-Kaiser energy of it (Li 2007).
    onset_lowpass_hz : float
        Low-pass of the onset detection signal, 50 Hz (Hodges & Bui 1996).
    onset_k : float
        Threshold = baseline mean + k x baseline SD of the detection signal; default 3.
    min_on_s : float
        Window over which the mean detection signal must exceed the threshold (Hodges & Bui: 25 ms).
    min_off_s : float
        Window over which its mean must stay below the threshold to declare an offset; default 0.1 s.
    min_burst_s : float
        Bursts shorter than this are dropped (spikes, artefacts); default 0.1 s. A live onset is
        announced once its burst has lasted this long, stamped with the burst's start time.
    baseline_s : (start, end)
        Baseline window relative to the first sample, used when no baseline is given; default
        0.1-0.6 s (the first 0.1 s lets the filters settle).
    """

    band_hz: tuple[float, float] = (20.0, 450.0)
    band_order: int = 4
    notch_hz: float | None = None
    notch_q: float = 30.0
    envelope: str = "rms"
    rms_window_s: float = 0.1
    envelope_lowpass_hz: float = 6.0
    onset_method: str = "hodges"
    onset_lowpass_hz: float = 50.0
    onset_k: float = 3.0
    min_on_s: float = 0.025
    min_off_s: float = 0.1
    min_burst_s: float = 0.1
    baseline_s: tuple[float, float] = (0.1, 0.6)

    def validated(self, rate_hz: float) -> EMGConfig:
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise MovekitError(f"EMG sampling rate must be a positive number of Hz, got {rate_hz}")
        if self.envelope not in ("rms", "linear"):
            raise MovekitError(f"EMG envelope must be 'rms' or 'linear', got {self.envelope!r}")
        if self.onset_method not in ("hodges", "tkeo"):
            raise MovekitError(f"EMG onset method must be 'hodges' or 'tkeo', got {self.onset_method!r}")
        if self.rms_window_s <= 0 or self.min_on_s <= 0 or self.min_off_s <= 0:
            raise MovekitError("EMG window lengths must be positive")
        return self


def bandpass_sos(rate_hz: float, band_hz: tuple[float, float] = (20.0, 450.0), order: int = 4) -> np.ndarray:
    """Second-order sections of the Butterworth band-pass, upper corner capped below Nyquist.

    Parameters
    ----------
    rate_hz : float
        Sampling rate (Hz).
    band_hz : (low, high)
        Corners (Hz); ``high`` is lowered to 0.45 x ``rate_hz`` when above it (e.g. 450 -> 225 Hz at
        500 Hz sampling), so a 20-450 Hz default still works below the 1 kHz SENIAM minimum.

    Raises
    ------
    MovekitError
        When the (capped) band is empty, e.g. a 10 Hz stream.
    """
    low, high = float(band_hz[0]), float(band_hz[1])
    high = min(high, 0.45 * rate_hz)
    if not (0 < low < high):
        raise MovekitError(
            f"EMG band {band_hz[0]:g}-{band_hz[1]:g} Hz is empty at {rate_hz:g} Hz sampling "
            f"(upper corner capped at {0.45 * rate_hz:g} Hz); surface EMG needs >= 1000 Hz (SENIAM)"
        )
    return _sig.butter(order, [low, high], btype="bandpass", fs=rate_hz, output="sos")


def notch_sos(rate_hz: float, mains_hz: float, q: float = 30.0) -> np.ndarray | None:
    """IIR notches at ``mains_hz`` and its harmonics below 0.45 x rate, as second-order sections."""
    sections = []
    f = float(mains_hz)
    while f < 0.45 * rate_hz:
        b, a = _sig.iirnotch(f, q, fs=rate_hz)
        sections.append(_sig.tf2sos(b, a))
        f += mains_hz
    return np.vstack(sections) if sections else None


def _lowpass_sos(rate_hz: float, corner_hz: float, order: int = 2) -> np.ndarray:
    corner = min(corner_hz, 0.45 * rate_hz)
    return _sig.butter(order, corner, btype="lowpass", fs=rate_hz, output="sos")


def teager_kaiser(x: np.ndarray) -> np.ndarray:
    """Teager-Kaiser energy operator ``x[n]^2 - x[n+1] x[n-1]`` along axis 0 (Li 2007), batch form.

    Ends are padded by repeating the edge values' operator (the output has the input's length).
    The streaming pipeline uses the causal form delayed by one sample.
    """
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    if len(x) < 3:
        out[...] = x**2
        return out
    out[1:-1] = x[1:-1] ** 2 - x[2:] * x[:-2]
    out[0] = out[1]
    out[-1] = out[-2]
    return out


# ------------------------------------------------------------------------------ stateful pieces
class _SOS:
    """A forward SOS filter over (samples, channels) whose state persists between calls.

    The first call initialises the state to the step response steady state of the first sample
    (``sosfilt_zi``), so a DC offset on the electrodes does not ring through the band-pass.
    """

    def __init__(self, sos: np.ndarray, n_channels: int):
        self.sos = sos
        self.zi: np.ndarray | None = None
        self.n = n_channels

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return x.copy()
        if self.zi is None:
            zi0 = _sig.sosfilt_zi(self.sos)  # (sections, 2)
            self.zi = zi0[:, :, None] * x[0][None, None, :]
        y, self.zi = _sig.sosfilt(self.sos, x, axis=0, zi=self.zi)
        return y


class _MovingMean:
    """Trailing moving mean over ``w`` samples of (samples, channels); zeros before the first sample.

    Each call prepends the previous ``w - 1`` samples and recomputes a cumulative sum from there,
    so rounding does not accumulate over long streams and chunked == whole to float precision.
    """

    def __init__(self, w: int, n_channels: int):
        self.w = max(1, int(w))
        self.tail = np.zeros((self.w - 1, n_channels))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return x.copy()
        ext = np.concatenate([self.tail, x], axis=0)
        c = np.cumsum(ext, axis=0)
        c = np.concatenate([np.zeros((1, x.shape[1])), c], axis=0)
        w = self.w
        y = (c[w:] - c[:-w]) / w
        self.tail = ext[len(ext) - (w - 1) :] if w > 1 else ext[:0]
        return y


@dataclass(frozen=True)
class EMGEvent:
    """An onset or offset: channel name, ``kind`` ("onset"/"offset"), time (s) and the sample index."""

    channel: str
    kind: str
    t_s: float
    index: int


class _OnsetDetector:
    """Hodges & Bui 1996 threshold detector with state carried between chunks.

    The detection signal's trailing mean over ``on_w`` samples exceeding the threshold starts a
    burst at the first sample of that window that is itself above the threshold; its trailing
    mean over ``off_w`` samples falling below the threshold ends it at the first sample of that
    window. A burst shorter than
    ``min_burst`` samples is dropped; an onset is therefore emitted once the burst has lasted that
    long (its time is still the burst's start).
    """

    INACTIVE, PENDING, ACTIVE = 0, 1, 2

    def __init__(self, n_channels: int, on_w: int, off_w: int, min_burst: int):
        self.on_mean = _MovingMean(on_w, n_channels)
        self.off_mean = _MovingMean(off_w, n_channels)
        self.on_w, self.off_w, self.min_burst = on_w, off_w, max(1, min_burst)
        self.state = np.zeros(n_channels, dtype=np.int8)
        self.onset = np.full(n_channels, -1, dtype=np.int64)
        self.next_pos = np.zeros(n_channels, dtype=np.int64)  # first stream index to search from
        self.tail = np.zeros((on_w - 1, n_channels))  # last on_w - 1 detection samples

    def __call__(self, d: np.ndarray, thr: np.ndarray | None, start_index: int) -> list[tuple[int, str, int]]:
        a_on = self.on_mean(d)
        a_off = self.off_mean(d)
        ext = np.concatenate([self.tail, d], axis=0)  # ext[n + on_w - 1] is d[n]
        self.tail = ext[len(ext) - (self.on_w - 1) :] if self.on_w > 1 else ext[:0]
        if thr is None or len(d) == 0:
            return []
        events: list[tuple[int, str, int]] = []
        end_index = start_index + len(d)
        for c in range(d.shape[1]):
            if not np.isfinite(thr[c]):
                continue
            above = np.flatnonzero(a_on[:, c] > thr[c])
            below = np.flatnonzero(a_off[:, c] < thr[c])
            pos = max(0, int(self.next_pos[c]) - start_index)
            state = int(self.state[c])
            while True:
                if state == self.INACTIVE:
                    k = np.searchsorted(above, pos)
                    if k >= len(above):
                        break
                    n = int(above[k])
                    # onset: the first sample of the triggering window above the threshold
                    win = ext[n : n + self.on_w, c]
                    j = int(np.argmax(win > thr[c])) if np.any(win > thr[c]) else 0
                    self.onset[c] = max(start_index + n - self.on_w + 1 + j, 0)
                    state = self.PENDING
                    pos = n + self.off_w  # the offset window must lie wholly after the onset
                    continue
                k = np.searchsorted(below, pos)
                n = int(below[k]) if k < len(below) else None
                onset = int(self.onset[c])
                if state == self.PENDING:
                    off_idx = start_index + n - self.off_w + 1 if n is not None else None
                    if off_idx is not None and off_idx - onset < self.min_burst:
                        state = self.INACTIVE  # too short: drop it
                        pos = n + self.on_w
                        continue
                    # any later offset is at least end_index - off_w + 1 samples in
                    if off_idx is not None or end_index - self.off_w + 1 - onset >= self.min_burst:
                        events.append((c, "onset", onset))
                        state = self.ACTIVE
                    else:
                        break
                if n is None:
                    break
                events.append((c, "offset", max(start_index + n - self.off_w + 1, onset + 1)))
                state = self.INACTIVE
                pos = n + self.on_w  # the next onset window must lie wholly after the offset
            self.state[c] = state
            self.next_pos[c] = start_index + pos
        return events


# ----------------------------------------------------------------------------------- the stream
@dataclass
class EMGResult:
    """Output of :func:`process` or of one :meth:`EMGStream.process` chunk.

    Attributes
    ----------
    t_s : (samples,) float64
    filtered_uv : (samples, channels) band-passed (and notched) signal, microvolts
    envelope_uv : (samples, channels) moving RMS or linear envelope, microvolts
    pct_mvc : (samples, channels) envelope as % of the MVC reference, or None without MVC
    detect : (samples, channels) onset detection signal (50 Hz low-passed rectified, or TKEO), uV or uV^2
    events : onsets and offsets found in this chunk, in time order
    channel_names : tuple of str
    threshold : (channels,) detection threshold (NaN until the baseline is complete)
    """

    t_s: np.ndarray
    filtered_uv: np.ndarray
    envelope_uv: np.ndarray
    pct_mvc: np.ndarray | None
    detect: np.ndarray
    events: list[EMGEvent]
    channel_names: tuple[str, ...]
    threshold: np.ndarray

    def onsets(self, channel: str) -> np.ndarray:
        """Onset times (s) of ``channel``."""
        return np.array([e.t_s for e in self.events if e.channel == channel and e.kind == "onset"])

    def offsets(self, channel: str) -> np.ndarray:
        """Offset times (s) of ``channel``."""
        return np.array([e.t_s for e in self.events if e.channel == channel and e.kind == "offset"])


class EMGStream:
    """Causal EMG processor for live chunks; state (filters, windows, detector, baseline) persists.

    Parameters
    ----------
    rate_hz : float
        Sampling rate (Hz); SENIAM recommends >= 1000 Hz for surface EMG.
    channel_names : sequence of str
        One name per column, e.g. ``("vmo", "vl")``.
    config : EMGConfig
    mvc_uv : (channels,) array or None
        MVC reference amplitude per channel (microvolts, from :func:`mvc_reference` with the same
        config); enables ``pct_mvc``.
    baseline : (mean, sd) arrays or None
        Baseline statistics of the detection signal per channel. None: measured over
        ``config.baseline_s`` from the first sample (detection starts once that window is complete,
        and is then applied to the baseline window itself as well).

    Examples
    --------
    >>> s = EMGStream(1000.0, ("vmo", "vl"))
    >>> out = s.process(t_chunk, x_chunk)      # doctest: +SKIP
    """

    def __init__(
        self,
        rate_hz: float,
        channel_names: Sequence[str],
        config: EMGConfig | None = None,
        mvc_uv: np.ndarray | Sequence[float] | None = None,
        baseline: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.config = (config or EMGConfig()).validated(float(rate_hz))
        self.rate_hz = float(rate_hz)
        self.channel_names = tuple(str(c) for c in channel_names)
        n = len(self.channel_names)
        if n == 0:
            raise MovekitError("EMG needs at least one channel")
        cfg = self.config
        self._band = _SOS(bandpass_sos(self.rate_hz, cfg.band_hz, cfg.band_order), n)
        nsos = notch_sos(self.rate_hz, cfg.notch_hz, cfg.notch_q) if cfg.notch_hz else None
        self._notch = _SOS(nsos, n) if nsos is not None else None
        if cfg.envelope == "rms":
            self._env = _MovingMean(round(cfg.rms_window_s * self.rate_hz), n)
            self._env_lp = None
        else:
            self._env = None
            self._env_lp = _SOS(_lowpass_sos(self.rate_hz, cfg.envelope_lowpass_hz), n)
        self._det_lp = _SOS(_lowpass_sos(self.rate_hz, cfg.onset_lowpass_hz), n)
        self._tk_prev = np.zeros((2, n))  # the two previous filtered samples for the causal TKEO
        self._det = _OnsetDetector(
            n,
            max(1, round(cfg.min_on_s * self.rate_hz)),
            max(1, round(cfg.min_off_s * self.rate_hz)),
            round(cfg.min_burst_s * self.rate_hz),
        )
        if mvc_uv is not None:
            m = np.asarray(mvc_uv, dtype=float).reshape(-1)
            if m.shape != (n,):
                raise MovekitError(f"MVC reference has {m.size} values for {n} EMG channels")
            if np.any(~(m > 0)):
                raise MovekitError("MVC reference amplitudes must be positive microvolts")
            self.mvc_uv: np.ndarray | None = m
        else:
            self.mvc_uv = None
        self._n_seen = 0
        self._times: list[np.ndarray] = []  # recent sample times, for event times
        self._times_base = 0  # stream index of self._times[0][0]
        b0 = max(0, round(cfg.baseline_s[0] * self.rate_hz))
        b1 = max(b0 + 2, round(cfg.baseline_s[1] * self.rate_hz))
        self._base_range = (b0, b1)
        self._base_buf: list[np.ndarray] = []
        self._pending: list[np.ndarray] = []  # detection signal held until the baseline is known
        if baseline is not None:
            mean, sd = (np.asarray(v, dtype=float).reshape(-1) for v in baseline)
            self.threshold: np.ndarray | None = mean + cfg.onset_k * sd
        else:
            self.threshold = None

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    def _detection(self, f: np.ndarray) -> np.ndarray:
        if self.config.onset_method == "tkeo":
            # causal TKEO delayed one sample: psi[n] = f[n-1]^2 - f[n] f[n-2]
            ext = np.concatenate([self._tk_prev, f], axis=0)
            psi = ext[1:-1] ** 2 - ext[2:] * ext[:-2]
            self._tk_prev = ext[-2:]
            r = np.abs(psi)
        else:
            r = np.abs(f)
        return self._det_lp(r)

    def process(self, t_s: np.ndarray, x_uv: np.ndarray) -> EMGResult:
        """Process one chunk.

        Parameters
        ----------
        t_s : (samples,) float64
            Session times (s) of the samples; event times are taken from here.
        x_uv : (samples, channels) or (samples,) for one channel
            Raw EMG in microvolts.
        """
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        x = np.asarray(x_uv, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.n_channels or x.shape[0] != t.shape[0]:
            raise MovekitError(
                f"EMG chunk must be (samples, {self.n_channels}) with matching t_s; got {x.shape} and {t.shape}"
            )
        bad = ~np.isfinite(x)
        if bad.any():
            x = np.where(bad, 0.0, x)
        f = self._band(x)
        if self._notch is not None:
            f = self._notch(f)
        if self._env is not None:
            env = np.sqrt(np.maximum(self._env(f * f), 0.0))
        else:
            env = self._env_lp(np.abs(f))
        det = self._detection(f)
        if bad.any():
            f = np.where(bad, np.nan, f)
            env = np.where(bad, np.nan, env)
        pct = env / self.mvc_uv * 100.0 if self.mvc_uv is not None else None

        start = self._n_seen
        self._n_seen += len(t)
        det_ev = np.where(bad, 0.0, det) if bad.any() else det
        raw_events: list[tuple[int, str, int]] = []
        if self.threshold is None:
            # hold the detection signal until the baseline window is complete, then run the
            # detector over everything held (so the baseline period itself is examined too)
            b0, b1 = self._base_range
            lo, hi = max(b0 - start, 0), min(b1 - start, len(t))
            if hi > lo:
                self._base_buf.append(det_ev[lo:hi][~bad[lo:hi].any(axis=1)])
            self._pending.append(det_ev)
            if self._n_seen >= b1:
                base = np.concatenate(self._base_buf, axis=0)
                if len(base) < 2:
                    self.threshold = np.full(self.n_channels, np.nan)
                else:
                    self.threshold = base.mean(axis=0) + self.config.onset_k * base.std(axis=0)
                held = np.concatenate(self._pending, axis=0)
                self._pending = []
                raw_events = self._det(held, self.threshold, self._n_seen - len(held))
        else:
            raw_events = self._det(det_ev, self.threshold, start)
        # recent sample times (events can point up to one detection window before this chunk)
        self._times.append(t)
        times = np.concatenate(self._times) if len(self._times) > 1 else self._times[0]
        if raw_events and min(i for _, _, i in raw_events) < self._times_base:
            raise AssertionError("EMG event before the kept sample times")  # a bug, never user input
        events = sorted(
            (EMGEvent(self.channel_names[c], kind, float(times[i - self._times_base]), i) for c, kind, i in raw_events),
            key=lambda e: (e.index, e.channel),
        )
        if self.threshold is not None:
            keep = self._det.on_w + self._det.off_w + self._det.min_burst + 2
            if len(times) > keep:
                self._times_base += len(times) - keep
                times = times[-keep:]
        self._times = [times]
        thr = self.threshold if self.threshold is not None else np.full(self.n_channels, np.nan)
        return EMGResult(t, f, env, pct, det, events, self.channel_names, thr.copy())


def quietest_window(
    x_uv: np.ndarray, rate_hz: float, window_s: float = 0.5, config: EMGConfig | None = None
) -> tuple[float, float]:
    """Start and end (s, from the first sample) of the window with the lowest mean envelope.

    An offline helper to pick a rest baseline when a recording does not start at rest; the mean is
    over channels of the band-passed moving RMS. Skips the first 0.1 s (filter settling).
    """
    x = np.asarray(x_uv, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    w = max(2, round(window_s * rate_hz))
    cfg = replace(config or EMGConfig(), baseline_s=(0.0, 0.002))
    s = EMGStream(rate_hz, [f"c{i}" for i in range(x.shape[1])], cfg)
    env = s.process(np.arange(len(x)) / rate_hz, x).envelope_uv
    e = np.nan_to_num(env.mean(axis=1), nan=np.inf)
    skip = round(0.1 * rate_hz)
    if len(e) < skip + w:
        return cfg.baseline_s if len(e) >= w else (0.0, len(e) / rate_hz)
    c = np.concatenate([[0.0], np.cumsum(e[skip:])])
    m = (c[w:] - c[:-w]) / w
    i = int(np.argmin(m)) + skip
    return (i / rate_hz, (i + w) / rate_hz)


def process(
    t_s: np.ndarray,
    x_uv: np.ndarray,
    rate_hz: float,
    channel_names: Sequence[str],
    config: EMGConfig | None = None,
    mvc_uv: np.ndarray | Sequence[float] | None = None,
    baseline_window_s: tuple[float, float] | str | None = None,
) -> EMGResult:
    """Batch EMG processing: the causal streaming pipeline run once over the whole signal.

    Parameters
    ----------
    t_s : (samples,) float64, seconds
    x_uv : (samples, channels) microvolts
    rate_hz : float
    channel_names : sequence of str
    config : EMGConfig, optional
    mvc_uv : (channels,) MVC reference (uV) or None
    baseline_window_s : (start, end) seconds from the first sample, "quietest", or None
        Rest window for the onset threshold; None uses ``config.baseline_s`` (what a live stream
        does); "quietest" picks the quietest 0.5 s (:func:`quietest_window`, offline only).

    Returns
    -------
    EMGResult
    """
    cfg = config or EMGConfig()
    if isinstance(baseline_window_s, str):
        if baseline_window_s != "quietest":
            raise MovekitError(f"baseline must be 'start', 'quietest' or START,END seconds; got {baseline_window_s!r}")
        baseline_window_s = quietest_window(x_uv, rate_hz, 0.5, cfg)
    if baseline_window_s is not None:
        b0, b1 = float(baseline_window_s[0]), float(baseline_window_s[1])
        if not b1 > b0:
            raise MovekitError(f"baseline window {b0:g}-{b1:g} s is empty")
        cfg = replace(cfg, baseline_s=(b0, b1))
    stream = EMGStream(rate_hz, channel_names, cfg, mvc_uv=mvc_uv)
    out = stream.process(t_s, x_uv)
    if stream.threshold is None:  # signal shorter than the baseline window: use what there is
        x = np.asarray(x_uv, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if len(x) >= 2:
            b0 = min(round(cfg.baseline_s[0] * rate_hz), len(x) - 2)
            cfg2 = replace(cfg, baseline_s=(b0 / rate_hz, len(x) / rate_hz))
            stream = EMGStream(rate_hz, channel_names, cfg2, mvc_uv=mvc_uv)
            out = stream.process(t_s, x_uv)
    return out


def mvc_reference(
    x_uv: np.ndarray, rate_hz: float, config: EMGConfig | None = None, window_s: float = 0.5
) -> np.ndarray:
    """MVC reference amplitude per channel (microvolts) from an MVC trial.

    The highest mean of the envelope (same config as the task) over any ``window_s`` window, i.e.
    the peak of a 500 ms average (a common normalisation; Burden 2010, J Electromyogr Kinesiol
    20:1023, reviews the choices). NaN samples are ignored.
    """
    x = np.asarray(x_uv, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if len(x) == 0:
        raise MovekitError("the MVC trial has no samples")
    cfg = config or EMGConfig()
    s = EMGStream(rate_hz, [f"c{i}" for i in range(x.shape[1])], cfg)
    env = s.process(np.arange(len(x)) / rate_hz, x).envelope_uv
    skip = min(round(0.1 * rate_hz), max(len(env) - 1, 0))  # filter settling
    env = env[skip:]
    w = max(1, min(round(window_s * rate_hz), len(env)))
    valid = np.isfinite(env)
    e0 = np.where(valid, env, 0.0)
    c = np.concatenate([np.zeros((1, env.shape[1])), np.cumsum(e0, axis=0)])
    cn = np.concatenate([np.zeros((1, env.shape[1])), np.cumsum(valid, axis=0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        m = (c[w:] - c[:-w]) / (cn[w:] - cn[:-w])
    ref = (
        np.nanmax(np.where(np.isfinite(m), m, np.nan), axis=0)
        if np.isfinite(m).any()
        else np.full(env.shape[1], np.nan)
    )
    if np.any(~(ref > 0)):
        raise MovekitError("the MVC trial has no usable EMG (zero or NaN amplitude)")
    return ref


# -------------------------------------------------------------------------------- derived measures
def onset_offset_pairs(result: EMGResult, channel: str) -> np.ndarray:
    """``(bursts, 2)`` onset and offset times (s); an unfinished last burst has offset NaN."""
    pairs: list[list[float]] = []
    for e in result.events:
        if e.channel != channel:
            continue
        if e.kind == "onset":
            pairs.append([e.t_s, np.nan])
        elif pairs:
            pairs[-1][1] = e.t_s
    return np.array(pairs, dtype=float).reshape(-1, 2)


def vmo_vl_ratio(vmo: np.ndarray, vl: np.ndarray, min_vl: float = 1e-6) -> np.ndarray:
    """VMO:VL amplitude ratio sample by sample from MVC-normalised amplitudes (%MVC).

    Ratios of raw microvolts are meaningless across electrode sites; compare %MVC (Cowan 2001,
    Arch Phys Med Rehabil 82:183). 1 = equal relative activation. NaN where VL < ``min_vl`` %MVC.
    """
    vmo = np.asarray(vmo, dtype=float)
    vl = np.asarray(vl, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(vl >= min_vl, vmo / vl, np.nan)


def onset_difference_s(vmo_onsets_s: np.ndarray, vl_onsets_s: np.ndarray, max_lag_s: float = 0.2) -> np.ndarray:
    """VMO onset minus VL onset (s) for each VL onset with a VMO onset within ``max_lag_s``.

    Positive = VMO fires after VL, the pattern Cowan 2001 reported in patellofemoral pain on stair
    stepping (contested in later reviews). VL onsets without a match give NaN.
    """
    vmo = np.sort(np.asarray(vmo_onsets_s, dtype=float).reshape(-1))
    vl = np.asarray(vl_onsets_s, dtype=float).reshape(-1)
    out = np.full(vl.shape, np.nan)
    if len(vmo) == 0:
        return out
    for i, t in enumerate(vl):
        j = np.searchsorted(vmo, t)
        cands = [vmo[k] for k in (j - 1, j) if 0 <= k < len(vmo)]
        best = min(cands, key=lambda v: abs(v - t))
        if abs(best - t) <= max_lag_s:
            out[i] = best - t
    return out


def median_frequency(
    x_uv: np.ndarray,
    rate_hz: float,
    window_s: float = 1.0,
    step_s: float = 0.5,
    active: np.ndarray | None = None,
    min_active_fraction: float = 0.8,
    band_hz: tuple[float, float] = (20.0, 450.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Median frequency (Hz) of the power spectrum in sliding windows, per channel.

    The frequency that splits the spectrum's power in two halves over ``band_hz``; it falls with
    muscle fatigue as conduction velocity slows (De Luca 1984, Crit Rev Biomed Eng 11:251;
    Merletti 1990). Spectra are Welch periodograms (Hann, 256-sample segments at 1 kHz scaled to
    the rate) of the raw window after mean removal.

    Parameters
    ----------
    x_uv : (samples, channels) or (samples,)
    active : (samples, channels) bool or None
        Windows where fewer than ``min_active_fraction`` samples are active get NaN (rest windows'
        spectra are noise). None = all windows.

    Returns
    -------
    t_s : (windows,) window centres (s from the first sample)
    mdf_hz : (windows, channels)
    """
    x = np.asarray(x_uv, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    w = round(window_s * rate_hz)
    step = max(1, round(step_s * rate_hz))
    if w < 8 or len(x) < w:
        return np.zeros(0), np.zeros((0, x.shape[1]))
    starts = np.arange(0, len(x) - w + 1, step)
    seg = _sliding(x, w, starts)  # (windows, w, channels)
    seg = seg - np.nanmean(seg, axis=1, keepdims=True)
    nper = min(w, max(16, round(256 * rate_hz / 1000)))
    f, p = _sig.welch(np.nan_to_num(seg), fs=rate_hz, nperseg=nper, axis=1)
    lo, hi = band_hz[0], min(band_hz[1], 0.5 * rate_hz)
    sel = (f >= lo) & (f <= hi)
    f, p = f[sel], p[:, sel, :]
    cp = np.cumsum(p, axis=1)
    half = cp[:, -1:, :] / 2.0
    idx = np.argmax(cp >= half, axis=1)  # (windows, channels)
    mdf = f[idx]
    total = cp[:, -1, :]
    mdf = np.where(total > 0, mdf, np.nan)
    if np.isnan(seg).any():
        mdf = np.where(np.isnan(seg).mean(axis=1) > 0.1, np.nan, mdf)
    if active is not None:
        a = np.asarray(active, dtype=bool)
        if a.ndim == 1:
            a = a[:, None]
        frac = _sliding(a.astype(float), w, starts).mean(axis=1)
        mdf = np.where(frac >= min_active_fraction, mdf, np.nan)
    return (starts + w / 2) / rate_hz, mdf


def _sliding(x: np.ndarray, w: int, starts: np.ndarray) -> np.ndarray:
    view = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)  # (n-w+1, channels, w)
    return np.moveaxis(view[starts], 2, 1)


def activity_mask(result: EMGResult) -> np.ndarray:
    """(samples, channels) bool: True between each onset and its offset."""
    n = len(result.t_s)
    mask = np.zeros((n, len(result.channel_names)), dtype=bool)
    for c, name in enumerate(result.channel_names):
        on = None
        for e in result.events:
            if e.channel != name:
                continue
            if e.kind == "onset":
                on = e.index
            elif on is not None:
                mask[on : e.index, c] = True
                on = None
        if on is not None:
            mask[on:, c] = True
    return mask


@dataclass(frozen=True)
class FatigueTrend:
    """Least-squares line through median frequency over time, per channel.

    ``slope_hz_per_s`` (negative = fatiguing), ``intercept_hz`` at t = 0, ``pct_per_min`` = slope x
    60 / intercept x 100, ``r`` the correlation, ``n`` the windows used.
    """

    slope_hz_per_s: np.ndarray
    intercept_hz: np.ndarray
    pct_per_min: np.ndarray
    r: np.ndarray
    n: np.ndarray


MIN_FATIGUE_SPAN_S = 20.0  #: shortest stretch of activity a median-frequency trend is reported from (s)
MIN_FATIGUE_WINDOWS = 10  #: fewest analysis windows a median-frequency trend is reported from


def fatigue_trend(
    t_s: np.ndarray,
    mdf_hz: np.ndarray,
    *,
    min_span_s: float = MIN_FATIGUE_SPAN_S,
    min_windows: int = MIN_FATIGUE_WINDOWS,
) -> FatigueTrend:
    """Median-frequency fatigue trend: linear regression of MDF (Hz) on time (s), ignoring NaN.

    The trend is withheld (NaN) for a channel whose active windows span less than
    ``min_span_s`` or number fewer than ``min_windows``: spectral fatigue indices are
    defined over sustained or repeated contractions lasting tens of seconds (De Luca 1984;
    Merletti & Parker 2004 use 20-60 s contractions), and over a few seconds of a dynamic
    movement a median-frequency slope reflects the movement, not fatigue (a real 8 s
    jump gave -786 %/min). The 20 s / 10 windows bound is conservative, not a published cut-off.
    """
    t = np.asarray(t_s, dtype=float).reshape(-1)
    m = np.asarray(mdf_hz, dtype=float)
    if m.ndim == 1:
        m = m[:, None]
    k = m.shape[1]
    out = {name: np.full(k, np.nan) for name in ("slope", "icpt", "pct", "r")}
    ns = np.zeros(k, dtype=int)
    for c in range(k):
        ok = np.isfinite(m[:, c]) & np.isfinite(t)
        ns[c] = int(ok.sum())
        if ns[c] < max(3, min_windows) or np.ptp(t[ok]) < max(min_span_s, 1e-9):
            continue
        slope, icpt = np.polyfit(t[ok], m[ok, c], 1)
        out["slope"][c], out["icpt"][c] = slope, icpt
        out["pct"][c] = slope * 60.0 / icpt * 100.0 if icpt else np.nan
        out["r"][c] = np.corrcoef(t[ok], m[ok, c])[0, 1]
    return FatigueTrend(out["slope"], out["icpt"], out["pct"], out["r"], ns)
