"""Map device samples to the session clock (device-agnostic).

BLE notifications carry no timestamp (or only the device's own counter); they arrive late by a
latency that is never negative, jitters, and comes in bursts (connection events, OS scheduling).
So each sample's *index* (the device counter, unwrapped, or a running count at the nominal rate) is
mapped to the session clock by a line through the *lower envelope* of the arrival times:

    arrival(i) >= t0 + i * T + min_latency        (every notification, i = its last sample)

* Arrivals are grouped in blocks (``block_s``, by index); each block keeps its earliest arrival
  relative to the nominal period (the least-delayed notification).
* A line ``t0 + i * T`` is fitted to the block minima by least squares with outlier rejection
  (residuals beyond ``max(4 * 1.4826 * MAD, 1 ms)`` dropped, twice), over a sliding window
  (``window_s``), so clock drift is tracked (``drift_ppm`` = ``(T / T_nominal - 1) * 1e6``).
  Late outliers (a stalled stack, a burst) never pull the fit: they are above the envelope anyway.
* A sample's session time is ``t0 + i * T - latency_s`` where ``latency_s`` is the profile's known
  fixed delay (0 by default: then times are late by the link's *minimum* delay, typically one
  connection interval, 7.5-30 ms on real links, ~0.1 ms against the mock).
* Causal: a notification is mapped with the fit known at its arrival. Times never go backwards and
  never exceed the arrival time.

The stored quality figures (:meth:`ClockSync.summary`): ``residual_s`` (RMS of the envelope fit,
the mapping's own noise), ``jitter_p95_s`` (95th percentile of arrival minus mapped time: how late
samples come), ``drift_ppm``, ``outliers``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class _Fit:
    t0: float
    period: float
    residual: float
    n_used: int
    boot: bool = False  #: too little data for a line yet: nominal period, earliest arrival


class ClockSync:
    def __init__(self, nominal_rate_hz: float, latency_s: float = 0.0, window_s: float = 30.0,
                 block_s: float = 0.5, max_drift_ppm: float = 5000.0) -> None:
        if nominal_rate_hz <= 0:
            raise ValueError("nominal_rate_hz must be > 0")
        self.rate = float(nominal_rate_hz)
        self.period_nom = 1.0 / self.rate
        self.latency_s = float(latency_s)
        self.window_s = float(window_s)
        self.block_n = max(1, int(round(block_s * self.rate)))
        self.max_drift = max_drift_ppm * 1e-6
        self.segments = 0
        self._last_t = -np.inf
        self.measured_rate_hz: float | None = None  #: unclipped fit (rate from arrivals alone)
        self.reset()

    def reset(self) -> None:
        """Start a new segment: after a reconnect the device counter may restart."""
        self._blocks: dict[int, tuple[int, float]] = {}  # block -> (index, arrival) of min lateness
        self._fit: _Fit | None = None
        self._dirty = False
        self._last_index: int | None = None
        self._lateness: list[float] = []
        self.outliers = 0
        self.segments += 1

    # ------------------------------------------------------------------------------------------
    def _refit(self) -> None:
        items = sorted(self._blocks.values())
        if not items:
            return
        newest = items[-1][0]
        keep_from = newest - int(self.window_s * self.rate)
        items = [it for it in items if it[0] >= keep_from]
        self._blocks = {k: v for k, v in self._blocks.items() if v[0] >= keep_from}
        i = np.array([it[0] for it in items], dtype=np.float64)
        a = np.array([it[1] for it in items], dtype=np.float64)
        if len(items) < 3 or (i[-1] - i[0]) * self.period_nom < 1.0:
            t0 = float(np.min(a - i * self.period_nom))
            self._fit = _Fit(t0, self.period_nom, 0.0, len(items), boot=True)
            return
        ic = i - i[-1]  # centre on the newest for conditioning
        # robust start: Theil-Sen slope (median of pairwise slopes), median intercept
        di = ic[None, :] - ic[:, None]
        da = a[None, :] - a[:, None]
        upper = di > 0
        slope = float(np.median(da[upper] / di[upper]))
        icpt = float(np.median(a - slope * ic))
        res = a - (icpt + slope * ic)
        mad = float(np.median(np.abs(res - np.median(res))))
        use = np.abs(res) <= max(4 * 1.4826 * mad, 1e-3)
        if use.sum() < 3:
            use = np.ones(len(i), dtype=bool)
        slope, icpt = np.polyfit(ic[use], a[use], 1)
        self.measured_rate_hz = 1.0 / slope if slope > 0 else None
        slope = float(np.clip(slope, self.period_nom * (1 - self.max_drift), self.period_nom * (1 + self.max_drift)))
        # lower envelope: shift so no used block minimum lies below the line
        res = a[use] - (icpt + slope * ic[use])
        icpt = icpt + float(min(0.0, res.min()))
        res = a[use] - (icpt + slope * ic[use])
        self.outliers = int((~use).sum())
        t0 = icpt - slope * i[-1]
        self._fit = _Fit(float(t0), slope, float(np.sqrt(np.mean((res - res.mean()) ** 2))), int(use.sum()))

    def map(self, index: np.ndarray, arrival_s: float) -> np.ndarray:
        """Session times (float64) of the samples ``index`` of one notification that arrived at ``arrival_s``."""
        index = np.asarray(index, dtype=np.int64)
        if index.size == 0:
            return np.zeros(0, dtype=np.float64)
        last = int(index.max())
        if self._last_index is not None:
            elapsed = arrival_s - self._last_arrival
            jump = last - self._last_index
            if jump < -2 or jump > (elapsed * 1.5 + 2.0) * self.rate + 2 * self.block_n:
                self.reset()  # the device counter restarted (or jumped): new segment
        self._last_index = last if self._last_index is None else max(self._last_index, last)
        self._last_arrival = float(arrival_s)
        b = last // self.block_n
        lateness_nom = arrival_s - last * self.period_nom
        cur = self._blocks.get(b)
        if cur is None or lateness_nom < cur[1] - cur[0] * self.period_nom:
            self._blocks[b] = (last, float(arrival_s))
            # refit when a block completes (a new one starts), or at every improvement while the
            # fit is still bootstrapping (under 3 blocks / 1 s): keeps the cost per notification low
            if cur is None or self._fit is None or self._fit.boot:
                self._dirty = True
        if self._fit is None or self._dirty:
            self._refit()
            self._dirty = False
        f = self._fit
        t = f.t0 + index.astype(np.float64) * f.period - self.latency_s
        # never after arrival, never backwards
        over = float(t.max()) - (arrival_s - self.latency_s)
        if over > 0:
            t = t - over
        if t[0] <= self._last_t:
            t = t + (self._last_t - t[0]) + 1e-9
        self._last_t = float(t[-1])
        late = arrival_s - (f.t0 + last * f.period)
        if len(self._lateness) < 100000:
            self._lateness.append(late)
        return t

    # ------------------------------------------------------------------------------------------
    @property
    def rate_mismatch(self) -> bool:
        """True when arrivals say the device runs more than 2 % off its nominal rate (wrong profile
        rate, or a rate saved on the device): the mapping is then clamped and must not be trusted."""
        return self.measured_rate_hz is not None and abs(self.measured_rate_hz / self.rate - 1.0) > 0.02

    @property
    def drift_ppm(self) -> float:
        return 0.0 if self._fit is None else (self._fit.period / self.period_nom - 1.0) * 1e6

    @property
    def residual_s(self) -> float:
        return 0.0 if self._fit is None else self._fit.residual

    def summary(self) -> dict:
        late = np.asarray(self._lateness) if self._lateness else np.zeros(1)
        return {
            "nominal_rate_hz": self.rate,
            "fitted_rate_hz": None if self._fit is None else 1.0 / self._fit.period,
            "drift_ppm": round(self.drift_ppm, 2),
            "residual_s": self.residual_s,
            "jitter_p50_s": float(np.percentile(late, 50)),
            "jitter_p95_s": float(np.percentile(late, 95)),
            "outliers": self.outliers,
            "latency_s": self.latency_s,
            "segments": self.segments,
        }
