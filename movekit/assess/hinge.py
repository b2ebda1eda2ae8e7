"""Hip hinge: hip versus spine share of the forward bend, trunk straightness, knees, depth, tempo.

The dowel test: head, thoracic spine and sacrum stay in contact with a dowel through the hinge;
losing the thoracic contact means the spine rounds. The camera analogue is the ear-shoulder-hip
line: ``{side}_head_forward_proxy_deg`` (shoulder-to-ear line against the hip-to-shoulder line,
:mod:`movekit.analysis.angles`) grows when the upper spine and neck flex.

Lumbopelvic rhythm (Laird, Kent & Keating 2016, BMC Musculoskelet Disord, PMC5034504, wearable
sensors: lumbar contribution to flexion 45.8 % in low back pain vs 51.3 % without, MDC90 8-15 %): measured properly with
inclinometers on T12/L1 and the sacrum (:func:`hinge_from_inclinometers`). Pose has no pelvis or
spine landmarks: the video "hip share" is a PROXY, hip flexion (thigh vs hip-shoulder line) over
hip flexion plus the bend of the ear-shoulder-hip line, and it over-reads the true hip share
because lumbar flexion moves the hip-shoulder line too. Descriptive, not diagnostic (Vazirian et
al. 2016, Phys Ther Rehabil 3:5).

Grade (movekit heuristics, stated with every result; not published cut-offs): the spine rounds
when the ear-shoulder-hip line bends by > 10 deg; hip share (proxy) < 70 %; knees bend > 40 deg
(a squat, not a hinge); trunk inclination < 30 deg at the bottom (shallow). No reason: "good";
one: "fair"; rounding or two or more: "needs work".
"""

from __future__ import annotations

import numpy as np

from movekit.analysis.reps import segment_reps
from movekit.assess._pose import analyse_trunk_bend, standing_bends
from movekit.assess.result import AssessmentResult

LAIRD = (
    "Laird, Kent & Keating 2016, lordosis, range of movement and lumbo-pelvic rhythm in people "
    "with and without back pain, BMC Musculoskelet Disord (PMC5034504): lumbar contribution "
    "to flexion 45.8% with LBP vs 51.3% without, MDC90 8-15%"
)
VAZIRIAN = (
    "Vazirian et al. 2016, Lumbopelvic rhythm during trunk motion in the sagittal plane: a "
    "review of the kinematic measurement methods and characterization approaches, "
    "Phys Ther Rehabil 3:5 (descriptive, not diagnostic)"
)
ROUND_LIMIT_DEG = 10.0
HIP_SHARE_MIN_PCT = 70.0
KNEE_MAX_DEG = 40.0
DEPTH_MIN_DEG = 30.0


def _grade(reasons: list[str], rounding: bool) -> str:
    if rounding or len(reasons) >= 2:
        return "needs work"
    return "fair" if reasons else "good"


def forward_bends(t_s, trunk_deg) -> list:
    """Forward bends of the trunk (:func:`movekit.analysis.reps.segment_reps`, prominence 20 deg)."""
    return segment_reps(t_s, trunk_deg, prominence_deg=20.0, direction="up", min_duration_s=0.4)


