"""Shoulder painful arc: pain onset and offset angles per raising and lowering phase.

Test: active elevation in the scapular plane, raised then lowered slowly; positive when pain
appears between about 60 and 120 deg and eases above 120 (Flynn 2008, as cited in the project
design, not re-read here; the 60-120 deg scapular-plane definition is verified in Michener et al.
2009, Arch Phys Med Rehabil 90:1898-1903: sensitivity 0.75, specificity 0.67; the design quotes
sensitivity ~0.33-0.74 and specificity ~0.81 across Calis et al. 2000, Ann Rheum Dis 59:44-47,
and Park et al. 2005, J Bone Joint Surg Am 87:1446-1455). Here a rep is positive when a pain
onset falls in 60-120 deg in either phase; the finding is consistent when at least 2 of 3 reps
(2/3 of the reps) are positive.

Pain reports are events ``{"t_s", "kind": "pain" | "pain_resolved"}`` (a key, a device button or
a list of times); each time is corrected by the stated input latency (reaction plus device delay)
before the angle is read. ``pain`` switches pain on, ``pain_resolved`` off. When a trial has no
``pain_resolved`` at all, the reports are read as "pressed while it hurts": onset at the first and
offset at the last report in a phase.

Supporting signs (descriptive, movekit heuristics, not published cut-offs): hesitation = a dip of
the angular velocity below 30 % of the phase's median speed away from the turning points;
compensation = trunk lateral lean changing by more than 10 deg, or a shoulder hike (below)
during the raising phase.

Shoulder hike from video is a proxy: MediaPipe's shoulder landmark marks the humeral-head
region, not the acromion, so it rises in the image as the humerus elevates even without any
shrug (and the normal scapular elevation of a raise adds to it). On the real Sports2D demo clip
(two frontal bilateral raises to ~150 deg, 162 frames, both sides) the vertical hip-to-shoulder
distance rose by 0.15-0.17 trunk lengths at 120-165 deg with no visible shrug; the raw rise
reached 24 % of trunk length and was flagged as a hike on every rep. The expected rise is
modelled as ``HIKE_MODEL_GAIN * sin(elevation / 2)`` trunk lengths (least-squares fit on that
clip, gain 0.19, residual SD 0.07 frame by frame; a linear-to-120-deg model fits equally well).
The hike is the rise left after subtracting that model, compared as medians (the frames within
30 deg of the rep's peak against those within 20 deg of its start) so single noisy frames do
not decide. It is flagged above :data:`HIKE_LIMIT` = 0.10 trunk lengths (~5 cm for a 0.5 m
trunk): an engineering bound, conservative against the per-rep values of the demo clip (-0.15
to +0.02 after the correction) and the model's frame-to-frame residual; the model comes from
one healthy adult and is not a norm, so the flag is a supporting sign to check by eye.

Angle source: video (``{side}_shoulder_abduction_deg``, frontal view; a frontal camera projects
scapular-plane elevation, ~30 deg anterior of the frontal plane, and under-reads it slightly), the
same angle in 3D from a pose triangulated from calibrated cameras (any view; gated by its measured
multi-camera error, :mod:`movekit.assess._pose`), or an inclinometer on the upper arm (elevation
from vertical, deg).
"""

from __future__ import annotations

import numpy as np

from movekit.analysis.filters import true_runs
from movekit.analysis.reps import segment_reps
from movekit.analysis.view import trunk_length_px
from movekit.assess._pose import analyse_pose
from movekit.assess.result import AssessmentResult

FLYNN = (
    "Flynn 2008 (painful arc 60-120 deg on elevation, as cited in the project design); "
    "Calis et al. 2000, Ann Rheum Dis 59:44-47; Park et al. 2005, J Bone Joint Surg Am "
    "87:1446-1455 (sensitivity ~0.33-0.74, specificity ~0.81)"
)
MICHENER = (
    "Michener et al. 2009, Reliability and diagnostic accuracy of 5 physical examination tests "
    "for subacromial impingement, Arch Phys Med Rehabil 90:1898-1903 (pain 60-120 deg "
    "scapular-plane elevation)"
)
ARC_DEG = (60.0, 120.0)
HESITATION_FRACTION = 0.3
TRUNK_LEAN_LIMIT_DEG = 10.0
HIKE_LIMIT = 0.10  #: shoulder hike beyond the modelled landmark rise, trunk lengths (see docstring)
HIKE_MODEL_GAIN = 0.19  #: modelled landmark rise at full elevation, trunk lengths (see docstring)


