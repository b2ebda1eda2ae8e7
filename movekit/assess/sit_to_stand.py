"""Sit-to-stand: 30-second chair stand count and five-times sit-to-stand time, with per-rep times.

The rise signal is the height of the mid-hip above the mid-ankle over the standing leg length
(image px, so it works from a side or a front view): ~1 standing, ~0.5 seated on a standard
chair. A stand is reached when the signal passes 80 % of the way from the seated to the standing
level, seated again below 20 % (hysteresis).

* 30-s chair stand (Rikli & Jones 1999, Development and validation of a functional fitness test
  for community-residing older adults, J Aging Phys Act 7:129-161): full stands in 30 s from the
  start of the first rise; a stand more than halfway up at 30 s counts.
* Five-times sit-to-stand: time from the start of the first rise until seated after the fifth
  stand (Csuka & McCarty 1985 protocol); slower than average above 11.4 / 12.6 / 14.8 s at ages
  60-69 / 70-79 / 80-89 (Bohannon 2006, Reference values for the five-repetition sit-to-stand
  test: a descriptive meta-analysis of data from elders, Percept Mot Skills 103:215-222).
"""

from __future__ import annotations

import warnings

import numpy as np

from movekit.analysis import landmarks as lm
from movekit.assess._pose import analyse_pose, leg_length_px
from movekit.assess.result import AssessmentResult

RIKLI = (
    "Rikli & Jones 1999, Development and validation of a functional fitness test for "
    "community-residing older adults, J Aging Phys Act 7:129-161 (30-s chair stand)"
)
BOHANNON_STS = (
    "Bohannon 2006, Reference values for the five-repetition sit-to-stand test: a "
    "descriptive meta-analysis of data from elders, Percept Mot Skills 103:215-222"
)
CSUKA = "Csuka & McCarty 1985, Simple method for measurement of lower extremity muscle strength, Am J Med 78:77-81"
FTSTS_NORMS_S = ((60, 69, 11.4), (70, 79, 12.6), (80, 89, 14.8))  #: Bohannon 2006
STAND_FRACTION, SIT_FRACTION = 0.8, 0.2
ONSET_FRACTION = 0.05  #: movement onset / end: within 5 % of the range of the seated (standing) level
MIN_RANGE = 0.15  #: the hip must move by at least this fraction of leg length to count as sit-stand
SEATED_MAX, STANDING_MIN = 0.8, 0.85  #: seated hips below 0.8 leg lengths, standing above 0.85
MIN_TRANSITION_S = 0.3  #: a rise or a sit faster than this is a jump or a tracking jump, not a chair rise


def rise_signal(points_px) -> np.ndarray:
    """Mid-hip height above the mid-ankle over the standing leg length (frames,), ~1 standing."""
    p = np.asarray(points_px, dtype=np.float64)
    hip = 0.5 * (p[:, 23, 1] + p[:, 24, 1])
    ank = 0.5 * (p[:, 27, 1] + p[:, 28, 1])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        leg = np.nanmean([leg_length_px(p, s) for s in lm.SIDES], axis=0)
    leg_ref = np.nanpercentile(leg, 90) if np.isfinite(leg).any() else np.nan
    return (ank - hip) / leg_ref


