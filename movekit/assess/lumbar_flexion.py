"""Lumbar flexion range of motion: dual inclinometer method, and a labelled video proxy.

Dual inclinometer method (Mayer et al. 1984, Use of noninvasive techniques for quantification of
spinal range-of-motion in normal subjects and chronic low-back dysfunction patients, Spine
9:588-595): one inclinometer over T12/L1, one over the sacrum; lumbar flexion = change of the
T12/L1 inclination minus change of the sacral inclination from upright standing to full forward
bend; the sacral change is the pelvic (hip) part. Works with any source of the two inclination
angles (BLE inclinometers, IMUs, a CSV) as plain arrays.

Video (PROXY, labelled so): pose has no spine landmarks, so only the forward inclination of the
hip-to-shoulder line is measured; it includes hip flexion and is NOT lumbar range of motion.
"""

from __future__ import annotations

import numpy as np

from movekit.analysis.reps import segment_reps
from movekit.assess._pose import analyse_trunk_bend, standing_bends
from movekit.assess.result import AssessmentResult

MAYER = (
    "Mayer et al. 1984, Use of noninvasive techniques for quantification of spinal range-of-motion "
    "in normal subjects and chronic low-back dysfunction patients, Spine 9:588-595 (dual inclinometer)"
)


def _baseline(x: np.ndarray, end: int) -> float:
    seg = x[: max(end, 1)]
    seg = seg[np.isfinite(seg)]
    return float(np.median(seg[: max(3, seg.size // 3)])) if seg.size else float("nan")


def dual_inclinometer(t_s, t12_inclination_deg, sacrum_inclination_deg) -> AssessmentResult:
    """Lumbar flexion from T12/L1 and sacral inclinations (deg, forward +), per forward bend.

    The upright reference is the median of the first third of the samples before the first bend.
    """
    r = AssessmentResult("lumbar-flexion")
    r.cite(MAYER)
    t = np.asarray(t_s, dtype=np.float64)
    t12 = np.asarray(t12_inclination_deg, dtype=np.float64)
    sac = np.asarray(sacrum_inclination_deg, dtype=np.float64)
    r.check("angle_source", True, "two inclinometers (T12/L1 and sacrum): dual inclinometer method", "inclinometers")
    reps = segment_reps(t, t12, prominence_deg=15.0, direction="up", min_duration_s=0.5)
    if not r.check("reps", bool(reps), f"{len(reps)} forward bend(s) at T12/L1", len(reps), ">= 1"):
        return r
    b12, bsac = _baseline(t12, reps[0].start_idx), _baseline(sac, reps[0].start_idx)
    if not r.check(
        "upright_reference",
        np.isfinite(b12) and np.isfinite(bsac),
        "upright standing recorded before the first bend"
        if np.isfinite(b12)
        else "no upright standing before the first bend: no reference",
    ):
        return r
    out = []
    for rep in reps:
        k = rep.peak_idx
        total = float(t12[k] - b12)
        pelvic = float(sac[k] - bsac)
        out.append(
            {
                "rep": len(out) + 1,
                "peak_s": rep.peak_s,
                "t12_flexion_deg": total,
                "sacral_flexion_deg": pelvic,
                "lumbar_flexion_deg": total - pelvic,
            }
        )
    r.reps = out
    best = max(out, key=lambda rp: rp["lumbar_flexion_deg"])
    r.add_metric("lumbar_flexion_deg", best["lumbar_flexion_deg"], "deg")
    r.add_metric("sacral_flexion_deg", best["sacral_flexion_deg"], "deg")
    r.add_metric("t12_flexion_deg", best["t12_flexion_deg"], "deg")
    r.add_metric("reps_count", len(out), "count")
    return r


def assess_lumbar_flexion_video(pose) -> AssessmentResult:
    """Video proxy: forward inclination of the hip-shoulder line (includes hip flexion)."""
    r = AssessmentResult("lumbar-flexion")
    r.cite(MAYER)
    pd = analyse_trunk_bend(pose, r)
    if pd is None:
        return r
    tr = np.where(pd.usable, pd.angles["trunk_inclination_deg"], np.nan)
    reps, _ = standing_bends(
        r, pd, tr, segment_reps(pd.t_s, tr, prominence_deg=15.0, direction="up", min_duration_s=0.5)
    )
    how = "video" if pd.triangulated is None else f"3D ({pd.triangulated.describe()})"
    r.check(
        "angle_source",
        True,
        f"{how} PROXY: hip-to-shoulder line inclination; includes hip flexion, "
        "not lumbar ROM (use two inclinometers for lumbar flexion)",
        "video proxy" if pd.triangulated is None else "3d proxy",
    )
    if not r.check("reps", bool(reps), f"{len(reps)} complete forward bend(s) seen", len(reps), ">= 1"):
        return r
    base = _baseline(tr, reps[0].start_idx)
    r.reps = [
        {"rep": i + 1, "peak_s": rp.peak_s, "trunk_flexion_proxy_deg": float(rp.peak_deg - base)}
        for i, rp in enumerate(reps)
    ]
    r.add_metric("trunk_flexion_proxy_deg", max(x["trunk_flexion_proxy_deg"] for x in r.reps), "deg")
    r.add_metric("lumbar_flexion_deg", None, "deg")
    r.flag(
        "proxy",
        "video gives trunk flexion including the hips (proxy); lumbar flexion needs T12/L1 and "
        "sacral inclinometers (Mayer 1984)",
    )
    return r
