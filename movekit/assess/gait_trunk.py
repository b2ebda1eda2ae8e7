"""Gait from one accelerometer on the lower back (trunk): steps, cadence, step time and its
asymmetry, step and stride regularity, speed over a known distance; stance, swing and double
support from the final contacts, with their asymmetry.

Method
------
* **Vertical.** The accelerometer reads gravity plus the trunk's acceleration. The vertical is
  the direction of the slowly varying part of the signal (zero-phase Butterworth low-pass at
  :data:`GRAVITY_LOWPASS_HZ`), which corrects for the sensor's tilt on the back as Moe-Nilssen
  1998 does with the mean acceleration of a trial; the vertical acceleration (g, positive up)
  is the signal projected on it less 1 g. No sensor axis needs to be named and the sensor may
  be mounted either way up.
* **Initial contacts (IC)**, after McCamley et al. 2012: the vertical acceleration is
  low-passed (:data:`LOWPASS_HZ`), integrated and differentiated with a Gaussian wavelet
  (a Gaussian first derivative of width :data:`IC_SMOOTH_S`); each heel strike is a peak of
  that signal (the impact of the foot decelerates the falling trunk: upward acceleration)
  of prominence :data:`IC_MIN_PROMINENCE_G` or more, at least :data:`MIN_STEP_S` after the
  previous one. On the real recording in the tests these peaks lie within 0.1 s of the
  impact spikes read off the plot by hand.
* **Walking bouts**: runs of consecutive ICs whose intervals (step times) are within
  :data:`STEP_RANGE_S`. Within each bout the first and last :data:`EDGE_STEPS` steps (starting
  and stopping) are not counted, nor any step that contains a turn (mean rotation about the
  vertical above :data:`TURN_DEG_S`, only when a gyroscope on the same sensor is given).
* **Per bout**: step time (s), stride time (IC to the IC after next), cadence
  ``60 / mean step time``; step and stride regularity ``Ad1`` and ``Ad2``, the unbiased
  autocorrelation coefficients of the vertical acceleration at the first (step) and second
  (stride) dominant lag (Moe-Nilssen & Helbostad 2004), and their ratio ``Ad1 / Ad2``
  (near 1 when the two steps of a stride look alike; Moe-Nilssen & Helbostad 2004 compare Ad1
  with Ad2 as a sign of symmetry: the ratio form is movekit's, verify before quoting a norm).
* **Step-time asymmetry**: a trunk accelerometer does not tell the left foot from the right,
  so the steps of each bout are split into the two alternating sequences A and B (every other
  step belongs to the same foot) and the symmetry index of Robinson et al. 1987,
  ``100 |a - b| / (0.5 (a + b))`` (%), is given unsigned (which side is longer is unknown),
  per bout and averaged over the bouts weighted by their counted steps.

Refused with a reason: sampling rate under :data:`MIN_RATE_HZ`, a signal that does not read
gravity (wrong unit or not an accelerometer), a gap of missing samples over :data:`MAX_GAP_S`
inside a walking bout (shorter gaps, and gaps outside walking, are interpolated and said so),
fewer than :data:`MIN_STEPS` counted steps (not walking, or only turning). Speed (m/s) is
given only with the distance walked: ``distance / (last IC - first IC)`` of the one bout
walked (refused as ambiguous when there are several bouts).

Stance, swing and double support
--------------------------------
* **Final contacts (FC, toe-off)**: in each step (IC to next IC) the opposite foot leaves the
  ground early, at ~10 % of the gait cycle (Perry & Burnfield 2010). Its push-off shows as a
  second, smaller peak of the vertical acceleration after the heel-strike peak. The FC of a step
  is the most prominent local maximum of the vertical acceleration (Gaussian-smoothed,
  sigma :data:`FC_SMOOTH_S`) between :data:`FC_MIN_DELAY_S` after the IC and
  :data:`FC_WINDOW_STEP` of the step, of prominence :data:`FC_MIN_PROMINENCE_G` or more.
  This rule is movekit's, not a published one: McCamley et al. 2012's FC (an extremum of the
  once more differentiated IC signal; in movekit's sign convention its minima) was tried first
  and fell 0.04-0.06 s early with an SD of 0.10 s against the INDIP reference of the
  Mobilise-D lab data in the tests; this rule, two variants of it and the smoothing and window
  were chosen on the same data, so its agreement there (docs/validity-other.md, "Gait from a
  lower-back IMU") is not independent of the choice.
* **Per stride**, for the foot that lands at IC k: stance ``FC(k+1) - IC(k)``, swing
  ``IC(k+2) - FC(k+1)``, double support ``(FC(k) - IC(k)) + (FC(k+1) - IC(k+1))`` (s and % of
  the stride ``IC(k+2) - IC(k)``); given for a step when it and the next step are counted and
  both have an FC.
* **Sides**: a trunk sensor does not tell left from right. Within each walking bout the steps
  are labelled A, B, A, ... in order (the foot landing at the first IC of the bout is A), so A
  and B are the two feet, but which is left is unknown and A of one bout may be the other foot
  than A of the next: stance and swing asymmetry (Robinson 1987, unsigned) are computed within
  each bout and averaged over bouts weighted by their strides, and flagged. A missed IC makes a
  step of two (usually over :data:`STEP_RANGE_S`, which ends the bout); a missed IC in a fast
  walk whose double step still fits the range would swap A and B for the rest of the bout.
* **Refused** (stance, swing and double support left out, the rest of the result kept, flag
  ``final_contacts_unreliable``) when an FC is found in fewer than :data:`FC_MIN_FOUND` of the
  counted steps or fewer than :data:`MIN_STRIDES` strides have both FCs.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.signal as sps
from scipy.ndimage import gaussian_filter1d

from movekit.analysis.filters import true_runs
from movekit.assess.gait import ROBINSON, symmetry_index_pct
from movekit.assess.result import AssessmentResult
from movekit.errors import MovekitError

log = logging.getLogger(__name__)

MCCAMLEY = (
    "McCamley, Donati, Grimpampi & Mazza 2012, An enhanced estimate of initial contact and final "
    "contact instants of time using lower trunk inertial sensor data, Gait Posture 36:316-318"
)
ZIJLSTRA = (
    "Zijlstra & Hof 2003, Assessment of spatio-temporal gait parameters from trunk accelerations "
    "during human walking, Gait Posture 18:1-10"
)
MOE_NILSSEN_HELBOSTAD = (
    "Moe-Nilssen & Helbostad 2004, Estimation of gait cycle characteristics by trunk "
    "accelerometry, J Biomech 37:121-126 (step and stride regularity Ad1, Ad2)"
)
MOE_NILSSEN_TILT = (
    "Moe-Nilssen 1998, A new method for evaluating motor control in gait under real-life "
    "environmental conditions. Part 1: The instrument, Clin Biomech 13:320-327 (tilt correction)"
)

G_M_S2 = 9.80665  #: standard gravity (m/s2)
#: Lowest sampling rate accepted (Hz): the lumbar-accelerometer methods were validated at
#: 100 Hz (McCamley 2012) and are used down to 50 Hz (GaitPy, Czech & Patel 2019); one sample
#: every 20 ms is ~3 % of a 0.6 s step. An engineering bound.
MIN_RATE_HZ = 50.0
LOWPASS_HZ = 20.0  #: low-pass of the vertical acceleration before the IC search (engineering choice)
GRAVITY_LOWPASS_HZ = 0.3  #: the vertical: acceleration slower than this is gravity (engineering choice)
#: Width (s, Gaussian sigma) of the wavelet differentiation. Chosen on bout 2 of the real recording
#: in the tests (0.04-0.1 s all work there); bout 3 was then counted by hand as a check. Engineering.
IC_SMOOTH_S = 0.06
IC_MIN_PROMINENCE_G = 0.1  #: smallest heel-strike peak (g) taken as a step (engineering bound)
MIN_STEP_S = 0.25  #: two ICs closer than this are one (a cadence of 240 steps/min; engineering bound)
#: Step times (s) taken as walking: 0.375-1.25 s, half the stride range of :mod:`movekit.assess.gait`
#: (48-160 steps/min). An engineering bound, not a published cut-off.
STEP_RANGE_S = (0.375, 1.25)
#: Shortest run of regular steps taken as a walk: 10 steps (a 10 m walk test at ~0.7 m a step
#: has ~14). Shorter runs are shuffling, handling the sensor or stepping on the spot (in the real
#: recording of the tests: up to 8 steps while the sensor was put on and between the walks). An
#: engineering bound.
MIN_BOUT_STEPS = 10
EDGE_STEPS = 2  #: steps left out at each end of a bout (starting and stopping; engineering bound)
#: Mean rotation about the vertical over one step above this (deg/s) is a turn, as for the shank.
TURN_DEG_S = 20.0
MAX_GAP_S = 0.1  #: longest gap of missing samples interpolated inside walking (s), as for the shank
MIN_STEPS = 8  #: counted steps needed for a result (four strides, as the shank's four cycles)
PERRY = "Perry & Burnfield 2010, Gait Analysis: Normal and Pathological Function, 2nd ed. (gait phases)"
#: Gaussian sigma (s) of the vertical acceleration before the FC search; 0.015-0.03 s gave the same
#: agreement with the INDIP reference in the tests (0.02 chosen there). Engineering choice.
FC_SMOOTH_S = 0.02
#: The FC is searched in the first half of the step: the opposite toe-off comes at ~10 % of the gait
#: cycle, ~20 % of a step (Perry & Burnfield 2010); 0.4-0.6 were tried on the reference data.
FC_WINDOW_STEP = 0.5
FC_MIN_DELAY_S = 0.05  #: the heel-strike peak itself is not an FC: FCs are searched this long after the IC (s)
FC_MIN_PROMINENCE_G = 0.01  #: smallest push-off peak (g) taken as an FC (about the noise; engineering bound)
#: Share of counted steps that must have an FC for stance and swing to be given (engineering bound).
#: Measured: 95 % of the steps of the GENEActiv walk in the tests, 82 % (128/157) of the steps inside
#: the INDIP walking bouts of the Mobilise-D lab data (slow, turning, short walks); a lower share
#: means the push-off peak is often absent (shuffling, turning, a loose sensor) and the FCs found
#: are then less trustworthy too.
FC_MIN_FOUND = 0.9
MIN_STRIDES = 4  #: strides with both FCs needed for stance and swing (half of MIN_STEPS steps)
#: stream names that place an accelerometer elsewhere than the trunk (a shank IMU's acc stream)
NOT_TRUNK = ("shank", "thigh", "foot", "ankle", "wrist", "arm", "leg", "hand", "head")
GRAVITY_RANGE_G = (0.7, 1.3)  #: median norm of the signal (g) accepted as an accelerometer at rest/walking


def _rate_hz(t: np.ndarray) -> float:
    return float(1.0 / np.median(np.diff(t))) if t.size > 1 else 0.0


def vertical_acceleration_g(acc_g: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertical acceleration (g, positive up, gravity removed) and the unit vertical per sample.

    Parameters
    ----------
    acc_g : array (n, 3)
        Accelerometer signal (g) in the sensor's frame, any mounting.
    fs_hz : float
        Sampling rate (Hz).

    Returns
    -------
    up_g : array (n,)
        ``acc . v - 1`` (g), ``v`` the direction of the low-passed signal (Moe-Nilssen 1998).
    v : array (n, 3)
        The unit vertical (pointing up) in the sensor frame.
    """
    sos = sps.butter(2, min(GRAVITY_LOWPASS_HZ, 0.45 * fs_hz), fs=fs_hz, output="sos")
    slow = sps.sosfiltfilt(sos, acc_g, axis=0)
    v = slow / np.maximum(np.linalg.norm(slow, axis=1, keepdims=True), 1e-9)
    return np.einsum("ij,ij->i", acc_g, v) - 1.0, v


