"""Repetition segmentation from any angle signal, with per-rep kinematics and tempo.

A repetition is a movement away from a rest level to a peak and back. Peaks are found with
``scipy.signal.find_peaks`` (prominence, minimum spacing); maxima not separated by a real dip (a
hold at the top) are one rep; each rep starts where the signal last left the rest band before the
peak and ends where it first returns to it after the peak. The band is
``valley + rest_fraction * (peak - valley)`` on each side; ``rest_fraction`` 0.1 follows common
practice of onset thresholds at 10 % of the excursion (as in motion-capture event detection).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import find_peaks

from movekit.analysis.filters import fill_gaps, true_runs


@dataclass(frozen=True)
class Rep:
    """One repetition. Times in s on the signal's clock, angles in deg (in the signal's own sign,
    also for ``direction="down"``), velocity in deg/s.

    Indices are frames of the signal. The rep runs ``valley_before -> start -> peak -> end ->
    valley_after``: the valleys are the rest levels either side (the lowest sample between this
    rep's peak and the neighbouring reps' peaks, or the recording's ends, within the stretch of
    data the rep lies in); start and end are where the signal leaves and re-enters the rest band
    (``rest_fraction`` of the excursion above each valley). For ``direction="down"`` "peak" is
    the trough and the valleys are the highest samples either side.
    """

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
    #: excursion (deg, >= 0): ``|peak_deg - v|`` with ``v`` the valley (rest level) before or
    #: after the peak that lies further from the peak, i.e. the largest change of the angle
    #: within the rep measured from rest, not from the 10 % start and end points
    range_deg: float
    peak_velocity_deg_s: float  #: largest |d angle / dt| between start and end
    time_to_peak_s: float  #: start -> peak (the concentric or outward phase, up to the first frame at the top)
    return_s: float  #: peak -> end (includes any hold at the top)
    duration_s: float
    rest_before_s: float  #: since the previous rep's end (NaN for the first rep)
    valley_before_idx: int = -1  #: rest before the rep: frame of the lowest sample (the highest for "down")
    valley_before_deg: float = float("nan")
    valley_after_idx: int = -1  #: rest after the rep
    valley_after_deg: float = float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


def _velocity(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    if t.size < 2:
        return np.full_like(x, np.nan)
    return np.gradient(x, t)


def _merge_plateaus(x: np.ndarray, peaks: np.ndarray, prominence: float) -> list[int]:
    """One peak per rep: neighbouring peaks whose dip between them is shallower than
    ``prominence`` (measured from the lower of the two) are one rep (a hold at the top with two
    equal or near-equal maxima; ``find_peaks`` gives equal twin peaks each the full prominence).
    The kept peak is the highest, the first one on a tie."""
    out: list[int] = []
    for pk in peaks:
        if out:
            last = out[-1]
            dip = float(np.min(x[last : pk + 1]))
            if min(x[last], x[pk]) - dip < prominence:
                if x[pk] > x[last]:
                    out[-1] = int(pk)
                continue
        out.append(int(pk))
    return out


def segment_reps(
    t_s,
    signal,
    *,
    prominence_deg: float | None = None,
    min_duration_s: float = 0.4,
    max_duration_s: float | None = None,
    min_rest_gap_s: float = 0.0,
    rest_fraction: float = 0.1,
    direction: str = "up",
    max_gap_s: float = 0.3,
) -> list[Rep]:
    """Split an angle signal into repetitions.

    A rep is a move away from rest by at least ``prominence_deg`` and back by at least
    ``prominence_deg``, both seen: a rep whose way out or back falls in a gap of the data longer
    than ``max_gap_s`` (person lost, wrong view) or runs off either end of the recording is not
    returned. Holds at the top (flat or with twin maxima) stay one rep.

    Parameters
    ----------
    t_s : array (frames,)
        Time stamps in s (monotonic).
    signal : array (frames,)
        Angle in deg (NaN allowed; gaps up to ``max_gap_s`` are bridged linearly).
    prominence_deg : float, optional
        Minimum excursion (deg) out from and back to rest, and the minimum dip (deg) between two
        maxima for them to be two reps; default ``max(10, 0.3 * (p95 - p5))`` of the signal.
    min_duration_s, max_duration_s : float
        Reps (start to end) shorter or longer than this (s) are dropped.
    min_rest_gap_s : float
        Peaks closer than this (s) are one rep (``find_peaks`` distance); 0 = no limit, holds
        are merged by the dip rule above anyway.
    rest_fraction : float
        Rest band as a fraction of the excursion (0.1 = a rep starts once the angle has moved 10 %
        of the way to its peak; common practice for onset thresholds in motion-capture event
        detection).
    direction : "up" or "down"
        "up": reps are peaks (e.g. knee flexion in a squat); "down": reps are troughs.
    max_gap_s : float
        Longest NaN gap bridged (s).

    Returns
    -------
    list of Rep, in time order.
    """
    t = np.asarray(t_s, dtype=np.float64)
    raw = np.asarray(signal, dtype=np.float64)
    if t.shape != raw.shape or t.ndim != 1:
        raise ValueError("t_s and signal must be 1-D arrays of the same length")
    if direction not in ("up", "down"):
        raise ValueError("direction must be 'up' or 'down'")
    if raw.size < 3 or np.isfinite(raw).sum() < 3:
        return []
    sgn = 1.0 if direction == "up" else -1.0
    dt = float(np.median(np.diff(t)))
    filled = fill_gaps(raw, int(round(max_gap_s / dt)) if dt > 0 else 0)
    x = sgn * filled
    finite = np.isfinite(x)
    if prominence_deg is None:
        p5, p95 = np.nanpercentile(x, [5, 95])
        prominence_deg = max(10.0, 0.3 * (p95 - p5))
    xf = np.where(finite, x, np.nanmin(x))  # gaps act as valleys: a rep cannot span a long gap
    distance = max(1, int(round(min_rest_gap_s / dt))) if dt > 0 else 1
    found, _ = find_peaks(xf, prominence=prominence_deg, distance=distance)
    peaks = _merge_plateaus(xf, found[finite[found]], prominence_deg)
    # stretch of finite data each frame belongs to: a rep lives inside one stretch
    run_id = np.cumsum(np.concatenate(([1], np.diff(finite.astype(np.int8)) != 0)))
    vel = np.abs(_velocity(t, x))
    reps: list[Rep] = []
    for k in range(len(peaks)):
        bounds = _rep_bounds(x, peaks, k, run_id, prominence_deg, rest_fraction)
        if bounds is None:
            continue  # the way out or back is not seen (gap, edge of the recording)
        dur = t[bounds[2]] - t[bounds[1]]
        if dur < min_duration_s or (max_duration_s is not None and dur > max_duration_s):
            continue
        prev_end = reps[-1].end_idx if reps else None
        reps.append(_make_rep(len(reps) + 1, t, x, filled, vel, peaks[k], bounds, prev_end))
    return reps


def _rep_bounds(x, peaks, k: int, run_id, prominence_deg: float, rest_fraction: float):
    """``(valley_before, start, end, valley_after)`` frame indices of the rep at ``peaks[k]``.

    ``None`` when the way out or back is less than ``prominence_deg`` (deg) within the rep's
    stretch of finite data. Start and end are where the signal crosses ``rest_fraction`` of the
    excursion from each valley.
    """
    pk, n = peaks[k], x.size
    in_run = np.flatnonzero(run_id == run_id[pk])
    lo = max(peaks[k - 1] if k else 0, int(in_run[0]))
    hi = min(peaks[k + 1] if k + 1 < len(peaks) else n - 1, int(in_run[-1]))
    a_valley = lo + int(np.argmin(x[lo : pk + 1]))
    b_valley = pk + int(np.argmin(x[pk : hi + 1]))
    if x[pk] - x[a_valley] < prominence_deg or x[pk] - x[b_valley] < prominence_deg:
        return None
    thr_a = x[a_valley] + rest_fraction * (x[pk] - x[a_valley])
    thr_b = x[b_valley] + rest_fraction * (x[pk] - x[b_valley])
    start = a_valley + int(np.flatnonzero(x[a_valley : pk + 1] <= thr_a)[-1])
    end = pk + int(np.flatnonzero(x[pk : b_valley + 1] <= thr_b)[0])
    return a_valley, start, end, b_valley


def _make_rep(number: int, t, x, filled, vel, pk: int, bounds, prev_end: int | None) -> Rep:
    """The :class:`Rep` from its frame indices (``x``: signed signal, ``filled``: in the signal's own sign)."""
    a_valley, start, end, b_valley = bounds
    return Rep(
        number=number,
        start_idx=int(start),
        peak_idx=int(pk),
        end_idx=int(end),
        start_s=float(t[start]),
        peak_s=float(t[pk]),
        end_s=float(t[end]),
        peak_deg=float(filled[pk]),
        start_deg=float(filled[start]),
        end_deg=float(filled[end]),
        range_deg=float(x[pk] - min(x[a_valley], x[b_valley])),
        peak_velocity_deg_s=float(np.nanmax(vel[start : end + 1])),
        time_to_peak_s=float(t[pk] - t[start]),
        return_s=float(t[end] - t[pk]),
        duration_s=float(t[end] - t[start]),
        rest_before_s=float(t[start] - t[prev_end]) if prev_end is not None else float("nan"),
        valley_before_idx=int(a_valley),
        valley_before_deg=float(filled[a_valley]),
        valley_after_idx=int(b_valley),
        valley_after_deg=float(filled[b_valley]),
    )


def rest_periods(
    t_s, signal, *, max_speed_deg_s: float = 10.0, min_duration_s: float = 1.0
) -> list[tuple[float, float]]:
    """Intervals ``(start_s, end_s)`` where the angle moves slower than ``max_speed_deg_s`` for at
    least ``min_duration_s`` (rest between reps or sets)."""
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(signal, dtype=np.float64)
    if x.size < 2:
        return []
    still = np.abs(_velocity(t, x)) < max_speed_deg_s
    return [(float(t[s]), float(t[e - 1])) for s, e in true_runs(still) if t[e - 1] - t[s] >= min_duration_s]


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
