"""Joint position sense: reposition error from an inclinometer or goniometer angle recording.

Protocol read from the angle alone: the client starts at rest, is shown a target position (held),
returns, then reproduces the target actively (held), several times. Holds are still periods:
the angle, low-passed at :data:`LOWPASS_HZ`, moves slower than ``max_speed_deg_s`` for at least
``min_hold_s``; a hold's angle is the median over it. The first hold is the start (rest)
position; with ``protocol="target"`` (e.g. knee, Goble 2010) the first hold away from it is the
target and later holds away from it are the reproductions; with ``protocol="return_to_start"``
(cervical head-to-neutral repositioning, Revel et al. 1991) the start position is the target and
every later hold back near it (after a movement away) is a reproduction. "Away" means more than
half the largest excursion from the start, and more than :data:`MIN_EXCURSION_DEG`. A target
measured otherwise (a set angle) can be given as ``target_deg``: then every hold away from the
start is a reproduction.

Errors per reproduction ``e = reproduced - target`` (deg), and over the trials (Schmidt & Lee
2011; as used for joint position matching, Goble 2010): absolute error ``AE = mean |e|``,
constant error ``CE = mean e`` (signed bias: overshoot positive when angles grow with the
movement), variable error ``VE = sqrt(mean (e - CE)^2)`` (the spread, population form).

Normal limits, stated as the literature gives them: for cervical head-to-neutral
repositioning, a mean error above 4.5 deg is the cut-off commonly cited from Revel et al. 1991
(their errors were measured in cm on a target 90 cm away; verify before clinical use). For the
knee no single normal limit is applied here: reviews of the methods (Goble 2010; Hillier et al.
2015) show errors depend on the protocol (active or passive, target angle, limb, weight
bearing), so compare a client with themself over time or with norms for the same protocol.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal as sps

from movekit.analysis.filters import true_runs
from movekit.assess.result import AssessmentResult
from movekit.errors import MovekitError

REVEL = (
    "Revel, Andre-Deshays & Minguet 1991, Cervicocephalic kinesthetic sensibility in patients with "
    "cervical pain, Arch Phys Med Rehabil 72:288-291"
)
GOBLE = (
    "Goble 2010, Proprioceptive acuity assessment via joint position matching: from basic science to "
    "general practice, Phys Ther 90:1176-1184"
)
HILLIER = (
    "Hillier, Immink & Thewlis 2015, Assessing proprioception: a systematic review of possibilities, "
    "Neurorehabil Neural Repair 29:933-949"
)
SCHMIDT = "Schmidt & Lee 2011, Motor Control and Learning, 5th ed. (absolute, constant and variable error)"

#: cervical head-to-neutral mean error above which repositioning is commonly called impaired (deg),
#: as cited from Revel 1991 (see module docstring)
REVEL_LIMIT_DEG = 4.5
LOWPASS_HZ = 3.0  #: low-pass before the speed threshold (engineering choice; holds are slower)
#: A hold moves slower than this (deg/s) after the low-pass: the noise of a still PLUX goniometer
#: is ~0.1 deg and a deliberate movement is tens of deg/s. An engineering bound.
MAX_SPEED_DEG_S = 5.0
#: Shortest hold (s). Protocols hold the target and the reproduction for seconds (Goble 2010
#: describes holds of a few seconds); 1 s is an engineering bound below that.
MIN_HOLD_S = 1.0
#: A position counts as away from the start only beyond this (deg) as well as beyond half the
#: largest excursion: JPS targets lie tens of degrees from the start, while a client settling
#: at rest drifts by a degree or two. An engineering bound.
MIN_EXCURSION_DEG = 5.0
MIN_REPRODUCTIONS = 3  #: trials needed for a variable error worth reporting (engineering bound)
MIN_RATE_HZ = 10.0  #: a hold of 1 s needs ~10 samples (engineering bound; WitMotion's default rate)
PROTOCOLS = ("target", "return_to_start")


def holds(
    t_s,
    angle_deg,
    *,
    max_speed_deg_s: float = MAX_SPEED_DEG_S,
    min_hold_s: float = MIN_HOLD_S,
    lowpass_hz: float = LOWPASS_HZ,
) -> list[dict[str, float]]:
    """Still periods of an angle signal (pure).

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s), increasing.
    angle_deg : array (n,)
        Joint or segment angle (deg); NaN samples are never part of a hold.
    max_speed_deg_s, min_hold_s, lowpass_hz : float
        Speed bound of a hold, its shortest duration, the low-pass before the speed.

    Returns
    -------
    list of dict
        ``start_s``, ``end_s``, ``angle_deg`` (median of the raw angle over the hold),
        ``sd_deg`` (its standard deviation), in time order.
    """
    t = np.asarray(t_s, dtype=np.float64)
    a = np.asarray(angle_deg, dtype=np.float64)
    fin = np.isfinite(a) & np.isfinite(t)
    if fin.sum() < 4:
        return []
    fs = 1.0 / float(np.median(np.diff(t[fin])))
    filled = np.interp(t, t[fin], a[fin])
    sm = (
        sps.sosfiltfilt(sps.butter(2, min(lowpass_hz, 0.4 * fs), fs=fs, output="sos"), filled)
        if fin.sum() > 15
        else filled
    )
    still = (np.abs(np.gradient(sm, t)) < max_speed_deg_s) & fin
    out = []
    for s, e in true_runs(still):
        if t[e - 1] - t[s] >= min_hold_s:
            seg = a[s:e][np.isfinite(a[s:e])]
            out.append(
                {
                    "start_s": float(t[s]),
                    "end_s": float(t[e - 1]),
                    "angle_deg": float(np.median(seg)),
                    "sd_deg": float(np.std(seg)),
                }
            )
    return out


def reposition_errors(target_deg: float, reproduced_deg) -> dict[str, Any]:
    """Absolute, constant and variable error (deg) of reproductions of one target (pure).

    ``VE`` is the population standard deviation of the signed errors (Schmidt & Lee 2011).
    """
    e = np.asarray(reproduced_deg, dtype=np.float64) - float(target_deg)
    if e.size == 0:
        nan = float("nan")
        return {"errors_deg": [], "absolute_error_deg": nan, "constant_error_deg": nan, "variable_error_deg": nan}
    ce = float(np.mean(e))
    return {
        "errors_deg": [float(x) for x in e],
        "absolute_error_deg": float(np.mean(np.abs(e))),
        "constant_error_deg": ce,
        "variable_error_deg": float(np.sqrt(np.mean((e - ce) ** 2))),
    }


def classify_holds(
    hs: list[dict[str, float]], protocol: str = "target", target_deg: float | None = None
) -> tuple[float | None, list[dict], str]:
    """Target angle and reproduction holds from the holds of a trial (see the module docstring).

    Returns ``(target_deg or None, reproductions, how the target was found)``.
    """
    if protocol not in PROTOCOLS:
        raise MovekitError(f"joint position sense: protocol is one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    if not hs:
        return None, [], "no holds"
    start = hs[0]["angle_deg"]
    exc = [abs(h["angle_deg"] - start) for h in hs]
    if target_deg is not None:
        far = max(0.5 * abs(target_deg - start), MIN_EXCURSION_DEG)
        return float(target_deg), [h for h, x in zip(hs[1:], exc[1:]) if x > far], "given"
    half = max(0.5 * max(exc), MIN_EXCURSION_DEG)
    if protocol == "return_to_start":
        reps, away = [], False
        for h, x in zip(hs[1:], exc[1:]):
            if x > half:
                away = True
            elif away:
                reps.append(h)
                away = False
        return start, reps, "start position"
    away = [h for h, x in zip(hs[1:], exc[1:]) if x > half]
    if not away:
        return None, [], "no hold away from the start"
    return away[0]["angle_deg"], away[1:], f"first hold away from the start ({away[0]['start_s']:.2f} s)"


def assess_jps(
    t_s,
    angle_deg,
    *,
    protocol: str = "target",
    joint: str | None = None,
    target_deg: float | None = None,
    max_speed_deg_s: float = MAX_SPEED_DEG_S,
    min_hold_s: float = MIN_HOLD_S,
    source: str = "inclinometer",
) -> AssessmentResult:
    """Joint position sense from one angle signal (see the module docstring).

    Parameters
    ----------
    t_s, angle_deg : array (n,)
        Times (s) and the angle (deg) of the inclinometer or goniometer.
    protocol : {"target", "return_to_start"}
        Target-matching (the first hold away from the start is the target) or head-to-neutral
        repositioning (the start is the target).
    joint : str, optional
        ``"cervical"`` adds the Revel 1991 cut-off; ``"knee"`` and others add none.
    target_deg : float, optional
        A target angle set and measured otherwise.

    Returns
    -------
    AssessmentResult
        ``test = "joint-position-sense"``; metrics ``target_angle_deg``,
        ``absolute_error_deg``, ``constant_error_deg``, ``variable_error_deg``,
        ``reproductions_count``, ``holds_count``; one rep per reproduction.
    """
    r = AssessmentResult("joint-position-sense")
    r.cite(GOBLE, HILLIER, SCHMIDT)
    t = np.asarray(t_s, dtype=np.float64)
    a = np.asarray(angle_deg, dtype=np.float64)
    if t.shape != a.shape or t.ndim != 1:
        raise MovekitError("joint position sense: times and angles must be two arrays of the same length")
    if protocol not in PROTOCOLS:
        raise MovekitError(f"joint position sense: protocol is one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    if joint == "cervical":
        r.cite(REVEL)
        if protocol != "return_to_start":
            r.flag(
                "revel_protocol",
                "the Revel 1991 limit is for head-to-neutral repositioning (protocol return_to_start); not applied",
            )
    if not _rate_check(r, t):
        return r
    hs = holds(t, a, max_speed_deg_s=max_speed_deg_s, min_hold_s=min_hold_s)
    r.add_metric("holds_count", len(hs), "count")
    target, reps, how = classify_holds(hs, protocol, target_deg)
    r.add_metric("target_angle_deg", target, "deg")
    if not r.check(
        "target",
        target is not None,
        f"target {target:.1f} deg ({how})"
        if target is not None
        else f"no target position found: {len(hs)} hold(s) still for >= {min_hold_s:g} s (moving slower than "
        f"{max_speed_deg_s:g} deg/s), none away from the start position",
        None if target is None else round(target, 2),
        "a hold away from the start",
    ):
        return r
    ok = r.check(
        "reproductions",
        len(reps) >= MIN_REPRODUCTIONS,
        f"{len(reps)} reproduction(s) held for >= {min_hold_s:g} s; >= {MIN_REPRODUCTIONS} needed",
        len(reps),
        f">= {MIN_REPRODUCTIONS}",
    )
    r.add_metric("reproductions_count", len(reps), "count")
    err = reposition_errors(target, [h["angle_deg"] for h in reps])
    _add_errors(r, reps, err, ok)
    if not ok:
        return r
    _flag_limit(r, joint, protocol, err["absolute_error_deg"])
    r.flag("source", f"{source}; holds: still for >= {min_hold_s:g} s, slower than {max_speed_deg_s:g} deg/s")
    return r


def _rate_check(r: AssessmentResult, t: np.ndarray) -> bool:
    """The ``sampling_rate`` check: holds need >= :data:`MIN_RATE_HZ` (Hz, median of the time steps)."""
    fin = np.isfinite(t)
    rate = 1.0 / float(np.median(np.diff(t[fin]))) if fin.sum() > 1 else 0.0
    return r.check_rate(rate, MIN_RATE_HZ, f"sampled at {rate:.1f} Hz; holds need >= {MIN_RATE_HZ:g} Hz")


def _add_errors(r: AssessmentResult, reps: list[dict], err: dict, ok: bool) -> None:
    """One rep per reproduction and the absolute, constant and variable errors (deg; Schmidt & Lee 2011)."""
    for i, (h, e) in enumerate(zip(reps, err["errors_deg"])):
        r.reps.append(
            {
                "trial": i + 1,
                "start_s": h["start_s"],
                "end_s": h["end_s"],
                "reproduced_deg": h["angle_deg"],
                "error_deg": e,
                "hold_sd_deg": h["sd_deg"],
            }
        )
    for k in ("absolute_error_deg", "constant_error_deg", "variable_error_deg"):
        r.add_metric(k, err[k] if ok else None, "deg")


def _flag_limit(r: AssessmentResult, joint: str | None, protocol: str, abs_error_deg: float) -> None:
    """The Revel 1991 cervical limit (:data:`REVEL_LIMIT_DEG`) where it applies; otherwise say none is applied."""
    if joint == "cervical":
        if protocol == "return_to_start" and abs_error_deg > REVEL_LIMIT_DEG:
            r.flag(
                "above_revel_limit",
                f"absolute error {abs_error_deg:.1f} deg is above the "
                f"{REVEL_LIMIT_DEG:g} deg commonly cited from Revel 1991 for cervical repositioning",
            )
    else:
        r.flag(
            "no_normal_limit",
            "no single published normal limit is applied for this joint and protocol: "
            "compare with the client's own earlier results or norms for the same protocol",
        )


def assess_jps_session(trial, *, channel: str | None = None, **options) -> AssessmentResult:
    """Joint position sense from the angle stream of a trial: a device stream in deg (a BLE
    inclinometer, an IMU's angle stream) or a CSV table column ending ``_deg``. With more than
    one angle channel, ``channel`` names it (``<stream>_<channel>`` or the CSV column)."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    tab = trial.table or {}
    for name, v in tab.items():
        if name.endswith("_deg") and "time_s" in tab:
            found[name] = (tab["time_s"], v)
    for sname, st in trial.streams.items():
        if st.spec.unit != "deg" or st.spec.kind in ("pose_image", "pose_world", "live_angles"):
            continue  # the camera's own angles: one camera measures no joint angle within 5 deg (docs/validity.md)
        d = st.channels.astype(np.float64)
        for i, c in enumerate(st.spec.channel_names or [f"ch{i}" for i in range(d.shape[1])]):
            found[f"{sname}_{c}"] = (st.t_s, d[:, i])
    if not found:
        raise MovekitError(
            f"{trial.source}: joint position sense needs an angle stream in deg "
            "(inclinometer or goniometer); none found (a camera's angles do not count: one camera "
            "measures no joint angle within 5 deg, docs/validity.md)"
        )
    if channel is None and len(found) > 1:
        raise MovekitError(
            f"{trial.source}: {len(found)} angle channels ({', '.join(sorted(found))}); "
            "name the one to assess with --channel"
        )
    key = channel if channel is not None else next(iter(found))
    if key not in found:
        raise MovekitError(f"{trial.source}: no angle channel {key!r}; found {', '.join(sorted(found))}")
    return assess_jps(*found[key], source=f"angle channel {key}", **options)


__all__ = ["assess_jps", "assess_jps_session", "classify_holds", "holds", "reposition_errors"]
