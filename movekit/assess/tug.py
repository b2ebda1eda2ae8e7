"""Timed Up and Go: total time and phases (rise, walk out, turn, walk back, sit).

Total time from the start of the rise to seated again. ``>= 13.5 s`` flags fall risk in
community-dwelling older adults (Shumway-Cook et al. 2000, Predicting the probability for falls
in community-dwelling older adults using the Timed Up & Go Test, Phys Ther 80:896-903); average
times 8.1 / 9.2 / 11.3 s at ages 60-69 / 70-79 / 80-99 (Bohannon 2006, Reference values for the
timed up and go test: a descriptive meta-analysis, J Geriatr Phys Ther 29:64-68).

Rise and sit come from the rise signal of :mod:`movekit.assess.sit_to_stand`. The walk is
followed by the mid-hip's horizontal image position in a side view, or by the apparent trunk
length (smaller = farther) in a front view; the turn is the stretch around the farthest point
where the progress speed is below half the walking speed.
"""

from __future__ import annotations

import numpy as np

from movekit.analysis.view import trunk_length_px
from movekit.assess._pose import analyse_pose
from movekit.assess.result import AssessmentResult
from movekit.assess.sit_to_stand import rise_signal, transitions

SHUMWAY = (
    "Shumway-Cook et al. 2000, Predicting the probability for falls in community-dwelling "
    "older adults using the Timed Up & Go Test, Phys Ther 80:896-903 (>= 13.5 s)"
)
BOHANNON_TUG = (
    "Bohannon 2006, Reference values for the timed up and go test: a descriptive "
    "meta-analysis, J Geriatr Phys Ther 29:64-68"
)
TUG_NORMS_S = ((60, 69, 8.1), (70, 79, 9.2), (80, 99, 11.3))
FALL_RISK_S = 13.5
MIN_WALK_S = 2.0  #: standing time between rise and sit: 3 m out and back cannot take less


def tug_phases(t_s, h, progress) -> dict | None:
    """Phase boundaries (s) from a rise signal and a progress signal (distance from the chair in
    any unit; pure). None when no rise followed by a sit is found."""
    t = np.asarray(t_s, dtype=np.float64)
    reps, _ = transitions(t, h)
    reps = [rp for rp in reps if rp["seated_s"] is not None]
    if not reps:
        return None
    rp = reps[0]
    out = {
        "rise_start_s": rp["rise_start_s"],
        "stand_s": rp["stand_s"],
        "sit_start_s": rp["sit_start_s"],
        "seated_s": rp["seated_s"],
        "turn_start_s": None,
        "turn_end_s": None,
    }
    d = np.asarray(progress, dtype=np.float64)
    sel = (t >= rp["stand_s"]) & (t <= rp["sit_start_s"]) & np.isfinite(d)
    if sel.sum() < 10:
        return out
    ts, ds = t[sel], d[sel] - d[sel][0]
    if np.nanmax(np.abs(ds)) <= 0:
        return out
    ds = ds * np.sign(ds[np.argmax(np.abs(ds))])  # farther = larger
    k = int(np.argmax(ds))
    v = np.gradient(ds, ts)
    walk = np.nanpercentile(np.abs(v), 90)
    slow = np.abs(v) < 0.5 * walk
    a = k
    while a > 0 and slow[a - 1]:
        a -= 1
    b = k
    while b < len(ts) - 1 and slow[b + 1]:
        b += 1
    if 0 < a and b < len(ts) - 1:
        out["turn_start_s"], out["turn_end_s"] = float(ts[a]), float(ts[b])
    return out


def tug(t_s, h, progress, *, age: float | None = None, result: AssessmentResult | None = None) -> AssessmentResult:
    """TUG result from a rise signal and a progress signal (see :func:`tug_phases`)."""
    r = result or AssessmentResult("tug")
    r.cite(SHUMWAY, BOHANNON_TUG)
    ph = tug_phases(t_s, h, progress)
    if not r.check(
        "movement",
        ph is not None,
        "a rise from the chair and a sit back down" + (" were found" if ph else " were not both found: no TUG time"),
        ph is not None,
        True,
    ):
        return r
    upright = ph["sit_start_s"] - ph["stand_s"]
    if not r.check(
        "walk",
        upright >= MIN_WALK_S,
        f"standing for {upright:.1f} s between the rise and the sit"
        + (
            ""
            if upright >= MIN_WALK_S
            else f": too short for a 3 m walk out and back (>= {MIN_WALK_S:g} s), so this is not a TUG"
        ),
        round(upright, 3),
        f">= {MIN_WALK_S:g} s",
    ):
        return r
    total = ph["seated_s"] - ph["rise_start_s"]
    norms = [(lo, hi, norm) for lo, hi, norm in TUG_NORMS_S if age is not None and lo <= age <= hi]
    normal = f"<= {norms[0][2]:g} s on average for ages {norms[0][0]}-{norms[0][1]} (Bohannon 2006)" if norms else None
    r.add_metric("tug_time_s", total, "s", normal=normal)
    r.add_metric("rise_time_s", ph["stand_s"] - ph["rise_start_s"], "s")
    r.add_metric("sit_time_s", ph["seated_s"] - ph["sit_start_s"], "s")
    if ph["turn_start_s"] is not None:
        r.add_metric("walk_out_time_s", ph["turn_start_s"] - ph["stand_s"], "s")
        r.add_metric("turn_time_s", ph["turn_end_s"] - ph["turn_start_s"], "s")
        r.add_metric("walk_back_time_s", ph["sit_start_s"] - ph["turn_end_s"], "s")
    else:
        for k in ("walk_out_time_s", "turn_time_s", "walk_back_time_s"):
            r.add_metric(k, None, "s")
        r.flag("no_turn", "the turn could not be located (walk not followed in view): walk and turn times not given")
    r.reps = [ph]
    if total >= FALL_RISK_S:
        r.flag("fall_risk", f"TUG {total:.1f} s >= {FALL_RISK_S:g} s: increased fall risk (Shumway-Cook 2000)")
    for lo, hi, norm in TUG_NORMS_S:
        if age is not None and lo <= age <= hi:
            r.add_metric("tug_norm_s", norm, "s")
            if total > norm:
                r.flag(
                    "slower_than_norm",
                    f"TUG {total:.1f} s is slower than the average {norm:g} s for ages {lo}-{hi} (Bohannon 2006)",
                )
    return r


def assess_tug(pose, *, age: float | None = None) -> AssessmentResult:
    """TUG from video, side or front view."""
    r = AssessmentResult("tug")
    pd = analyse_pose(
        pose, r, need_view="any", landmarks=[11, 12, 23, 24, 25, 26, 27, 28], min_duration_s=3.0, min_visible_frac=0.4
    )
    if pd is None:
        return r
    p = np.where(pd.usable[:, None, None], pd.points, np.nan)
    h = rise_signal(p)
    if pd.view_kind == "frontal":
        trunk = trunk_length_px(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            prog = -np.log(trunk)
        r.check("progress", True, "walk followed by the apparent trunk length (front view)", "trunk size")
    else:
        prog = 0.5 * (p[:, 23, 0] + p[:, 24, 0])
        r.check("progress", True, "walk followed by the hips' horizontal position (side view)", "hip x")
    return tug(pd.t_s, h, prog, age=age, result=r)