def initial_contacts(t_s, up_g) -> dict[str, np.ndarray]:
    """Initial contacts from the vertical trunk acceleration (McCamley et al. 2012); pure.

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s), uniformly sampled.
    up_g : array (n,)
        Vertical acceleration (g, positive up, gravity removed).

    Returns
    -------
    dict
        ``ic_s`` (times of the ICs, s) and ``signal_g`` (the wavelet-differentiated integral of
        the low-passed vertical acceleration, g, whose peaks are the ICs).
    """
    t = np.asarray(t_s, dtype=np.float64)
    up = np.asarray(up_g, dtype=np.float64)
    fs = _rate_hz(t)
    sos = sps.butter(4, min(LOWPASS_HZ, 0.45 * fs), fs=fs, output="sos")
    filt = sps.sosfiltfilt(sos, sps.detrend(up))
    velocity = np.cumsum(filt) / fs  # g s
    signal = gaussian_filter1d(velocity, IC_SMOOTH_S * fs, order=1) * fs
    pk, _ = sps.find_peaks(signal, prominence=IC_MIN_PROMINENCE_G, distance=max(1, int(MIN_STEP_S * fs)))
    return {"ic_s": t[pk], "signal_g": signal}


def final_contacts(t_s, up_g, ic_s) -> dict[str, np.ndarray]:
    """The final contact (opposite foot's toe-off) in each step from IC to next IC; pure.

    The most prominent local maximum of the smoothed vertical acceleration (sigma
    :data:`FC_SMOOTH_S`, prominence >= :data:`FC_MIN_PROMINENCE_G`) between
    :data:`FC_MIN_DELAY_S` after the IC and :data:`FC_WINDOW_STEP` of the step (see the module
    docstring; a movekit rule measured against a reference, not a published method).

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s), uniformly sampled.
    up_g : array (n,)
        Vertical acceleration (g, positive up, gravity removed).
    ic_s : array (m,)
        Initial contacts (s), increasing.

    Returns
    -------
    dict
        ``fc_s`` (m - 1,): the FC in each step (s), NaN where none was found; ``signal_g`` (n,):
        the smoothed vertical acceleration (g) searched.
    """
    t = np.asarray(t_s, dtype=np.float64)
    ic = np.asarray(ic_s, dtype=np.float64)
    fs = _rate_hz(t)
    smooth = gaussian_filter1d(np.asarray(up_g, dtype=np.float64), FC_SMOOTH_S * fs)
    fc = np.full(max(ic.size - 1, 0), np.nan)
    for k in range(fc.size):
        lo = int(np.searchsorted(t, ic[k] + FC_MIN_DELAY_S))
        hi = int(np.searchsorted(t, ic[k] + FC_WINDOW_STEP * (ic[k + 1] - ic[k])))
        if hi - lo < 3:
            continue
        pk, prop = sps.find_peaks(smooth[lo:hi], prominence=FC_MIN_PROMINENCE_G)
        if pk.size:
            fc[k] = t[lo + pk[int(np.argmax(prop["prominences"]))]]
    return {"fc_s": fc, "signal_g": smooth}


