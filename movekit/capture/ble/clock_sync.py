"""Map device samples to the session clock (device-agnostic).

BLE notifications carry no timestamp (or only the device's own counter); they arrive late by a
latency that is never negative, jitters, and comes in bursts (connection events, OS scheduling).
So each sample's *index* (the device counter, unwrapped, or a running count at the nominal rate) is
mapped to the session clock by a line through the *lower envelope* of the arrival times:

    arrival(i) >= t0 + i * T + min_latency        (every notification, i = its last sample)

* Arrivals are grouped in blocks (``block_s``, by index); each block keeps its earliest arrival
  relative to the nominal period (the least-delayed notification).
* The line ``t0 + i * T`` is the lower envelope of the block minima: the line below all of them
  that lies closest to them on average (an edge of their lower convex hull), ``T`` within
  ``max_drift_ppm`` of nominal, over a sliding window (``window_s``), so clock drift is tracked
  (``drift_ppm`` = ``(T / T_nominal - 1) * 1e6``). Late blocks (a stalled or starved receiving
  thread, bursts) never pull it, however many: they are above the envelope.
* A sample's session time is ``t0 + i * T - latency_s`` where ``latency_s`` is the profile's known
  fixed delay (0 by default: then times are late by the link's *minimum* delay, typically one
  connection interval, 7.5-30 ms on real links, ~0.1 ms against the mock).
* Causal: a notification is mapped with the fit known at its arrival. Times never go backwards and
  never exceed the arrival time.

Devices without a sample counter (``counted=True``: the index is a running count of the records
that decoded) lose indices when a record is lost or malformed. So the count is corrected from the
arrival time and the fitted period: a notification that arrives ``k`` periods later than its count
predicts (above the usual lateness) moves the index on by ``k`` -- at once up to the bad records the
decoder reported just before (``lost``), beyond that only when the same step persists for
``persist_s`` (late deliveries from a stalled or starved receiving thread, which come in bursts or
grow, are not a loss). A dropped or bad record thus never shifts later timestamps.

The rate check (:attr:`ClockSync.rate_mismatch`) uses the records that arrived (good and bad) against
arrival time, by a robust line through the per-block earliest arrivals, and only once the stream has
settled (from ``settle_s`` after the segment started, over at least ``rate_window_min_s``, with
0.1 s blocks, over the last ``rate_window_s``): a receiving thread stalled or starved at start-up (a
pose model loading in the same process) never gives a false warning.

The stored quality figures (:meth:`ClockSync.summary`): ``residual_s`` (RMS of the envelope fit,
the mapping's own noise), ``jitter_p95_s`` (95th percentile of arrival minus mapped time: how late
samples come), ``drift_ppm``, ``outliers``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass
class _Fit:
    t0: float
    period: float
    residual: float
    n_used: int
    boot: bool = False  #: too little data for a line yet: nominal period, earliest arrival


def _lower_line(i: np.ndarray, a: np.ndarray, slope_lo: float, slope_hi: float) -> tuple[float, float]:
    """``(slope, intercept)`` of the line below every point ``(i, a)`` that lies closest to them on
    average (the lower convex hull's edge above the mean ``i``), slope clipped to ``[slope_lo, slope_hi]``.

    Late points (a stalled or starved receiver, bursts) lie above it and never pull it, however many.
    """
    hull: list[tuple[float, float]] = []
    for p in zip(i.tolist(), a.tolist()):
        while (
            len(hull) >= 2
            and (
                (hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1]) - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0])
            )
            <= 0
        ):
            hull.pop()
        hull.append(p)
    m = float(np.mean(i))
    slope = 0.5 * (slope_lo + slope_hi)
    for (i0, a0), (i1, a1) in pairwise(hull):
        if i0 <= m <= i1:
            slope = (a1 - a0) / (i1 - i0)
            break
    slope = float(np.clip(slope, slope_lo, slope_hi))
    return slope, float(np.min(a - slope * i))


class ClockSync:
    def __init__(
        self,
        nominal_rate_hz: float,
        latency_s: float = 0.0,
        window_s: float = 30.0,
        block_s: float = 0.5,
        max_drift_ppm: float = 5000.0,
        counted: bool = False,
        persist_s: float = 1.0,
        settle_s: float = 3.0,
        rate_window_min_s: float = 2.0,
        rate_window_s: float = 10.0,
    ) -> None:
        if nominal_rate_hz <= 0:
            raise ValueError("nominal_rate_hz must be > 0")
        self.rate = float(nominal_rate_hz)
        self.period_nom = 1.0 / self.rate
        self.latency_s = float(latency_s)
        self.window_s = float(window_s)
        self.block_n = max(1, int(round(block_s * self.rate)))
        self.max_drift = max_drift_ppm * 1e-6
        self.counted = bool(counted)
        self.persist_s = float(persist_s)
        self.evidence_s = 0.3  #: how long reported bad records explain a late arrival
        self.settle_s = float(settle_s)
        self.rate_window_min_s = float(rate_window_min_s)
        self.rate_window_s = float(rate_window_s)
        self.rate_block_n = max(1, round(0.1 * self.rate))  # 0.1 s blocks for the rate check
        self.segments = 0
        self._last_t = -np.inf
        self.measured_rate_hz: float | None = None  #: records arriving per second, once settled
        self.lost_samples = 0  #: indices skipped by the arrival-time correction (counted streams), all segments
        self.reset()

    def reset(self) -> None:
        """Start a new segment: after a reconnect the device counter may restart."""
        self._blocks: dict[int, tuple[int, float]] = {}  # block -> (index, arrival) of min lateness
        self._fit: _Fit | None = None
        self._dirty = False
        self._last_index: int | None = None
        self._lateness: list[float] = []
        self._recent: deque[tuple[int, float]] = deque(maxlen=512)  # (last index, arrival): usual lateness
        self._ref: tuple[_Fit | None, int, float] = (None, 0, 0.0)  # (fit, calls since, lateness p10)
        self._offset = 0  # added to a running count: samples lost so far in this segment
        self._moved_at = 0  # first index after the latest forward correction
        self._pending: tuple[float, int] | None = None  # (since, step in periods) of an unexplained step
        self._evidence: tuple[float, int] | None = None  # (when, how many) bad records not yet placed
        self._raw_blocks: dict[int, tuple[int, float]] = {}  # the same, by records arrived (rate check)
        self._raw_extra = 0  # bad records so far: they arrived, so they count for the rate
        self._segment_start: float | None = None
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
        slope, icpt = _lower_line(ic, a, self.period_nom * (1 - self.max_drift), self.period_nom * (1 + self.max_drift))
        res = a - (icpt + slope * ic)  # >= 0; late blocks (stalls, bursts) are the outliers
        use = res <= max(4 * 1.4826 * float(np.median(np.abs(res - np.median(res)))), 1e-3) + float(np.median(res))
        self.outliers = int((~use).sum())
        t0 = icpt - slope * i[-1]
        self._fit = _Fit(float(t0), slope, float(np.sqrt(np.mean((res[use] - res[use].mean()) ** 2))), int(use.sum()))

    def _refit_rate(self) -> None:
        """Records arriving per second, from the per-block earliest arrivals after ``settle_s``."""
        start = self._segment_start
        items = sorted(v for v in self._raw_blocks.values() if v[1] >= start + self.settle_s)
        if len(items) < 4 or items[-1][1] - items[0][1] < self.rate_window_min_s:
            return
        i = np.array([it[0] for it in items], dtype=np.float64)
        a = np.array([it[1] for it in items], dtype=np.float64)
        slope, _ = _lower_line(i - i[-1], a, 0.5 * self.period_nom, 2.0 * self.period_nom)
        self.measured_rate_hz = 1.0 / slope

    def _track_rate(self, raw_last: int, arrival_s: float) -> None:
        b = raw_last // self.rate_block_n
        cur = self._raw_blocks.get(b)
        if cur is None or arrival_s - raw_last * self.period_nom < cur[1] - cur[0] * self.period_nom:
            self._raw_blocks[b] = (raw_last, float(arrival_s))
            if cur is None:  # a block completed: refit over the window
                keep_from = raw_last - int(self.rate_window_s * self.rate)
                self._raw_blocks = {k: v for k, v in self._raw_blocks.items() if v[0] >= keep_from}
                self._refit_rate()

    def _usual_lateness(self) -> float:
        """10th percentile of recent notifications' lateness above the current fit (recomputed when
        the fit changes, or every 64 calls)."""
        fit, calls, ref = self._ref
        if fit is not self._fit or calls >= 64:
            if self._recent:
                il, al = np.array(self._recent, dtype=np.float64).T
                ref = float(np.percentile(al - (self._fit.t0 + il * self._fit.period), 10))
            fit, calls = self._fit, 0
        self._ref = (fit, calls + 1, ref)
        return ref

    def _lost_before(self, last: int, arrival_s: float, lost: int) -> int:
        """Samples lost before this notification of a counted stream, from its arrival time.

        At once up to the bad records just reported (``lost``, remembered for ``evidence_s``);
        beyond them only a step that persists for ``persist_s``; back (down to no loss) at once when
        a notification comes earlier than the fit allows (an earlier correction overshot)."""
        f = self._fit
        excess = arrival_s - (f.t0 + last * f.period) - self._usual_lateness()
        k = int(np.floor(excess / f.period + 0.5))
        if lost:
            self._evidence = (arrival_s, lost + (self._evidence[1] if self._evidence else 0))
        elif self._evidence is not None and arrival_s - self._evidence[0] > self.evidence_s:
            self._evidence = None
        if k <= 0:
            self._pending = None
            return max(k, -self._offset)
        if self._evidence is not None:
            when, n = self._evidence
            n_now = min(k, n)
            self._evidence = (when, n - n_now) if n > n_now else None
            rest = k - n_now  # more than the bad records explain: wait until it persists
            keep = self._pending is not None and self._pending[1] == rest
            self._pending = None if rest <= 0 else (self._pending[0] if keep else arrival_s, rest)
            return n_now
        if self.rate_mismatch or f.boot:  # the rate is wrong, or not known yet: leave the count alone
            self._pending = None
            return 0
        if self._pending is None:  # an unexplained step: a loss only if it persists, unchanged
            self._pending = (arrival_s, k)
            return 0
        since, k_first = self._pending
        if k != k_first:  # growing or shrinking: a slow or stalled receiver, not a loss
            self._pending = (arrival_s, k)
            return 0
        if arrival_s - since < self.persist_s:
            return 0
        self._pending = None
        return k

    def map(self, index: np.ndarray, arrival_s: float, lost: int = 0) -> np.ndarray:
        """Session times (float64) of the samples ``index`` of one notification that arrived at ``arrival_s``.

        ``lost``: records the decoder rejected since the previous call (counted streams move the
        index on by the samples the arrival time says were lost).
        """
        index = np.asarray(index, dtype=np.int64)
        if index.size == 0:
            return np.zeros(0, dtype=np.float64)
        raw_last = int(index.max())
        index = index + self._offset
        last = int(index.max())
        if self._last_index is not None:
            elapsed = arrival_s - self._last_arrival
            jump = last - self._last_index
            if jump < -2 or jump > (elapsed * 1.5 + 2.0) * self.rate + 2 * self.block_n:
                self.reset()  # the device counter restarted (or jumped): new segment
                index, last = index - last + raw_last, raw_last
        if self._segment_start is None:
            self._segment_start = float(arrival_s)
        if self.counted:  # a counter already counts what was lost
            self._raw_extra += int(lost)
        self._track_rate(raw_last + self._raw_extra, arrival_s)
        if self.counted and self._fit is not None and self._last_index is not None:
            k = self._lost_before(last, arrival_s, lost)
            if k:
                self._offset += k
                self.lost_samples += k
                index, last = index + k, last + k
                if k < 0:  # the blocks noted since the overshoot had indices too high
                    self._blocks = {b: v for b, v in self._blocks.items() if v[0] < self._moved_at}
                    self._dirty = True
                else:
                    self._moved_at = int(index.min())
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
        self._recent.append((last, float(arrival_s)))
        if len(self._lateness) < 100000:
            self._lateness.append(late)
        return t

    # ------------------------------------------------------------------------------------------
    @property
    def rate_mismatch(self) -> bool:
        """True when arrivals say the device runs more than 2 % off its nominal rate (wrong profile
        rate, or a rate saved on the device): the mapping is then clamped and must not be trusted.
        Judged only once the stream has settled (see the module doc)."""
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
            "measured_rate_hz": self.measured_rate_hz,
            "lost_samples": self.lost_samples,
        }