def hinge_reps(t_s, trunk_deg, hip_deg, round_deg, knee_deg, reps=None) -> list[dict]:
    """Per-rep hinge measures from angle arrays (deg; pure).

    ``trunk_deg`` trunk inclination (forward +), ``hip_deg`` hip flexion, ``round_deg`` the bend
    of the ear-shoulder-hip line, ``knee_deg`` knee flexion. ``reps`` are the bends to measure,
    by default every :func:`forward_bends` of ``trunk_deg``.
    """
    t = np.asarray(t_s, dtype=np.float64)
    trunk = np.asarray(trunk_deg, dtype=np.float64)
    hip = np.asarray(hip_deg, dtype=np.float64)
    rnd = np.asarray(round_deg, dtype=np.float64)
    knee = np.asarray(knee_deg, dtype=np.float64)
    out = []
    for rep in forward_bends(t, trunk) if reps is None else reps:
        pk, b = rep.peak_idx, rep.end_idx
        # baseline: the most upright moment before the rep (a rep itself starts at 10 % of its
        # excursion, which would under-read every change)
        a = rep.valley_before_idx
        d_hip = float(hip[pk] - hip[a])
        d_round = float(np.nanmax(rnd[a : b + 1]) - rnd[a]) if np.isfinite(rnd[a : b + 1]).any() else float("nan")
        bend_at_peak = float(rnd[pk] - rnd[a])
        denom = d_hip + max(bend_at_peak, 0.0)
        share = 100.0 * d_hip / denom if np.isfinite(denom) and denom > 0 else float("nan")
        kr = knee[a : b + 1]
        knee_rng = float(np.nanmax(kr) - np.nanmin(kr)) if np.isfinite(kr).any() else float("nan")
        reasons = []
        rounding = np.isfinite(d_round) and d_round > ROUND_LIMIT_DEG
        if rounding:
            reasons.append(
                f"the spine rounds: the ear-shoulder-hip line bends {d_round:.0f} deg "
                f"(> {ROUND_LIMIT_DEG:g}; the dowel would lose thoracic contact)"
            )
        if np.isfinite(share) and share < HIP_SHARE_MIN_PCT:
            reasons.append(f"too little of the bend comes from the hips ({share:.0f}% < {HIP_SHARE_MIN_PCT:g}%)")
        if np.isfinite(knee_rng) and knee_rng > KNEE_MAX_DEG:
            reasons.append(f"the knees bend {knee_rng:.0f} deg (> {KNEE_MAX_DEG:g}): more squat than hinge")
        if rep.peak_deg < DEPTH_MIN_DEG:
            reasons.append(f"shallow: the trunk leans only {rep.peak_deg:.0f} deg (< {DEPTH_MIN_DEG:g})")
        out.append(
            {
                "rep": len(out) + 1,
                "start_s": rep.start_s,
                "peak_s": rep.peak_s,
                "end_s": rep.end_s,
                "depth_trunk_inclination_deg": float(rep.peak_deg),
                "trunk_flexion_change_deg": float(trunk[pk] - trunk[a]),
                "hip_flexion_change_deg": d_hip,
                "trunk_straightness_loss_deg": d_round,
                "hip_share_proxy_pct": share,
                "knee_flexion_range_deg": knee_rng,
                "peak_knee_flexion_deg": float(np.nanmax(kr)) if np.isfinite(kr).any() else float("nan"),
                "descent_time_s": rep.time_to_peak_s,
                "ascent_time_s": rep.return_s,
                "duration_s": rep.duration_s,
                "grade": _grade(reasons, bool(rounding)),
                "reasons": reasons,
            }
        )
    return out


def _summarise(r: AssessmentResult, reps: list[dict]) -> None:
    def med(key):
        v = [rp[key] for rp in reps if rp.get(key) is not None and np.isfinite(rp[key])]
        return float(np.median(v)) if v else None

    r.add_metric("reps_count", len(reps), "count")
    for key, unit in (
        ("depth_trunk_inclination_deg", "deg"),
        ("hip_flexion_change_deg", "deg"),
        ("trunk_straightness_loss_deg", "deg"),
        ("hip_share_proxy_pct", "%"),
        ("knee_flexion_range_deg", "deg"),
        ("descent_time_s", "s"),
        ("ascent_time_s", "s"),
    ):
        r.add_metric(key, med(key), unit)
    order = {"good": 0, "fair": 1, "needs work": 2}
    worst = max((rp["grade"] for rp in reps), key=order.get)
    r.add_metric("hinge_grade", worst, "grade")
    seen = []
    for rp in reps:
        for why in rp["reasons"]:
            key = why.split(":")[0].split("(")[0].strip()
            if key not in seen:
                seen.append(key)
                r.flag("hinge", f"rep {rp['rep']}: {why}")


