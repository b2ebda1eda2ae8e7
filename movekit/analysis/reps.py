"""Repetition segmentation from any angle signal, with per-rep kinematics and tempo.

A repetition is a movement away from a rest level to a peak and back. Peaks are found with
``scipy.signal.find_peaks`` (prominence, minimum spacing); each rep starts where the signal last
left the rest band before the peak and ends where it first returns to it after the peak. The band is
``valley + rest_fraction * (peak - valley)`` on each side; ``rest_fraction`` 0.1 follows common
practice of onset thresholds at 10 % of the excursion (as in motion-capture event detection).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import find_peaks

from movekit.analysis.filters import fill_gaps


@dataclass(frozen=True)
class Rep:
    """One repetition. Times in s on the signal's clock, angles in deg, velocity in deg/s."""

    number: int
    start_idx: int
    peak_idx: int
    end_idx: int
    start_s: float
    peak_s: float
    end_s: float
    peak_deg: float
    start_deg: float
    end_deg: float
    range_deg: float  #: peak minus the lower of the valleys before and after
    peak_velocity_deg_s: float  #: largest |d angle / dt| within the rep
    time_to_peak_s: float  #: start -> peak (the concentric or outward phase)
    return_s: float  #: peak -> end
    duration_s: float
    rest_before_s: float  #: since the previous rep's end (NaN for the first rep)

    def as_dict(self) -> dict:
        return asdict(self)


def _velocity(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    if t.size < 2:
        return np.full_like(x, np.nan)
    return np.gradient(x, t)


def segment_reps(t_s, signal, *, prominence_deg: float | None = None, min_duration_s: float = 0.4,
                 max_duration_s: float | None = None, min_rest_gap_s: float = 0.0,
                 rest_fraction: float = 0.1, direction: str = "up", max_gap_s: float = 0.3) -> list[Rep]:
    """Split an angle signal into repetitions.

    Parameters
    ----------
    t_s : array (frames,)
        Time stamps in s (monotonic).
    signal : array (frames,)
        Angle in deg (NaN allowed; gaps up to ``max_gap_s`` are bridged for detection only).
    prominence_deg : float, optional
        Minimum peak prominence; default ``max(10, 0.3 * (p95 - p5))`` of the signal.
    min_duration_s, max_duration_s : float
        Reps shorter or longer than this are dropped.
    min_rest_gap_s : float
        Peaks closer than this (s) are merged (the larger kept); the same as ``find_peaks`` distance.
    rest_fraction : float
        Rest band as a fraction of the excursion (0.1 = a rep starts once the angle has moved 10 %
        of the way to its peak).
    direction : "up" or "down"
        "up": reps are peaks (e.g. knee flexion in a squat); "down": reps are troughs.
    max_gap_s : float
        Longest NaN gap bridged.

    Returns
    -------
    list of Rep, in time order.
    """
    t = np.asarray(t_s, dtype=np.float64)
    raw = np.asarray(signal, dtype=np.float64)
    if t.shape != raw.shape or t.ndim != 1:
        raise ValueError("t_s and signal must be 1-D arrays of the same length")
    if raw.size < 3 or np.isfinite(raw).sum() < 3:
        return []
    sgn = 1.0 if direction == "up" else -1.0
    if direction not in ("up", "down"):
        raise ValueError("direction must be 'up' or 'down'")
    dt = float(np.median(np.diff(t)))
    x = sgn * fill_gaps(raw, int(round(max_gap_s / dt)) if dt > 0 else 0)
    finite = np.isfinite(x)
    if prominence_deg is None:
        p5, p95 = np.nanpercentile(x, [5, 95])
        prominence_deg = max(10.0, 0.3 * (p95 - p5))
    xf = np.where(finite, x, np.nanmin(x))  # gaps act as valleys: a rep cannot span a long gap
    distance = max(1, int(round(min_rest_gap_s / dt))) if dt > 0 else 1
    peaks, _ = find_peaks(xf, prominence=prominence_deg, distance=distance)
    vel = np.abs(_velocity(t, x))
    reps: list[Rep] = []
    bounds = np.concatenate(([0], peaks, [x.size - 1]))
    prev_end = None
    for k, pk in enumerate(peaks):
        lo_a, hi_b = bounds[k], bounds[k + 2]
        left = slice(lo_a, pk + 1)
        right = slice(pk, hi_b + 1)
        a_valley = lo_a + int(np.nanargmin(np.where(finite[left], xf[left], np.inf)))
        b_valley = pk + int(np.nanargmin(np.where(finite[right], xf[right], np.inf)))
        thr_a = x[a_valley] + rest_fraction * (x[pk] - x[a_valley])
        thr_b = x[b_valley] + rest_fraction * (x[pk] - x[b_valley])
        seg_a = np.flatnonzero(~(x[a_valley:pk + 1] > thr_a))
        start = a_valley + int(seg_a[-1]) if seg_a.size else a_valley
        seg_b = np.flatnonzero(~(x[pk:b_valley + 1] > thr_b))
        end = pk + int(seg_b[0]) if seg_b.size else b_valley
        dur = t[end] - t[start]
        if dur < min_duration_s or (max_duration_s is not None and dur > max_duration_s):
            continue
        if not np.all(finite[start:end + 1]):
            continue
        r = raw[a_valley:b_valley + 1]  # excursion from the rest valleys either side
        reps.append(Rep(
            number=len(reps) + 1, start_idx=int(start), peak_idx=int(pk), end_idx=int(end),
            start_s=float(t[start]), peak_s=float(t[pk]), end_s=float(t[end]),
            peak_deg=float(raw[pk]), start_deg=float(raw[start]), end_deg=float(raw[end]),
            range_deg=float(np.nanmax(r) - np.nanmin(r)),
            peak_velocity_deg_s=float(np.nanmax(vel[start:end + 1])),
            time_to_peak_s=float(t[pk] - t[start]), return_s=float(t[end] - t[pk]),
            duration_s=float(dur),
            rest_before_s=float(t[start] - t[prev_end]) if prev_end is not None else float("nan"),
        ))
        prev_end = end
    return reps


def rest_periods(t_s, signal, *, max_speed_deg_s: float = 10.0, min_duration_s: float = 1.0
                 ) -> list[tuple[float, float]]:
    """Intervals ``(start_s, end_s)`` where the angle moves slower than ``max_speed_deg_s`` for at
    least ``min_duration_s`` (rest between reps or sets)."""
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(signal, dtype=np.float64)
    if x.size < 2:
        return []
    still = np.abs(_velocity(t, x)) < max_speed_deg_s
    d = np.diff(np.concatenate(([0], still.astype(np.int8), [0])))
    out = []
    for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1):
        if t[e] - t[s] >= min_duration_s:
            out.append((float(t[s]), float(t[e])))
    return out


def tempo(reps: list[Rep]) -> dict[str, float]:
    """Session tempo: mean outward time, return time, rep duration, rest (s) and reps per minute."""
    if not reps:
        return {"reps": 0}
    rests = [r.rest_before_s for r in reps if np.isfinite(r.rest_before_s)]
    span = reps[-1].end_s - reps[0].start_s
    return {
        "reps": len(reps),
        "mean_time_to_peak_s": float(np.mean([r.time_to_peak_s for r in reps])),
        "mean_return_s": float(np.mean([r.return_s for r in reps])),
        "mean_duration_s": float(np.mean([r.duration_s for r in reps])),
        "mean_rest_s": float(np.mean(rests)) if rests else float("nan"),
        "reps_per_min": float(60.0 * len(reps) / span) if span > 0 else float("nan"),
    }