def transitions(t_s, h) -> tuple[list[dict], dict]:
    """Rises and sits from a rise signal (pure).

    Returns ``(reps, levels)``: each rep ``{"rise_start_s", "stand_s", "sit_start_s", "seated_s"}``
    (the last two None when the recording ends standing), and the seated/standing levels.
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(h, dtype=np.float64)
    ok = np.isfinite(x)
    if ok.sum() < 5:
        return [], {}
    lo, hi = np.nanpercentile(x, [5, 95])
    levels = {"seated": float(lo), "standing": float(hi)}
    if hi - lo < MIN_RANGE or lo > SEATED_MAX or hi < STANDING_MIN:
        return [], levels
    up = lo + STAND_FRACTION * (hi - lo)
    down = lo + SIT_FRACTION * (hi - lo)
    rest = lo + ONSET_FRACTION * (hi - lo)
    full = lo + (1.0 - ONSET_FRACTION) * (hi - lo)
    idx = np.flatnonzero(ok)
    reps: list[dict] = []
    state = "stand" if x[idx[0]] > 0.5 * (lo + hi) else "sit"
    last_rest = last_full = None  # last frame seated at rest / fully standing
    pending = None  # a sit-down waiting for the hips to come to rest
    cur = None
    for i in idx:
        if state == "sit":
            if x[i] <= rest:
                last_rest = i
                if pending is not None and pending["seated_s"] is None:
                    pending["seated_s"] = float(t[i])
            elif x[i] >= up:
                if pending is not None and pending["seated_s"] is None:
                    pending["seated_s"] = pending.pop("_down_s")
                start = last_rest if last_rest is not None else None
                if start is not None:
                    cur = {"rise_start_s": float(t[start]), "stand_s": None, "sit_start_s": None, "seated_s": None}
                    reps.append(cur)
                state, last_full = "stand", None
        if state == "stand":
            if cur is not None and cur["stand_s"] is None and x[i] >= full:
                cur["stand_s"] = float(t[i])
            if x[i] >= full:
                last_full = i
            elif x[i] <= down:
                if cur is not None:
                    if cur["stand_s"] is None:
                        cur["stand_s"] = float(t[i])
                    cur["sit_start_s"] = float(t[last_full]) if last_full is not None else float(t[i])
                    cur["_down_s"] = float(t[i])
                    pending = cur
                state, last_rest = "sit", None
    for rp in reps:
        down_s = rp.pop("_down_s", None)
        if rp["sit_start_s"] is not None and rp["seated_s"] is None:
            rp["seated_s"] = down_s
        if rp["stand_s"] is None:
            rp["stand_s"] = rp["rise_start_s"]
    reps = [rp for rp in reps if plausible(rp)]
    return reps, levels


def plausible(rep: dict) -> bool:
    """A chair rise and sit take at least 0.3 s each (a faster "rise" is a jump or a tracking jump)."""
    if rep["stand_s"] - rep["rise_start_s"] < MIN_TRANSITION_S:
        return False
    return rep["seated_s"] is None or rep["seated_s"] - rep["sit_start_s"] >= MIN_TRANSITION_S


def _half_up(t, x, t30, levels) -> bool:
    if not levels or not np.isfinite(t30) or t30 > t[-1]:
        return False
    v = float(np.interp(t30, t[np.isfinite(x)], x[np.isfinite(x)]))
    return v >= 0.5 * (levels["seated"] + levels["standing"])


def sit_to_stand(t_s, h, *, age: float | None = None, result: AssessmentResult | None = None) -> AssessmentResult:
    """30-s count, five-times time and per-rep times from a rise signal (see the module docstring)."""
    r = result or AssessmentResult("sit-to-stand")
    r.cite(RIKLI, BOHANNON_STS, CSUKA)
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(h, dtype=np.float64)
    reps, levels = transitions(t, x)
    lv = ""
    if levels:
        lv = (
            f" (hip height {levels['seated']:.2f} to {levels['standing']:.2f} leg lengths; a chair rise "
            f"goes from below {SEATED_MAX:g} to above {STANDING_MIN:g}, each way taking >= "
            f"{MIN_TRANSITION_S:g} s)"
        )
    if not r.check(
        "movement", bool(reps), f"{len(reps)} sit-to-stand rise(s) found" + ("" if reps else lv), len(reps), ">= 1"
    ):
        return r
    t0 = reps[0]["rise_start_s"]
    for k, rp in enumerate(reps):
        rp["rep"] = k + 1
        rp["rise_time_s"] = rp["stand_s"] - rp["rise_start_s"]
        nxt = reps[k + 1]["rise_start_s"] if k + 1 < len(reps) else rp["seated_s"]
        rp["rep_time_s"] = (nxt - rp["rise_start_s"]) if nxt is not None else None
    r.reps = reps
    r.add_metric("stands_count", len(reps), "count")
    t30 = t0 + 30.0
    if t[np.isfinite(x)][-1] >= t30:
        n30 = sum(1 for rp in reps if rp["stand_s"] <= t30)
        if _half_up(t, x, t30, levels) and not any(
            rp["stand_s"] <= t30 and (rp["seated_s"] or np.inf) > t30 for rp in reps
        ):
            n30 += 1  # more than halfway up at 30 s counts as a stand (Rikli & Jones 1999)
        r.add_metric("chair_stand_30s_count", n30, "count")
    else:
        r.add_metric("chair_stand_30s_count", None, "count")
        r.flag(
            "shorter_than_30s",
            f"the recording ends {t[np.isfinite(x)][-1] - t0:.1f} s after the first rise: the 30-s count needs 30 s",
        )
    if len(reps) >= 5 and reps[4]["seated_s"] is not None:
        ft = reps[4]["seated_s"] - t0
        norms = [(lo, hi, norm) for lo, hi, norm in FTSTS_NORMS_S if age is not None and lo <= age <= hi]
        normal = (
            f"<= {norms[0][2]:g} s on average for ages {norms[0][0]}-{norms[0][1]} (Bohannon 2006)" if norms else None
        )
        r.add_metric("five_times_sts_time_s", ft, "s", normal=normal)
        for lo, hi, norm in FTSTS_NORMS_S:
            if age is not None and lo <= age <= hi and ft > norm:
                r.flag(
                    "slower_than_average",
                    f"five-times sit-to-stand {ft:.1f} s is slower than average "
                    f"for age {age:g} (> {norm:g} s, Bohannon 2006)",
                )
    else:
        r.add_metric("five_times_sts_time_s", None, "s")
        r.flag("fewer_than_5", f"{len(reps)} stand(s) completed with a final sit: the five-times test needs 5")
    times = [rp["rep_time_s"] for rp in reps if rp["rep_time_s"] is not None]
    r.add_metric("mean_rep_time_s", float(np.mean(times)) if times else None, "s")
    return r


def assess_sit_to_stand(pose, *, age: float | None = None) -> AssessmentResult:
    """Sit-to-stand from video (side or front view)."""
    r = AssessmentResult("sit-to-stand")
    pd = analyse_pose(pose, r, need_view="any", landmarks=[23, 24, 25, 26, 27, 28], min_duration_s=2.0)
    if pd is None:
        return r
    h = np.where(pd.usable, rise_signal(pd.points), np.nan)
    return sit_to_stand(pd.t_s, h, age=age, result=r)