def expected_shoulder_rise(elevation_deg) -> np.ndarray:
    """Rise of MediaPipe's shoulder landmark over the hips (trunk lengths) expected from arm
    elevation alone: ``HIKE_MODEL_GAIN * sin(elevation / 2)`` (fitted on the Sports2D demo)."""
    x = np.clip(np.asarray(elevation_deg, dtype=np.float64), 0.0, 180.0)
    return HIKE_MODEL_GAIN * np.sin(np.radians(x) / 2.0)


def shoulder_hike_excess(elevation_deg, rise, start: int, peak: int) -> tuple[float, float]:
    """``(raw_rise, excess)`` of one raising phase ``start..peak`` (trunk lengths).

    ``rise``: vertical hip-to-shoulder distance over trunk length per frame. ``raw_rise``: its
    largest increase over the start frame. ``excess``: the median of ``rise - expected`` over the
    frames within 30 deg of the peak elevation minus its median over the frames within 20 deg of
    the start elevation (NaN when either set is empty).
    """
    x = np.asarray(elevation_deg, dtype=np.float64)[start : peak + 1]
    h = np.asarray(rise, dtype=np.float64)[start : peak + 1]
    ok = np.isfinite(x) & np.isfinite(h)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    raw = float(np.nanmax(h[ok] - h[ok][0]))
    c = h - expected_shoulder_rise(x)
    lo = ok & (x <= x[ok][0] + 20.0)
    hi = ok & (x >= np.nanmax(x[ok]) - 30.0)
    if not lo.any() or not hi.any():
        return raw, float("nan")
    return raw, float(np.median(c[hi]) - np.median(c[lo]))


def _angle_at(t, x, ts):
    ok = np.isfinite(t) & np.isfinite(x)
    return float(np.interp(ts, t[ok], x[ok])) if ok.sum() >= 2 else float("nan")


def _phases(t, elev, *, min_peak_deg: float, prominence_deg: float):
    """(rest before, peak, rest after) frame indices of each raise reaching ``min_peak_deg``."""
    reps = segment_reps(t, elev, prominence_deg=prominence_deg, direction="up", min_duration_s=0.5)
    return [(r.valley_before_idx, r.peak_idx, r.valley_after_idx) for r in reps if r.peak_deg >= min_peak_deg]


def _pain_in(t0, t1, on_times, off_times, toggle: bool, pain_before: bool):
    """Onset and offset times of pain within [t0, t1] (None when absent)."""
    on = [x for x in on_times if t0 <= x <= t1]
    if not toggle:
        if not on:
            return None, None, False
        return on[0], (on[-1] if len(on) > 1 else None), False
    carried = pain_before and not any(t0 <= x <= t1 for x in off_times if x < (on[0] if on else t1))
    onset = t0 if pain_before else (on[0] if on else None)
    if onset is None:
        return None, None, False
    off = [x for x in off_times if onset <= x <= t1]
    return onset, (off[0] if off else None), carried


def _pain_state_at(ts, on_times, off_times) -> bool:
    last_on = max((x for x in on_times if x < ts), default=None)
    last_off = max((x for x in off_times if x < ts), default=None)
    return last_on is not None and (last_off is None or last_on > last_off)


def _hesitations(t, x, a, b, *, rising: bool):
    seg_t, seg = t[a : b + 1], x[a : b + 1]
    if seg.size < 7:
        return []
    v = np.gradient(seg, seg_t) * (1 if rising else -1)
    lo, hi = np.nanmin(seg), np.nanmax(seg)
    mid = (seg > lo + 0.15 * (hi - lo)) & (seg < hi - 0.15 * (hi - lo))
    if mid.sum() < 5:
        return []
    ref = float(np.nanmedian(v[mid]))
    if not ref > 0:
        return []
    slow = mid & (v < HESITATION_FRACTION * ref)
    return [round(float(seg[s + int(np.nanargmin(v[s:e]))]), 1) for s, e in true_runs(slow)]