def walking_bouts(ic_s, min_steps: int = MIN_BOUT_STEPS) -> list[np.ndarray]:
    """Runs of ICs whose consecutive intervals are all within :data:`STEP_RANGE_S`; pure.

    Returns the IC times (s) of each run of at least ``min_steps`` steps (``min_steps + 1`` ICs).
    """
    ic = np.asarray(ic_s, dtype=np.float64)
    ok = (np.diff(ic) >= STEP_RANGE_S[0]) & (np.diff(ic) <= STEP_RANGE_S[1])
    return [ic[s : e + 1] for s, e in true_runs(ok) if e - s >= min_steps]


def autocorr_regularity(up_g, fs_hz: float, step_s: float) -> dict[str, float]:
    """Step and stride regularity (Moe-Nilssen & Helbostad 2004); pure.

    Unbiased autocorrelation of the mean-removed vertical acceleration, normalised to 1 at lag 0;
    ``Ad1`` is its largest value at lags of 0.5-1.5 step times, ``Ad2`` at 1.5-2.5 step times.

    Parameters
    ----------
    up_g : array (n,)
        Vertical acceleration (g) over one walking bout.
    fs_hz : float
        Sampling rate (Hz).
    step_s : float
        Median step time (s) of the bout.

    Returns
    -------
    dict
        ``step_regularity`` (Ad1), ``stride_regularity`` (Ad2), ``step_lag_s``, ``stride_lag_s``.
    """
    x = np.asarray(up_g, dtype=np.float64) - np.mean(up_g)
    n = x.size
    full = np.correlate(x, x, mode="full")[n - 1 :] / np.arange(n, 0, -1)
    ac = full / full[0]
    out: dict[str, float] = {}
    for name, (lo, hi) in (("step", (0.5, 1.5)), ("stride", (1.5, 2.5))):
        a, b = int(lo * step_s * fs_hz), min(int(hi * step_s * fs_hz) + 1, n // 2)
        if b <= a:
            out[f"{name}_regularity"], out[f"{name}_lag_s"] = float("nan"), float("nan")
            continue
        k = a + int(np.argmax(ac[a:b]))
        out[f"{name}_regularity"], out[f"{name}_lag_s"] = float(ac[k]), k / fs_hz
    return out


def _steps_of_bout(bout: np.ndarray, t: np.ndarray, vert_rate, fc: np.ndarray) -> list[dict[str, Any]]:
    """One row per step (IC to next IC) of a bout: times, whether it counts and why not, its FC and
    the stance, swing and double support of the foot landing at its IC (:func:`_phases`)."""
    rows = []
    n = bout.size - 1
    for k in range(n):
        a, b = float(bout[k]), float(bout[k + 1])
        turn = None
        if vert_rate is not None:
            sel = (t >= a) & (t < b)
            turn = float(abs(np.mean(vert_rate[sel]))) if sel.any() else None
        why = []
        if k < EDGE_STEPS or k >= n - EDGE_STEPS:
            why.append("start or end of the walk (starting or stopping)")
        if turn is not None and turn > TURN_DEG_S:
            why.append(f"turning ({turn:.0f} deg/s about the vertical)")
        rows.append(
            {
                "start_s": a,
                "end_s": b,
                "step_time_s": b - a,
                "stride_time_s": float(bout[k + 2] - a) if k + 2 <= n else None,
                "turn_deg_s": turn,
                "counted": not why,
                "excluded_because": "; ".join(why) or None,
                "foot": "AB"[k % 2],
                "fc_s": float(fc[k]) if np.isfinite(fc[k]) else None,
            }
        )
    _phases(rows, bout)
    return rows


def _phases(rows: list[dict[str, Any]], bout: np.ndarray) -> None:
    """Stance, swing and double support (s) of the foot landing at each step's IC, in place.

    Given when the step and the next are counted and both have an FC; None otherwise.
    """
    for k, row in enumerate(rows):
        nxt = rows[k + 1] if k + 1 < len(rows) else None
        ok = nxt is not None and row["counted"] and nxt["counted"] and row["fc_s"] is not None
        ok = ok and nxt["fc_s"] is not None
        stride = float(bout[k + 2] - bout[k]) if ok else None
        row["stance_s"] = nxt["fc_s"] - row["start_s"] if ok else None
        row["swing_s"] = float(bout[k + 2]) - nxt["fc_s"] if ok else None
        row["double_support_s"] = (row["fc_s"] - row["start_s"]) + (nxt["fc_s"] - nxt["start_s"]) if ok else None
        row["stance_pct"] = 100.0 * row["stance_s"] / stride if ok else None


def _fill_gaps(t: np.ndarray, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Resample to a uniform grid at the median rate; return the gaps (start, end s) that were
    filled (missing samples, NaN or dropped timestamps) by linear interpolation."""
    fs = _rate_hz(t)
    finite = np.isfinite(acc).all(axis=1)
    if finite.sum() < 2:
        raise MovekitError("gait-trunk: the accelerometer has no finite samples")
    grid = np.arange(t[0], t[-1] + 0.5 / fs, 1.0 / fs)
    tf, af = t[finite], acc[finite]
    filled = np.column_stack([np.interp(grid, tf, af[:, i]) for i in range(acc.shape[1])])
    step = np.diff(tf)
    gaps = [(float(tf[i]), float(tf[i + 1])) for i in np.flatnonzero(step > 1.5 / fs)]
    return grid, filled, gaps


def _prepare(t_s, acc, unit: str, r: AssessmentResult) -> tuple[np.ndarray, np.ndarray, list, float] | None:
    """Check the inputs, convert to g, fill gaps; None (with a failed check) when refused."""
    t = np.asarray(t_s, dtype=np.float64)
    a = np.asarray(acc, dtype=np.float64)
    if unit not in ("g", "m/s2"):
        raise MovekitError(f"gait-trunk: accelerometer unit must be g or m/s2, not {unit!r}")
    if t.ndim != 1 or t.size < 2 or not np.all(np.diff(t) > 0):
        raise MovekitError("gait-trunk: the sample times must be one increasing series")
    if a.ndim != 2 or a.shape != (t.size, 3):
        raise MovekitError(f"gait-trunk: the accelerometer must be (samples, 3) like the times, not {a.shape}")
    a = a / G_M_S2 if unit == "m/s2" else a
    fs = _rate_hz(t)
    ok = r.check(
        "sampling_rate",
        fs >= MIN_RATE_HZ * (1 - 1e-3),
        f"sampled at {fs:.1f} Hz; trunk gait events need >= {MIN_RATE_HZ:g} Hz",
        round(fs, 2),
        f">= {MIN_RATE_HZ:g} Hz",
    )
    norm = float(np.nanmedian(np.linalg.norm(a, axis=1)))
    ok &= r.check(
        "gravity",
        GRAVITY_RANGE_G[0] <= norm <= GRAVITY_RANGE_G[1],
        f"median acceleration {norm:.2f} g"
        + ("" if GRAVITY_RANGE_G[0] <= norm <= GRAVITY_RANGE_G[1] else f": not gravity, is the unit {unit} right?"),
        round(norm, 3),
        f"{GRAVITY_RANGE_G[0]:g}-{GRAVITY_RANGE_G[1]:g} g",
    )
    if not ok:
        return None
    grid, filled, gaps = _fill_gaps(t, a)
    return grid, filled, gaps, fs


def _check_gaps(gaps, bouts, r: AssessmentResult) -> bool:
    """A long gap inside a walking bout refuses; others are interpolated and said so."""
    long_in = [(a, b) for a, b in gaps if b - a > MAX_GAP_S and any(x[0] - 1.0 < b and a < x[-1] + 1.0 for x in bouts)]
    longest = max((b - a for a, b in gaps), default=0.0)
    if gaps and not long_in:
        r.flag("gaps_interpolated", f"{len(gaps)} gap(s) of missing samples (longest {longest:.2f} s) interpolated")
    worst = max((b - a for a, b in long_in), default=0.0)
    return r.check(
        "samples",
        not long_in,
        "no gap over 0.1 s in walking"
        if not long_in
        else f"{len(long_in)} gap(s) in walking, longest {worst:.2f} s: gaps over {MAX_GAP_S:g} s hide steps",
        round(worst, 3),
        f"<= {MAX_GAP_S:g} s in walking",
    )


def _vertical_rate(gyro, gyro_unit: str, t: np.ndarray, grid: np.ndarray, v: np.ndarray) -> np.ndarray:
    g = np.asarray(gyro, dtype=np.float64).reshape(t.size, 3)
    if gyro_unit not in ("deg/s", "rad/s"):
        raise MovekitError(f"gait-trunk: gyroscope unit must be deg/s or rad/s, not {gyro_unit!r}")
    g = np.degrees(g) if gyro_unit == "rad/s" else g
    ok = np.isfinite(g).all(axis=1)
    g = np.column_stack([np.interp(grid, t[ok], g[ok, i]) for i in range(3)])
    return np.einsum("ij,ij->i", g, v)


def _bout_metrics(bout: np.ndarray, rows: list[dict], up: np.ndarray, grid: np.ndarray, fs: float) -> dict:
    """Counted step times and regularity of one bout."""
    counted = [s for s in rows if s["counted"]]
    steps = np.array([s["step_time_s"] for s in counted])
    sel = (grid >= bout[0]) & (grid <= bout[-1])
    reg = autocorr_regularity(up[sel], fs, float(np.median(np.diff(bout))))
    return {"steps": steps, **reg}


def _walking(
    t: np.ndarray, gyro, gyro_unit: str, grid: np.ndarray, filled: np.ndarray, fs: float, r: AssessmentResult
) -> tuple[list[np.ndarray], list[list[dict]], np.ndarray]:
    """Walking bouts (IC times, s), their step rows and the vertical acceleration (g) on ``grid``."""
    up, v = vertical_acceleration_g(filled, fs)
    ic = initial_contacts(grid, up)["ic_s"]
    bouts = walking_bouts(ic)
    vert = None if gyro is None else _vertical_rate(gyro, gyro_unit, t, grid, v)
    rows = [_steps_of_bout(b, grid, vert, final_contacts(grid, up, b)["fc_s"]) for b in bouts]
    r.add_metric("initial_contacts_count", int(ic.size), "count")
    return bouts, rows, up


def assess_gait_trunk(
    t_s,
    acc,
    *,
    unit: str = "g",
    gyro=None,
    gyro_unit: str = "deg/s",
    distance_m: float | None = None,
) -> AssessmentResult:
    """Gait from a lower-back accelerometer (see the module docstring).

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s).
    acc : array (n, 3)
        Accelerometer on the lower back (``unit``), any axis order and mounting. NaN rows are
        missing samples.
    unit : {"g", "m/s2"}
    gyro : array (n, 3), optional
        Gyroscope of the same sensor (same axes and times), for the turn check.
    gyro_unit : {"deg/s", "rad/s"}
    distance_m : float, optional
        Distance walked in the (single) walking bout (m), for the speed.
    """
    r = AssessmentResult("gait-trunk")
    r.cite(MCCAMLEY, MOE_NILSSEN_HELBOSTAD, MOE_NILSSEN_TILT)
    if distance_m is not None and not (
        isinstance(distance_m, (int, float)) and np.isfinite(distance_m) and distance_m > 0
    ):
        raise MovekitError(f"gait-trunk: the distance walked must be a positive number of metres, not {distance_m!r}")
    prep = _prepare(t_s, acc, unit, r)
    if prep is None:
        return r
    grid, filled, gaps, fs = prep
    t = np.asarray(t_s, dtype=np.float64)
    bouts, rows, up = _walking(t, gyro, gyro_unit, grid, filled, fs, r)
    if not _check_gaps(gaps, bouts, r):
        return r
    r.add_metric("duration_s", float(t[-1] - t[0]), "s")
    if gyro is None:
        r.flag("turns_not_checked", "no gyroscope on the trunk sensor, so turns could not be detected: walk straight")
    for i, rr in enumerate(rows):
        r.reps.extend({"bout": i + 1, "step": k + 1, **s} for k, s in enumerate(rr))
    per = [_bout_metrics(b, rr, up, grid, fs) for b, rr in zip(bouts, rows)]
    if not _enough_steps(per, bouts, r):
        return r
    _summarise(per, bouts, rows, r)
    _stance_swing(rows, r)
    if distance_m is not None:
        _speed(distance_m, bouts, per, r)
    return r


def _enough_steps(per: list[dict], bouts: list[np.ndarray], r: AssessmentResult) -> bool:
    """The ``steps`` check (and the ``turns_excluded`` flag)."""
    n = int(sum(p["steps"].size for p in per))
    turns = sum(1 for x in r.reps if x["turn_deg_s"] is not None and x["turn_deg_s"] > TURN_DEG_S)
    if turns:
        r.flag(
            "turns_excluded",
            f"{turns} step(s) with a turn left out (rotation about the vertical above {TURN_DEG_S:g} deg/s)",
        )
    why = "" if bouts else ": no run of regular steps found, this does not look like walking"
    return r.check(
        "steps",
        n >= MIN_STEPS,
        f"{n} steady straight step(s) in {len(bouts)} walking bout(s) (first and last {EDGE_STEPS} steps of "
        f"each bout and turns left out); >= {MIN_STEPS} needed" + why,
        n,
        f">= {MIN_STEPS}",
    )


def _summarise(per: list[dict], bouts: list[np.ndarray], rows: list[list[dict]], r: AssessmentResult) -> None:
    steps = np.concatenate([p["steps"] for p in per])
    strides = [s["stride_time_s"] for rr in rows for s in rr if s["counted"] and s["stride_time_s"] is not None]
    r.add_metric("walking_bouts_count", len([p for p in per if p["steps"].size]), "count")
    r.add_metric("steps_count", int(steps.size), "count")
    r.add_metric("step_time_s", float(np.mean(steps)), "s")
    r.add_metric("step_time_cv_pct", float(100 * np.std(steps, ddof=1) / np.mean(steps)), "%")
    r.add_metric("stride_time_s", float(np.mean(strides)) if strides else None, "s")
    r.add_metric("cadence_steps_per_min", 60.0 / float(np.mean(steps)), "steps/min")
    r.add_metric("step_time_asymmetry_pct", _ab_asymmetry(rows, "step_time_s", counted_only=True), "%")
    w = np.array([p["steps"].size for p in per], dtype=np.float64)
    for name in ("step_regularity", "stride_regularity"):
        vals = np.array([p[name] for p in per])
        ok = np.isfinite(vals) & (w > 0)
        r.add_metric(name, float(np.average(vals[ok], weights=w[ok])) if ok.any() else None, "1")
    ad1, ad2 = r.value("step_regularity"), r.value("stride_regularity")
    r.add_metric("step_symmetry_ratio", ad1 / ad2 if ad1 is not None and ad2 else None, "1")
    r.flag(
        "sides_not_identified",
        "a trunk accelerometer does not tell the left foot from the right: the step-time asymmetry "
        "compares alternate steps and does not say which side is longer",
    )
    r.cite(ROBINSON, ZIJLSTRA)


def _stance_swing(rows: list[list[dict]], r: AssessmentResult) -> None:
    """Stance, swing and double support (s, % of stride) and their A/B asymmetry, or the refusal."""
    counted = [s for rr in rows for s in rr if s["counted"]]
    found = sum(1 for s in counted if s["fc_s"] is not None)
    strides = [s for s in counted if s["stance_s"] is not None]
    share = found / len(counted) if counted else 0.0
    r.add_metric("final_contacts_found_pct", 100.0 * share, "%")
    names = ("stance_time_s", "swing_time_s", "double_support_time_s", "stance_pct", "swing_pct")
    names += ("double_support_pct", "stance_time_asymmetry_pct", "swing_time_asymmetry_pct")
    units = ("s", "s", "s", "%", "%", "%", "%", "%")
    if share < FC_MIN_FOUND or len(strides) < MIN_STRIDES:
        for name, unit in zip(names, units):
            r.add_metric(name, None, unit)
        r.flag(
            "final_contacts_unreliable",
            f"toe-off (final contact) found in {found} of {len(counted)} counted steps ({100 * share:.0f} %), "
            f"{len(strides)} full strides: stance and swing need an FC in >= {100 * FC_MIN_FOUND:.0f} % of the "
            f"steps and >= {MIN_STRIDES} strides, so they are not given",
        )
        return
    stance = np.array([s["stance_s"] for s in strides])
    swing = np.array([s["swing_s"] for s in strides])
    ds = np.array([s["double_support_s"] for s in strides])
    stride = stance + swing
    values = (stance.mean(), swing.mean(), ds.mean(), 100 * np.mean(stance / stride))
    values += (100 * np.mean(swing / stride), 100 * np.mean(ds / stride))
    values += (_ab_asymmetry(rows, "stance_s"), _ab_asymmetry(rows, "swing_s"))
    for name, value, unit in zip(names, values, units):
        r.add_metric(name, None if value is None else float(value), unit)
    r.flag(
        "stance_swing_sides_paired",
        "stance and swing asymmetry compare the two alternating feet A and B of each walking bout "
        "(A lands at the bout's first initial contact); which is left is unknown, so the asymmetry "
        "is unsigned; toe-off from a trunk sensor is less accurate than heel strike: stance and swing "
        "agreed with two lab references to 0.05-0.07 s on average, 95 % limits 0.2-0.3 s (docs/validity-other.md)",
    )
    r.cite(PERRY)


def _ab_asymmetry(rows: list[list[dict]], key: str, counted_only: bool = False) -> float | None:
    """Unsigned Robinson symmetry index (%) of feet A vs B within each bout, averaged over bouts
    weighted by their values (A of one bout may be B of the next, so bouts are never pooled)."""
    sis, weights = [], []
    for rr in rows:
        use = [s for s in rr if s[key] is not None and (s["counted"] or not counted_only)]
        a = [s[key] for s in use if s["foot"] == "A"]
        b = [s[key] for s in use if s["foot"] == "B"]
        if a and b:
            sis.append(abs(symmetry_index_pct(float(np.mean(a)), float(np.mean(b)))))
            weights.append(len(a) + len(b))
    return float(np.average(sis, weights=weights)) if sis else None


def _speed(distance_m: float, bouts: list[np.ndarray], per: list[dict], r: AssessmentResult) -> None:
    walked = [b for b, p in zip(bouts, per) if p["steps"].size]
    if len(walked) != 1:
        r.add_metric("gait_speed_m_per_s", None, "m/s")
        r.flag(
            "speed_ambiguous",
            f"{len(walked)} walking bouts: the distance cannot be assigned to one, so no speed is given",
        )
        return
    span = float(walked[0][-1] - walked[0][0])
    r.add_metric("gait_speed_m_per_s", distance_m / span, "m/s")
    r.flag(
        "speed_from_distance",
        f"speed = {distance_m:g} m / {span:.2f} s from the first to the last initial contact of the "
        "walk; the distance must be the distance walked in that time",
    )


#: CSV column names of a trunk IMU (``time_s`` plus these), by unit
TABLE_ACC = {"g": "acc_{}_g", "m/s2": "acc_{}_m_per_s2"}
TABLE_GYRO = {"deg/s": "gyro_{}_deg_per_s", "rad/s": "gyro_{}_rad_per_s"}


def _from_table(tab: dict[str, np.ndarray]) -> tuple | None:
    """``(t, acc, unit, gyro, gyro_unit)`` from CSV columns (:data:`TABLE_ACC`), None if absent."""
    for unit, pattern in TABLE_ACC.items():
        cols = [pattern.format(a) for a in "xyz"]
        if "time_s" in tab and all(c in tab for c in cols):
            gyro, gunit = None, "deg/s"
            for gu, gp in TABLE_GYRO.items():
                if all(gp.format(a) in tab for a in "xyz"):
                    gyro, gunit = np.column_stack([tab[gp.format(a)] for a in "xyz"]), gu
            return np.asarray(tab["time_s"]), np.column_stack([tab[c] for c in cols]), unit, gyro, gunit
    return None


def _from_streams(trial) -> tuple:
    """``(t, acc, unit, gyro, gyro_unit)`` from the one trunk accelerometer stream of a recording."""
    accs = {
        n: st
        for n, st in trial.streams.items()
        if st.spec.unit in ("g", "m/s2", "m/s^2")
        and int(np.prod(st.spec.shape)) == 3
        and not any(w in n.lower() for w in NOT_TRUNK)
    }
    if len(accs) > 1:
        accs = {n: st for n, st in accs.items() if any(w in n.lower() for w in ("trunk", "back", "lumbar"))}
    if len(accs) != 1:
        raise MovekitError(
            f"{trial.source}: gait-trunk needs one lower-back accelerometer stream (g or m/s2, 3 axes; "
            "with several, name it trunk, back or lumbar) or CSV columns time_s, acc_x_g, acc_y_g, "
            "acc_z_g (or acc_x_m_per_s2 ...); " + ("none found" if not accs else f"found {', '.join(accs)}")
        )
    name, st = next(iter(accs.items()))
    t = np.asarray(st.t_s, dtype=np.float64)
    acc = np.asarray(st.data, dtype=np.float64).reshape(t.size, 3)
    gname = name.replace("acc", "gyro") if "acc" in name else None
    gyro, gunit = None, "deg/s"
    if gname in trial.streams and trial.streams[gname].spec.unit in ("deg/s", "rad/s"):
        sg = trial.streams[gname]
        d = np.asarray(sg.data, dtype=np.float64).reshape(len(sg.t_s), 3)
        gyro = np.column_stack([np.interp(t, sg.t_s, d[:, i]) for i in range(3)])
        gunit = sg.spec.unit
    log.debug("gait-trunk: accelerometer %s, gyroscope %s", name, gname if gyro is not None else None)
    return t, acc, "g" if st.spec.unit == "g" else "m/s2", gyro, gunit


def assess_gait_trunk_session(trial, *, distance_m: float | None = None) -> AssessmentResult:
    """Gait from the trunk accelerometer of a trial (:class:`movekit.assess.sources.Trial`).

    A CSV with ``time_s`` and ``acc_x_g, acc_y_g, acc_z_g`` (or ``acc_x_m_per_s2`` ...; optional
    ``gyro_x_deg_per_s`` ... or ``gyro_x_rad_per_s`` ...), or a recording with one device stream
    in ``g`` or ``m/s2`` with three channels (a stream whose name says ``trunk``, ``back`` or
    ``lumbar`` when there are several; streams named for another body part, :data:`NOT_TRUNK`,
    are never used); a gyroscope stream of the same device (its name with ``gyro`` for ``acc``)
    adds the turn check.
    """
    got = _from_table(trial.table) if trial.table else None
    t, acc, unit, gyro, gunit = got if got is not None else _from_streams(trial)
    return assess_gait_trunk(t, acc, unit=unit, gyro=gyro, gyro_unit=gunit, distance_m=distance_m)


__all__ = [
    "assess_gait_trunk",
    "assess_gait_trunk_session",
    "autocorr_regularity",
    "final_contacts",
    "initial_contacts",
    "vertical_acceleration_g",
    "walking_bouts",
]
