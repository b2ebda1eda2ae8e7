"""Gait from shank gyroscopes: cadence, stride, step time left/right and asymmetry, stance and swing.

Method (shank angular velocity in the sagittal plane; Aminian et al. 2002, Salarian et al. 2004):
the shank swings forward fast in mid-swing, so the sagittal angular velocity has one large peak
per gait cycle of that leg (mid-swing, MS); initial contact (IC) is the minimum that follows a
mid-swing and the final contact (toe-off, TO) the minimum that precedes it. Here: mid-swing peaks
of the 5 Hz low-passed signal above :data:`MS_MIN_DEG_S` (50 deg/s, the mid-swing threshold of
Salarian 2004, verify) at least :data:`MS_MIN_GAP_S` apart; IC and TO are the minima of the
15 Hz low-passed signal within half a median cycle after and before each MS (both filters
zero-phase Butterworth, order 2; engineering choices, stated so). The polarity of the signal
(which sign is forward swing) is taken from the data: mid-swing is the largest excursion.

Per gait cycle (IC to the next IC of the same leg): stride time, stance (IC to TO) and swing
(TO to the next IC) in s and % of the cycle (about 60 / 40 % in healthy walking, Perry &
Burnfield 2010). With both shanks, step time (s) of a side is the time from the other side's IC
to this side's IC, and asymmetry is the symmetry index of Robinson et al. 1987,
``SI = 100 (right - left) / (0.5 (right + left))`` (%; 0 = symmetric, positive = right longer).
With one shank the other leg's contacts are not seen: cadence is ``120 / mean stride time``
(two steps per stride) and step times, asymmetry are not given (said so).

Cycles are counted in steady walking only: the first and last cycle of the recording
(starting and stopping) are left out, and so is any cycle that is not walking (stride outside
:data:`STRIDE_RANGE_S`) or contains a turn (mean rotation about the vertical over the cycle
above :data:`TURN_DEG_S`; the vertical is the accelerometer axis that carries gravity, so a turn
is only checked when the accelerometer is given). Refused with a reason: sampling rate under
:data:`MIN_RATE_HZ`, sensor axis unknown, a gap of missing samples over :data:`MAX_GAP_S`
(shorter gaps are interpolated), a median cycle outside the walking range, fewer than
:data:`MIN_CYCLES` steady straight gait cycles. Speed (m/s) is given only when the distance walked is given:
``distance / (last IC - first IC)`` over the detected bout of the instrumented leg(s).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.signal as sps

from movekit.analysis.filters import true_runs
from movekit.assess.result import AssessmentResult
from movekit.errors import MovekitError

AMINIAN = (
    "Aminian, Najafi, Bula, Leyvraz & Robert 2002, Spatio-temporal parameters of gait measured by an "
    "ambulatory system using miniature gyroscopes, J Biomech 35:689-699"
)
SALARIAN = (
    "Salarian, Russmann, Vingerhoets, Dehollain, Blanc, Burkhard & Aminian 2004, Gait assessment in "
    "Parkinson's disease: toward an ambulatory system for long-term monitoring, IEEE Trans Biomed Eng "
    "51:1434-1443"
)
ROBINSON = (
    "Robinson, Herzog & Nigg 1987, Use of force platform variables to quantify the effects of "
    "chiropractic manipulation on gait symmetry, J Manipulative Physiol Ther 10:172-176 (symmetry index)"
)
PERRY = "Perry & Burnfield 2010, Gait Analysis: Normal and Pathological Function, 2nd ed. (stance ~60 %, swing ~40 %)"

MS_MIN_DEG_S = 50.0  #: mid-swing peak threshold (deg/s), as used by Salarian 2004 (verify)
MS_MIN_GAP_S = 0.5  #: mid-swings of one leg closer than this are one swing (engineering bound)
MS_LOWPASS_HZ = 5.0  #: low-pass for finding mid-swing (engineering choice)
EVENT_LOWPASS_HZ = 15.0  #: low-pass for the IC / TO minima (engineering choice)
#: Lowest sampling rate accepted (Hz): one sample every 20 ms, ~3 % of a 0.6 s step. The
#: validation studies sampled at 200 Hz (Aminian 2002, Salarian 2004); 50 Hz is an engineering
#: bound, and the IC/TO low-pass needs 2 x 15 Hz.
MIN_RATE_HZ = 50.0
#: Stride times (s) taken as walking: 0.75-2.5 s is a cadence of 48-160 steps/min, around the
#: usual adult walking range (~100-120 steps/min); running or a shuffle outside it is not
#: counted. An engineering bound, not a published cut-off.
STRIDE_RANGE_S = (0.75, 2.5)
#: Mean rotation about the vertical over one gait cycle above this (deg/s) is a turn or a curve
#: (a 180 deg turn in two strides averages ~70 deg/s; the real straight walk in the tests stays
#: under 7 deg/s). An engineering bound.
TURN_DEG_S = 20.0
#: Missing samples are interpolated across gaps up to this long (s): a quarter of the ~0.4 s
#: swing, so a mid-swing or a contact cannot fall wholly inside one. An engineering bound.
MAX_GAP_S = 0.1
MIN_CYCLES = 4  #: steady straight gait cycles needed for a result (engineering bound)
#: Walking has two double-support periods per cycle, so stance is always over half of it (about
#: 60 %, Perry & Burnfield 2010; stance under 50 % is running). Stance at or below this from a
#: "shank" sensor means the contacts found are not a shank's (a thigh sensor gives ~19 % on the
#: real Xsens walk of scikit-kinematics 0.10.4, tests/test_outside_sensor_files.py).
MIN_STANCE_PCT = 50.0


def _fill(g: np.ndarray, t: np.ndarray, r: AssessmentResult, side: str) -> np.ndarray:
    """Interpolate missing gyroscope samples across gaps up to :data:`MAX_GAP_S`; longer gaps
    fail the ``samples`` check (a contact cannot be timed inside them)."""
    bad = ~np.isfinite(g).all(axis=1)
    if not bad.any():
        return g
    runs = true_runs(bad)
    longest = max((t[min(e, t.size - 1)] - t[max(s - 1, 0)]) for s, e in runs)
    if r.check(
        f"samples_{side}",
        longest <= MAX_GAP_S and bad.sum() < bad.size - 1,
        f"{side} shank: {int(bad.sum())} missing sample(s), longest gap {longest:.2f} s"
        + ("" if longest <= MAX_GAP_S else f": gaps over {MAX_GAP_S:g} s hide gait events"),
        round(float(longest), 3),
        f"<= {MAX_GAP_S:g} s",
    ):
        ok = ~bad
        return np.column_stack([np.interp(t, t[ok], g[ok, i]) for i in range(g.shape[1])])
    return np.where(bad[:, None], 0.0, g)


def _lowpass(x: np.ndarray, fs: float, fc: float) -> np.ndarray:
    sos = sps.butter(2, min(fc, 0.45 * fs), fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x)


def _rate_hz(t_s) -> float:
    t = np.asarray(t_s, dtype=np.float64)
    return float(1.0 / np.median(np.diff(t))) if t.size > 1 else 0.0


def shank_events(t_s, omega_deg_s) -> dict[str, Any]:
    """Mid-swing, initial and final contacts of one leg from its shank's sagittal angular velocity.

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s), uniformly sampled.
    omega_deg_s : array (n,)
        Angular velocity about the shank's medio-lateral axis (deg/s), either sign convention.

    Returns
    -------
    dict
        ``ms_s``, ``ic_s``, ``to_s``: arrays of the same length (one per mid-swing; NaN where
        the recording ends before the IC or starts after the TO), ``polarity`` (+1 or -1, the
        sign of forward swing in the input) and ``omega_deg_s`` (the signal with forward swing
        positive, 15 Hz low-passed).
    """
    t = np.asarray(t_s, dtype=np.float64)
    w = np.asarray(omega_deg_s, dtype=np.float64)
    fs = _rate_hz(t)
    slow = _lowpass(w, fs, MS_LOWPASS_HZ)
    polarity = 1.0 if np.percentile(slow, 99.5) >= -np.percentile(slow, 0.5) else -1.0
    slow, fast = polarity * slow, polarity * _lowpass(w, fs, EVENT_LOWPASS_HZ)
    pk, _ = sps.find_peaks(slow, height=MS_MIN_DEG_S, distance=max(1, int(MS_MIN_GAP_S * fs)))
    half = 0.5 * (float(np.median(np.diff(pk))) if pk.size > 1 else 1.2 * fs)
    ic, to = [], []
    for i, k in enumerate(pk):
        a = k + int(half) if k + int(half) < t.size else None
        if i + 1 < pk.size:
            a = min(a or pk[i + 1], pk[i + 1])
        ic.append(t[k + int(np.argmin(fast[k:a]))] if a is not None and a > k + 1 else np.nan)
        b = k - int(half)
        if i > 0:
            b = max(b, pk[i - 1])
        to.append(t[b + int(np.argmin(fast[b:k]))] if b >= 0 and k > b + 1 else np.nan)
    return {"ms_s": t[pk], "ic_s": np.array(ic), "to_s": np.array(to), "polarity": polarity, "omega_deg_s": fast}


def gait_cycles(ev: dict[str, Any], t_s=None, vertical_rate_deg_s=None) -> list[dict[str, Any]]:
    """Gait cycles (IC to next IC) of one leg from :func:`shank_events`, each with its times and
    whether it counts (steady walking, no turn); pure.

    ``vertical_rate_deg_s`` (angular velocity about the vertical, same times as ``t_s``) adds the
    turn check; without it ``turn_deg_s`` is None.
    """
    ic, to = ev["ic_s"], ev["to_s"]
    out = []
    for k in range(len(ic) - 1):
        a, b = ic[k], ic[k + 1]
        if not (np.isfinite(a) and np.isfinite(b)):
            continue
        toe = to[k + 1]  # the TO before the next mid-swing ends this cycle's stance
        stride = float(b - a)
        cyc = {
            "start_s": float(a),
            "end_s": float(b),
            "stride_s": stride,
            "stance_s": float(toe - a) if np.isfinite(toe) and a < toe < b else None,
            "turn_deg_s": None,
        }
        cyc["swing_s"] = None if cyc["stance_s"] is None else float(b - toe)
        if vertical_rate_deg_s is not None and t_s is not None:
            sel = (t_s >= a) & (t_s < b)
            cyc["turn_deg_s"] = float(abs(np.mean(vertical_rate_deg_s[sel]))) if sel.any() else None
        why = []
        if not STRIDE_RANGE_S[0] <= stride <= STRIDE_RANGE_S[1]:
            why.append(f"stride {stride:.2f} s is not walking ({STRIDE_RANGE_S[0]:g}-{STRIDE_RANGE_S[1]:g} s)")
        if cyc["turn_deg_s"] is not None and cyc["turn_deg_s"] > TURN_DEG_S:
            why.append(f"turning ({cyc['turn_deg_s']:.0f} deg/s about the vertical)")
        cyc["excluded_because"] = why
        out.append(cyc)
    for i, cyc in enumerate(out):
        why = (["first or last cycle of the walk (starting or stopping)"] if i in (0, len(out) - 1) else []) + cyc[
            "excluded_because"
        ]
        cyc["counted"] = not why
        cyc["excluded_because"] = "; ".join(why) or None
    return out


def symmetry_index_pct(left: float, right: float) -> float:
    """Robinson 1987 symmetry index, ``100 (right - left) / (0.5 (right + left))`` (%)."""
    mean = 0.5 * (left + right)
    return float(100.0 * (right - left) / mean) if mean > 0 else float("nan")


def step_times(ic_left, ic_right) -> dict[str, np.ndarray]:
    """Step times (s) of each side: from the other side's IC to this side's IC (pure).

    Only steps whose preceding contralateral IC lies within one step (the IC sequence alternates)
    are kept. Returns ``{"left": (times at IC, step s), "right": ...}`` as ``(n, 2)`` arrays.
    """
    ev = sorted(
        [(float(t), "left") for t in np.asarray(ic_left) if np.isfinite(t)]
        + [(float(t), "right") for t in np.asarray(ic_right) if np.isfinite(t)]
    )
    out: dict[str, list] = {"left": [], "right": []}
    for (t0, s0), (t1, s1) in itertools.pairwise(ev):
        if s0 != s1:
            out[s1].append((t1, t1 - t0))
    return {s: np.array(v, dtype=np.float64).reshape(-1, 2) for s, v in out.items()}


def _axis_index(axis, names: tuple[str, ...] = ("x", "y", "z")) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, str) and axis.lower().lstrip("+-") in names:
        return names.index(axis.lower().lstrip("+-"))
    if isinstance(axis, (int, np.integer)) and 0 <= int(axis) < len(names):
        return int(axis)
    raise MovekitError(f"gait: the sensor axis is one of {', '.join(names)}, not {axis!r}")


def assess_gait_shank(
    t_s,
    gyro: dict[str, np.ndarray],
    *,
    axis,
    unit: str = "deg/s",
    acc: dict[str, np.ndarray] | None = None,
    distance_m: float | None = None,
) -> AssessmentResult:
    """Gait from one or two shank IMUs (see the module docstring).

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s) shared by all signals.
    gyro : dict
        ``{"left": (n, 3), "right": (n, 3)}`` angular velocity, one or both sides; with one
        sensor of unknown side use the key ``"unknown"``.
    axis : str or int
        Which gyroscope axis (``x``, ``y``, ``z`` or 0-2) is the shank's medio-lateral axis (the
        axis the shank swings about). None is refused (sensor axis unknown).
    unit : {"deg/s", "rad/s"}
        Unit of ``gyro``.
    acc : dict, optional
        Accelerations of the same sensors (any unit): the axis carrying gravity gives the
        vertical for the turn check.
    distance_m : float, optional
        Distance walked in the recording (m), for the speed.
    """
    r = AssessmentResult("gait")
    r.cite(AMINIAN, SALARIAN)
    t = np.asarray(t_s, dtype=np.float64)
    gyro, ai = _shank_inputs(r, t, gyro, axis, unit)
    if ai is None or not r.valid:  # axis unknown, sampling rate or missing samples
        return r
    sides = list(gyro)
    r.add_metric("duration_s", float(t[-1] - t[0]), "s")
    events, cycles = _shank_cycles(r, t, gyro, ai, acc)
    counted = {s: [c for c in cycles[s] if c["counted"]] for s in sides}
    if not _check_cycles(r, sides, events, cycles, counted):
        return r
    _stride_metrics(r, sides, counted)
    _step_asymmetry(r, sides, events, counted)
    if distance_m is not None:
        _speed(r, sides, events, distance_m)
    return r


def _shank_inputs(r: AssessmentResult, t: np.ndarray, gyro: dict, axis, unit: str) -> tuple[dict, int | None]:
    """Checked inputs: each side's gyroscope in deg/s (gaps filled or refused), the swing axis index
    (None when unknown: refused with the axis turning most named); the rate check on ``r``."""
    if unit not in ("deg/s", "rad/s"):
        raise MovekitError(f"gait: gyroscope unit must be deg/s or rad/s, not {unit!r}")
    sides = [s for s in ("left", "right", "unknown") if s in gyro]
    if not sides or set(gyro) - {"left", "right", "unknown"}:
        raise MovekitError("gait: give the shank gyroscope(s) as left, right or unknown")
    if t.ndim != 1 or t.size < 2 or not np.all(np.diff(t) > 0):
        raise MovekitError("gait: the sample times must be one increasing series")
    filled = {s: _fill(np.asarray(gyro[s], dtype=np.float64).reshape(t.size, -1), t, r, s) for s in sides}
    fs = _rate_hz(t)
    r.check(
        "sampling_rate",
        fs >= MIN_RATE_HZ * (1 - 1e-3),
        f"sampled at {fs:.1f} Hz; gait events need >= {MIN_RATE_HZ:g} Hz",
        round(fs, 2),
        f">= {MIN_RATE_HZ:g} Hz",
    )
    scale = np.degrees(1.0) if unit == "rad/s" else 1.0
    ai = _axis_index(axis)
    if ai is None:
        g0 = np.asarray(filled[sides[0]], dtype=np.float64) * scale
        biggest = "xyz"[int(np.argmax(np.nanstd(g0, axis=0)))] if g0.ndim == 2 and g0.shape[1] == 3 else "?"
        r.check(
            "sensor_axis",
            False,
            "the gyroscope axis about which the shank swings is not given (sensor axis "
            f"unknown); the axis turning most in this recording is {biggest}",
            None,
            "x, y or z",
        )
        return filled, None
    r.check("sensor_axis", True, f"shank swings about the gyroscope's {'xyz'[ai]} axis", "xyz"[ai], "x, y or z")
    return {s: np.asarray(g, dtype=np.float64).reshape(t.size, -1) * scale for s, g in filled.items()}, ai


def _shank_cycles(r: AssessmentResult, t: np.ndarray, gyro: dict, ai: int, acc: dict | None) -> tuple[dict, dict]:
    """Each side's events (mid-swings, contacts) and gait cycles; the vertical for the turn check
    comes from the accelerometer axis carrying gravity (flagged when there is none)."""
    events, cycles = {}, {}
    for s, g in gyro.items():
        ev = shank_events(t, g[:, ai])
        vert = None
        if acc is not None and s in acc:
            a = np.asarray(acc[s], dtype=np.float64).reshape(t.size, -1)
            vi = int(np.argmax(np.abs(np.nanmedian(a, axis=0))))
            if vi != ai:
                vert = g[:, vi]
        events[s], cycles[s] = ev, gait_cycles(ev, t, vert)
        if vert is None:
            r.flag(
                "turns_not_checked",
                f"{s} shank: no accelerometer (or the vertical is the swing axis), so turns "
                "could not be detected: walk straight",
            )
    return events, cycles


def _check_cycles(r: AssessmentResult, sides: list, events: dict, cycles: dict, counted: dict) -> bool:
    """Counts, reps and the check that enough steady straight walking cycles were found."""
    turns = sum(1 for s in sides for c in cycles[s] if c["turn_deg_s"] is not None and c["turn_deg_s"] > TURN_DEG_S)
    if turns:
        r.flag(
            "turns_excluded",
            f"{turns} gait cycle(s) with a turn left out (rotation about the vertical above {TURN_DEG_S:g} deg/s)",
        )
    n_ok = min(len(v) for v in counted.values())
    r.add_metric("gait_cycles_count", int(sum(len(v) for v in counted.values())), "count")
    r.add_metric("mid_swings_count", int(sum(len(events[s]["ms_s"]) for s in sides)), "count")
    for s in sides:
        for i, c in enumerate(cycles[s]):
            r.reps.append({"side": s, "cycle": i + 1, **c})
    typical = float(np.median([c["stride_s"] for s in sides for c in cycles[s]] or [np.nan]))
    walking = bool(STRIDE_RANGE_S[0] <= typical <= STRIDE_RANGE_S[1])
    why = ""
    if not events[sides[0]]["ms_s"].size:
        why = f": no shank swing above {MS_MIN_DEG_S:g} deg/s found, this does not look like walking"
    elif not walking:
        why = (
            f"; the median cycle lasts {typical:.2f} s, outside {STRIDE_RANGE_S[0]:g}-{STRIDE_RANGE_S[1]:g} s: "
            "this does not look like walking"
        )
    return r.check(
        "gait_cycles",
        n_ok >= MIN_CYCLES and walking,
        f"{n_ok} steady straight gait cycle(s) per leg (first and last cycle, turns and non-walking "
        f"strides left out); >= {MIN_CYCLES} needed" + why,
        n_ok,
        f">= {MIN_CYCLES} per leg",
    )


def _stride_metrics(r: AssessmentResult, sides: list, counted: dict) -> None:
    """Stride time, its variation, cadence, and stance/swing per side (Perry 1992)."""
    strides = np.concatenate([[c["stride_s"] for c in counted[s]] for s in sides])
    r.add_metric("stride_time_s", float(np.mean(strides)), "s")
    r.add_metric("stride_time_cv_pct", float(100 * np.std(strides, ddof=1) / np.mean(strides)), "%")
    r.add_metric("cadence_steps_per_min", 120.0 / float(np.mean(strides)), "steps/min")
    for s in sides:
        st = [c["stance_s"] for c in counted[s] if c["stance_s"] is not None]
        sw = [c["swing_s"] for c in counted[s] if c["swing_s"] is not None]
        cyc = [c["stride_s"] for c in counted[s] if c["stance_s"] is not None]
        tag = "" if s == "unknown" else f"_{s}"
        pct = float(100 * np.sum(st) / np.sum(cyc)) if st else None
        if pct is not None and pct <= MIN_STANCE_PCT:
            r.flag(
                "stance_not_walking",
                f"{s} leg: contacts found give stance {pct:.0f}% of the gait cycle, but walking always "
                f"has stance over {MIN_STANCE_PCT:g}% (double support; Perry & Burnfield 2010): these "
                "are not a shank's contacts (is the sensor on the shank, e.g. not the thigh, and --axis "
                "the axis it swings about?); stance and swing are not given, cadence and stride time are",
            )
            st, sw, pct = [], [], None
        r.add_metric(f"stance_time{tag}_s", float(np.mean(st)) if st else None, "s")
        r.add_metric(f"swing_time{tag}_s", float(np.mean(sw)) if sw else None, "s")
        r.add_metric(f"stance{tag}_pct", pct, "%")
    r.cite(PERRY)


def _step_asymmetry(r: AssessmentResult, sides: list, events: dict, counted: dict) -> None:
    """Left and right step times and their symmetry index (Robinson 1987), with two shanks only."""
    if len([s for s in sides if s != "unknown"]) != 2:
        for name in ("step_time_left_s", "step_time_right_s"):
            r.add_metric(name, None, "s")
        r.add_metric("step_time_asymmetry_pct", None, "%")
        r.flag(
            "one_shank",
            "one shank sensor: the other leg's contacts are not seen, so step times left/right and "
            "their asymmetry are not measured; cadence assumes two steps per stride",
        )
        return
    win = (
        max(min(c["start_s"] for c in counted[s]) for s in ("left", "right")),
        min(max(c["end_s"] for c in counted[s]) for s in ("left", "right")),
    )
    steps = step_times(events["left"]["ic_s"], events["right"]["ic_s"])
    mean = {}
    for s in ("left", "right"):
        v = steps[s]
        v = v[(v[:, 0] >= win[0]) & (v[:, 0] <= win[1])]
        mean[s] = float(np.mean(v[:, 1])) if len(v) else float("nan")
        r.add_metric(f"step_time_{s}_s", mean[s], "s")
    r.add_metric("step_time_asymmetry_pct", symmetry_index_pct(mean["left"], mean["right"]), "%")
    r.add_metric(
        "stance_asymmetry_pct",
        symmetry_index_pct(r.value("stance_time_left_s") or np.nan, r.value("stance_time_right_s") or np.nan),
        "%",
    )
    r.cite(ROBINSON)


def _speed(r: AssessmentResult, sides: list, events: dict, distance_m) -> None:
    """Gait speed from the distance walked over the span of the detected initial contacts."""
    if not (isinstance(distance_m, (int, float)) and np.isfinite(distance_m) and distance_m > 0):
        raise MovekitError(f"gait: the distance walked must be a positive number of metres, not {distance_m!r}")
    ics = np.concatenate([events[s]["ic_s"] for s in sides])
    ics = ics[np.isfinite(ics)]
    span = float(ics.max() - ics.min())
    r.add_metric("gait_speed_m_per_s", distance_m / span if span > 0 else None, "m/s")
    r.flag(
        "speed_from_distance",
        f"speed = {distance_m:g} m / {span:.2f} s from the first to the last initial "
        "contact detected; the distance must be the distance walked in that time",
    )


def assess_gait(trial, *, axis=None, side: str | None = None, distance_m: float | None = None) -> AssessmentResult:
    """Gait from the shank gyroscope stream(s) of a trial (:class:`movekit.assess.sources.Trial`).

    Gyroscope streams are device streams in deg/s or rad/s with three channels; with two, their
    names must say ``left`` and ``right``. A same-device accelerometer stream (name ending
    ``acc`` instead of ``gyro``) is used for the turn check. ``axis`` as
    :func:`assess_gait_shank` (default: the trial metadata's ``gait_axis``).
    """
    gyros = {
        n: st
        for n, st in trial.streams.items()
        if st.spec.unit in ("deg/s", "rad/s") and int(np.prod(st.spec.shape)) == 3
    }
    if not gyros:
        raise MovekitError(f"{trial.source}: gait needs a shank gyroscope stream (deg/s or rad/s, 3 axes); none found")
    if len(gyros) > 2:
        raise MovekitError(f"{trial.source}: {len(gyros)} gyroscope streams; gait reads one or two shanks")
    units = {st.spec.unit for st in gyros.values()}
    if len(units) > 1:
        raise MovekitError(f"{trial.source}: the gyroscope streams have different units ({', '.join(units)})")
    names = list(gyros)
    if len(names) == 2:
        lab = {n: ("left" if "left" in n.lower() else "right" if "right" in n.lower() else None) for n in names}
        if None in lab.values() or len(set(lab.values())) < 2:
            raise MovekitError(
                f"{trial.source}: two gyroscope streams ({', '.join(names)}) but their names do not "
                "say which is the left and which the right shank"
            )
    else:
        lab = {names[0]: side or "unknown"}
    t = gyros[names[0]].t_s
    gyro, acc = {}, {}
    for n, st in gyros.items():
        d = np.asarray(st.data, dtype=np.float64).reshape(len(st.t_s), 3)
        gyro[lab[n]] = np.column_stack([np.interp(t, st.t_s, d[:, i]) for i in range(3)])
        an = n[: -len("gyro")] + "acc" if n.endswith("gyro") else None
        if an in trial.streams:
            sa = trial.streams[an]
            da = sa.channels.astype(np.float64)
            acc[lab[n]] = np.column_stack([np.interp(t, sa.t_s, da[:, i]) for i in range(da.shape[1])])
    axis = axis if axis is not None else (trial.metadata or {}).get("gait_axis")
    return assess_gait_shank(t, gyro, axis=axis, unit=next(iter(units)), acc=acc or None, distance_m=distance_m)


__all__ = ["assess_gait", "assess_gait_shank", "gait_cycles", "shank_events", "step_times", "symmetry_index_pct"]