def painful_arc(
    t_s,
    elevation_deg,
    pain_events,
    *,
    latency_s: float = 0.0,
    trunk_lean_deg=None,
    shoulder_hike=None,
    source: str = "video",
    min_peak_deg: float = 60.0,
    result: AssessmentResult | None = None,
) -> AssessmentResult:
    """Painful arc from an elevation angle and pain events (pure over arrays).

    Parameters
    ----------
    t_s : array (frames,)
        Time (s) on the session clock.
    elevation_deg : array (frames,)
        Arm elevation (deg, 0 at the side).
    pain_events : list of dict
        ``{"t_s", "kind"}`` with kind ``"pain"`` or ``"pain_resolved"``; other kinds ignored.
    latency_s : float
        Input latency subtracted from each report time (s).
    trunk_lean_deg : array (frames,), optional
        Trunk lateral lean (deg) for compensation.
    shoulder_hike : array (frames,), optional
        Vertical hip-to-shoulder distance of the moving side over trunk length (fraction); the
        rise expected from elevation is subtracted (:func:`expected_shoulder_rise`).
    min_peak_deg : float
        A rep must raise the arm at least this far.
    """
    r = result or AssessmentResult("painful-arc")
    r.cite(FLYNN, MICHENER)
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(elevation_deg, dtype=np.float64)
    ev = sorted((e for e in pain_events if e.get("kind") in ("pain", "pain_resolved")), key=lambda e: e["t_s"])
    on_t = [float(e["t_s"]) - latency_s for e in ev if e["kind"] == "pain"]
    off_t = [float(e["t_s"]) - latency_s for e in ev if e["kind"] == "pain_resolved"]
    toggle = bool(off_t)
    r.check(
        "latency_correction",
        True,
        f"pain report times corrected by -{latency_s:g} s of input latency",
        latency_s,
        "stated by the user",
    )
    phases = _phases(t, x, min_peak_deg=min_peak_deg, prominence_deg=30.0)
    if not r.check(
        "reps",
        bool(phases),
        f"{len(phases)} raise-and-lower rep(s) reaching >= {min_peak_deg:g} deg",
        len(phases),
        ">= 1",
    ):
        return r
    if not ev:
        r.flag("no_pain_reports", "no pain reports in this trial: onset angles cannot be given")
    reps = [
        _arc_rep(n, t, x, phase, on_t, off_t, toggle, trunk_lean_deg, shoulder_hike)
        for n, phase in enumerate(phases, 1)
    ]
    r.reps = reps
    _add_arc_metrics(r, reps, bool(ev))
    _flag_supporting_signs(r, reps)
    r.check("angle_source", True, f"elevation from {source}", source)
    return r


def _arc_rep(n, t, x, phase_idx, on_t, off_t, toggle, trunk_lean_deg, shoulder_hike) -> dict:
    """One raise-and-lower rep: pain onset/offset angles per phase (Flynn 2008 arc), hesitations, compensations."""
    a, pk, b = phase_idx
    rep = {
        "rep": n,
        "start_s": float(t[a]),
        "peak_s": float(t[pk]),
        "end_s": float(t[b]),
        "peak_elevation_deg": float(x[pk]),
    }
    positive = False
    for phase, (i0, i1) in (("raising", (a, pk)), ("lowering", (pk, b))):
        before = _pain_state_at(t[i0], on_t, off_t) if toggle else False
        on, off, carried = _pain_in(t[i0], t[i1], on_t, off_t, toggle, before)
        on_deg = _angle_at(t, x, on) if on is not None else None
        off_deg = _angle_at(t, x, off) if off is not None else None
        rep[f"{phase}_pain_onset_angle_deg"] = on_deg
        rep[f"{phase}_pain_offset_angle_deg"] = off_deg
        rep[f"{phase}_pain_carried_in"] = bool(carried)
        if on_deg is not None and ARC_DEG[0] <= on_deg <= ARC_DEG[1] and not carried:
            positive = True
        rep[f"{phase}_hesitation_angles_deg"] = _hesitations(t, x, i0, i1, rising=phase == "raising")
    ron = rep["raising_pain_onset_angle_deg"]
    rep["pain_free_elevation_deg"] = float(ron) if ron is not None else float(x[pk])
    roff = rep["raising_pain_offset_angle_deg"]
    rep["pain_eases_above_120"] = bool(ron is not None and roff is not None and roff > ARC_DEG[1])
    rep["in_arc"] = positive
    if trunk_lean_deg is not None:
        tl = np.asarray(trunk_lean_deg, dtype=np.float64)
        d = np.nanmax(np.abs(tl[a : pk + 1] - tl[a])) if np.isfinite(tl[a : pk + 1]).any() else np.nan
        rep["trunk_lean_change_deg"] = float(d)
        rep["trunk_lean_compensation"] = bool(np.isfinite(d) and d > TRUNK_LEAN_LIMIT_DEG)
    if shoulder_hike is not None:
        raw, d = shoulder_hike_excess(x, shoulder_hike, a, pk)
        rep["shoulder_rise_raw_pct"] = float(100 * raw)  # landmark rise, not corrected
        rep["shoulder_hike_pct"] = float(100 * d)  # beyond the modelled landmark rise
        rep["shoulder_hike_compensation"] = bool(np.isfinite(d) and d > HIKE_LIMIT)
    return rep


def _median_of(reps: list[dict], key: str) -> float | None:
    vals = [rp[key] for rp in reps if rp[key] is not None]
    return float(np.median(vals)) if vals else None