def assess_hinge(pose, *, side: str | None = None) -> AssessmentResult:
    """Hip hinge from a side view (video; the hip share is a proxy, see the module docstring)."""
    r = AssessmentResult("hip-hinge")
    r.cite(LAIRD, VAZIRIAN)
    pd = analyse_trunk_bend(pose, r)
    if pd is None:
        return r
    side = side or pd.side_toward_camera or "left"
    ang = {k: np.where(pd.usable, v, np.nan) for k, v in pd.angles.items()}
    trunk = ang["trunk_inclination_deg"]
    planted, ignored = standing_bends(r, pd, trunk, forward_bends(pd.t_s, trunk), " as hinges")
    bent = trunk.copy()  # the trunk outside jumps and landings: what an unfinished hinge reached
    for rp in ignored:
        bent[rp.valley_before_idx : rp.end_idx + 1] = np.nan
    reps = hinge_reps(
        pd.t_s,
        trunk,
        ang[f"{side}_hip_flexion_deg"],
        ang[f"{side}_head_forward_proxy_deg"],
        ang[f"{side}_knee_flexion_deg"],
        reps=planted,
    )
    r.reps = reps
    where = "toward the camera" if pd.triangulated is None else "3D: either side is measured; --side chooses"
    r.check("side", True, f"{side} side ({where})", side)
    if not reps:
        peak = float(np.nanmax(bent)) if np.isfinite(bent).any() else float("nan")
        msg = "no complete forward bend (down and back up by >= 20 deg) found"
        if np.isfinite(peak) and peak >= 20.0:
            t_pk = float(pd.t_s[int(np.nanargmax(bent))])
            msg += (
                f"; the trunk reached {peak:.0f} deg at {t_pk:.1f} s but the bend was not seen to "
                "its end (person lost or recording ended), so no rep is scored"
            )
        r.check("reps", False, msg, 0, ">= 1 complete rep")
        return r
    _summarise(r, reps)
    r.flag(
        "proxy",
        "hip share from video is a proxy (no pelvis or spine landmarks): it over-reads the "
        "true hip share; use T12/L1 and sacral inclinometers for the lumbopelvic rhythm (Laird 2016)",
    )
    return r


def hinge_from_inclinometers(t_s, t12_inclination_deg, sacrum_inclination_deg) -> AssessmentResult:
    """Lumbopelvic rhythm from two inclinometers (T12/L1 and sacrum; forward +, deg).

    Per forward bend: pelvic (sacral) rotation, lumbar flexion = T12 minus sacrum, lumbar share
    = lumbar / T12 change, compared with Laird 2016 (~46 % in LBP vs ~51 % without).
    """
    r = AssessmentResult("hip-hinge")
    r.cite(LAIRD, VAZIRIAN)
    t = np.asarray(t_s, dtype=np.float64)
    t12 = np.asarray(t12_inclination_deg, dtype=np.float64)
    sac = np.asarray(sacrum_inclination_deg, dtype=np.float64)
    r.check("angle_source", True, "two inclinometers (T12/L1 and sacrum)", "inclinometers")
    reps = []
    for rep in segment_reps(t, t12, prominence_deg=20.0, direction="up", min_duration_s=0.4):
        a, pk = rep.valley_before_idx, rep.peak_idx
        d_t12 = float(t12[pk] - t12[a])
        d_sac = float(sac[pk] - sac[a])
        lumbar = d_t12 - d_sac
        reps.append(
            {
                "rep": len(reps) + 1,
                "start_s": rep.start_s,
                "peak_s": rep.peak_s,
                "end_s": rep.end_s,
                "t12_flexion_change_deg": d_t12,
                "pelvic_rotation_deg": d_sac,
                "lumbar_flexion_deg": lumbar,
                "lumbar_share_pct": 100.0 * lumbar / d_t12 if d_t12 > 0 else float("nan"),
                "descent_time_s": rep.time_to_peak_s,
                "ascent_time_s": rep.return_s,
            }
        )
    r.reps = reps
    if not r.check("reps", bool(reps), f"{len(reps)} forward bend(s) of >= 20 deg at T12/L1", len(reps), ">= 1"):
        return r
    for key, unit in (
        ("lumbar_share_pct", "%"),
        ("lumbar_flexion_deg", "deg"),
        ("pelvic_rotation_deg", "deg"),
        ("t12_flexion_change_deg", "deg"),
    ):
        v = [rp[key] for rp in reps if np.isfinite(rp[key])]
        r.add_metric(key, float(np.median(v)) if v else None, unit)
    r.add_metric("reps_count", len(reps), "count")
    return r