def _add_arc_metrics(r: AssessmentResult, reps: list[dict], any_reports: bool) -> None:
    """Onset/offset medians (deg) and the verdict.

    Consistent (positive) when the onset is in 60-120 deg on at least 2 of 3 reps (Flynn 2008).
    """
    n_pos = sum(rp["in_arc"] for rp in reps)
    r.add_metric("reps_count", len(reps), "count")
    r.add_metric("arc_positive_reps_count", n_pos, "count")
    r.add_metric("pain_onset_angle_deg", _median_of(reps, "raising_pain_onset_angle_deg"), "deg")
    r.add_metric("pain_offset_angle_deg", _median_of(reps, "raising_pain_offset_angle_deg"), "deg")
    r.add_metric("lowering_pain_onset_angle_deg", _median_of(reps, "lowering_pain_onset_angle_deg"), "deg")
    r.add_metric("max_pain_free_elevation_deg", max(rp["pain_free_elevation_deg"] for rp in reps), "deg")
    r.add_metric("peak_elevation_deg", max(rp["peak_elevation_deg"] for rp in reps), "deg")
    consistent = n_pos >= 2 and n_pos * 3 >= 2 * len(reps)
    verdict = ("positive" if consistent else "inconsistent" if n_pos else "negative") if any_reports else None
    r.add_metric("painful_arc", verdict, "1")
    if len(reps) < 3:
        r.flag(
            "fewer_than_3_reps",
            f"{len(reps)} rep(s): consistency needs the onset in 60-120 deg on at least 2 of 3 reps",
        )
    if consistent:
        r.flag("painful_arc", f"pain onset in 60-120 deg on {n_pos} of {len(reps)} reps (painful arc, Flynn 2008)")
    if max(rp["peak_elevation_deg"] for rp in reps) < ARC_DEG[1]:
        r.flag("below_120", "elevation never passed 120 deg: pain easing above the arc could not be shown")


def _flag_supporting_signs(r: AssessmentResult, reps: list[dict]) -> None:
    """Hesitations and trunk-lean / shoulder-hike compensations (supporting signs, not the verdict)."""
    hes = sum(len(rp["raising_hesitation_angles_deg"]) + len(rp["lowering_hesitation_angles_deg"]) for rp in reps)
    r.add_metric("hesitations_count", hes, "count")
    if hes:
        r.flag("hesitation", f"{hes} velocity dip(s) during elevation (hesitation; supporting sign)")
    for key, msg in (
        ("trunk_lean_compensation", "trunk lean > 10 deg during raising"),
        (
            "shoulder_hike_compensation",
            (
                f"shoulder hike > {100 * HIKE_LIMIT:.0f}% of trunk length "
                "beyond the rise expected from arm elevation (video "
                "proxy) during raising"
            ),
        ),
    ):
        k = sum(bool(rp.get(key)) for rp in reps)
        if k:
            r.flag(key, f"{msg} on {k} of {len(reps)} reps (compensation; supporting sign)")


def assess_painful_arc(pose, events, *, side: str | None = None, latency_s: float = 0.0) -> AssessmentResult:
    """Painful arc from video: shoulder abduction in a frontal view (see :func:`painful_arc`)."""
    r = AssessmentResult("painful-arc")
    pd = analyse_pose(
        pose,
        r,
        need_view="frontal",
        landmarks=[11, 12, 13, 14, 23, 24],
        min_duration_s=2.0,
        min_rate_hz=15.0,
        angles=("left_shoulder_abduction_deg", "right_shoulder_abduction_deg"),
    )
    if pd is None:
        return r
    ang = pd.angles
    if side is None:
        rng = {
            s: np.nanmax(ang[f"{s}_shoulder_abduction_deg"]) - np.nanmin(ang[f"{s}_shoulder_abduction_deg"])
            if np.isfinite(ang[f"{s}_shoulder_abduction_deg"]).any()
            else -1
            for s in ("left", "right")
        }
        side = max(rng, key=rng.get)
    elev = np.where(pd.usable, ang[f"{side}_shoulder_abduction_deg"], np.nan)
    p = pd.points
    sh = 11 if side == "left" else 12
    hike = (0.5 * (p[:, 23, 1] + p[:, 24, 1]) - p[:, sh, 1]) / np.nanmedian(trunk_length_px(p))
    r.check("side", True, f"{side} arm", side)
    return painful_arc(
        pd.t_s,
        elev,
        events,
        latency_s=latency_s,
        trunk_lean_deg=ang["trunk_lateral_lean_deg"],
        shoulder_hike=hike,
        source=pd.angle_source(f"{side}_shoulder_abduction_deg, frontal view"),
        result=r,
    )
