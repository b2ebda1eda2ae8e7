"""Scapular motion during bilateral overhead elevation: a dyskinesis OBSERVATION AID, not a diagnosis.

The clinical test is observational: the Scapular Dyskinesis Test (McClure et al. 2009; validity
Tate et al. 2009) has the client raise both arms overhead five times in flexion and five in
abduction (with a light weight) while the clinician watches the scapulae from behind and rates
each side normal, subtle or obvious dyskinesis (winging, early or excessive elevation, rapid
downward rotation on lowering). The 2013 Scapular Summit consensus (Kibler et al. 2013) keeps
the observation yes/no and asks for corrective manoeuvres before any conclusion. This screen
measures what a single camera can show of the shoulder girdle during those raises, side by
side, and phrases what it finds as cues for the clinician to look at; it never rates dyskinesis.

What the video can and cannot show. MediaPipe Pose has no scapula landmark: no inferior angle,
medial border, spine of the scapula or acromion. Its "shoulder" landmark marks the region of the
humeral head, so it (a) rises in the image with arm elevation even with a still scapula
(modelled as in :mod:`movekit.assess.painful_arc`: ``0.19 sin(elevation / 2)`` trunk lengths,
fitted on the real Sports2D clip), (b) moves with scapular elevation and shrugging (upper
trapezius), which is what is compared here, and (c) cannot show scapular upward/downward
rotation, internal rotation or winging, or anterior tilt: those stay for the clinician's eye.

Measured per bilateral raise (a rep of the mean of both arms' elevation reaching
:data:`MIN_PEAK_DEG`), per side, from a front or back view (the frontal plane; refused in a side
view, :mod:`movekit.analysis.view`):

* arm elevation: ``{side}_shoulder_abduction_deg`` (humerus vs trunk in the image plane, 0 at
  the side), only in the frames where the error model reports it (expected error within
  ``error_model.MAX_ERROR_DEG``; refused otherwise, as every screen does);
* shoulder-landmark height over the hips, in trunk lengths, and its change from rest (the frames
  within :data:`REST_BAND_DEG` of the rep's lowest elevation);
* height asymmetry: right minus left change of height at MATCHED arm elevation (medians in
  :data:`BIN_DEG` bins from 30 deg to the lower peak), separately for the ascent and the descent,
  so a lagging arm does not read as a higher shoulder (% trunk length; + = right higher);
* shrug: decrease of the ear-to-shoulder distance from rest to the top 30 deg of the raise
  (% trunk length);
* hike: the rise left after the modelled landmark rise (as the painful-arc screen);
* timing: the arm elevation (deg) at which each shoulder landmark has risen
  :data:`RISE_ONSET` trunk lengths above rest; the side that reaches it at a lower arm angle
  rises earlier.

Cues (flags) are raised when a difference is seen on at least half the reps: height asymmetry
over :data:`HEIGHT_ASYM_LIMIT`, shrug asymmetry over :data:`SHRUG_ASYM_LIMIT`, a hike over
``painful_arc.HIKE_LIMIT`` on one side, an onset difference of :data:`ONSET_DIFF_LIMIT_DEG` or
more. All are engineering bounds above what the real, symmetric raises of the Sports2D clip show
(see the tests), not published cut-offs: the published test has none.
"""

from __future__ import annotations

import numpy as np

from movekit.analysis import landmarks as lm
from movekit.analysis.reps import segment_reps
from movekit.analysis.view import facing_2d, trunk_length_px
from movekit.assess._pose import analyse_pose
from movekit.assess.painful_arc import HIKE_LIMIT, shoulder_hike_excess
from movekit.assess.result import AssessmentResult

MCCLURE = (
    "McClure, Tate, Kareha, Irwin & Zlupko 2009, A clinical method for identifying scapular "
    "dyskinesis, part 1: reliability, J Athl Train 44:160-164"
)
TATE = (
    "Tate, McClure, Kareha, Irwin & Barbe 2009, A clinical method for identifying scapular "
    "dyskinesis, part 2: validity, J Athl Train 44:165-173"
)
KIBLER = (
    "Kibler, Ludewig, McClure, Michener, Bak & Sciascia 2013, Clinical implications of scapular "
    "dyskinesis in shoulder injury: the 2013 consensus statement from the 'Scapular Summit', "
    "Br J Sports Med 47:877-885"
)

MIN_PEAK_DEG = 90.0  #: a raise must take both arms (their mean) at least this high (overhead elevation)
BIN_DEG = 15.0  #: width of the arm-elevation bins in which the two sides are compared (deg)
MATCH_FROM_DEG = 30.0  #: the comparison starts at this elevation (below, both landmarks barely move)
#: Rest: the frames within this of a rep's lowest arm elevation (deg); narrow, because the landmark
#: already rises with the first degrees of elevation. An engineering choice.
REST_BAND_DEG = 10.0
RISE_ONSET = 0.05  #: landmark rise (trunk lengths, ~2.5 cm) that marks the start of rising
#: Right-minus-left change of shoulder height at matched elevation above this (trunk lengths,
#: ~4 cm for a 0.5 m trunk) is a cue. The real symmetric raises of the tests differ by 0.026-0.041.
HEIGHT_ASYM_LIMIT = 0.08
SHRUG_ASYM_LIMIT = 0.08  #: difference of ear-to-shoulder shortening between sides (trunk lengths) for a cue
ONSET_DIFF_LIMIT_DEG = 20.0  #: difference of rise-onset arm angles between sides (deg) for a cue
LANDMARKS = [11, 12, 13, 14, 23, 24]  #: shoulders, elbows, hips: needed in 60 % of the frames
MIN_EAR_VISIBILITY = 0.5  #: ears (for the shrug) are used only in frames where the model sees them


def girdle_signals(points, usable=None, visibility=None) -> dict[str, dict[str, np.ndarray]]:
    """Per side: shoulder-landmark height over the hips and ear-to-shoulder distance, both in
    trunk lengths (median mid-shoulder to mid-hip length over the ``usable`` frames); pure.

    Parameters
    ----------
    points : array (frames, 33, >=2)
        Image landmarks (px, y down).
    usable : array (frames,) of bool, optional
    visibility : array (frames, 33), optional
        Model visibility (0-1): the ear distance is NaN where the ear's is under
        :data:`MIN_EAR_VISIBILITY` (an arm overhead can hide it).

    Returns
    -------
    dict
        ``{"left": {"height": ..., "ear": ...}, "right": {...}}``, arrays (frames,).
    """
    p = np.asarray(points, dtype=np.float64)[..., :2]
    use = np.ones(len(p), bool) if usable is None else np.asarray(usable, dtype=bool)
    tl = trunk_length_px(p)
    scale = float(np.nanmedian(tl[use])) if np.isfinite(tl[use]).any() else float("nan")
    hip_y = 0.5 * (p[:, lm.HIP["left"], 1] + p[:, lm.HIP["right"], 1])
    out = {}
    for s in lm.SIDES:
        sh, ear = p[:, lm.SHOULDER[s]], p[:, lm.EAR[s]]
        d = np.hypot(*(ear - sh).T) / scale
        if visibility is not None:
            d = np.where(np.asarray(visibility)[:, lm.EAR[s]] >= MIN_EAR_VISIBILITY, d, np.nan)
        out[s] = {"height": (hip_y - sh[:, 1]) / scale, "ear": d}
    return out


def bilateral_raises(t_s, elev_left_deg, elev_right_deg) -> list[tuple[int, int, int]]:
    """(start, peak, end) frame indices of each raise of both arms whose mean elevation reaches
    :data:`MIN_PEAK_DEG` (``segment_reps`` on the mean of the two sides); pure."""
    both = 0.5 * (np.asarray(elev_left_deg, dtype=np.float64) + np.asarray(elev_right_deg, dtype=np.float64))
    reps = segment_reps(t_s, both, prominence_deg=30.0, direction="up", min_duration_s=0.5)
    return [(r.valley_before_idx, r.peak_idx, r.valley_after_idx) for r in reps if r.peak_deg >= MIN_PEAK_DEG]


def _rest(x: np.ndarray, e: np.ndarray) -> float:
    """Median of ``x`` over the frames within :data:`REST_BAND_DEG` of the lowest elevation of
    ``e`` (a rep)."""
    ok = np.isfinite(x) & np.isfinite(e)
    if not ok.any():
        return float("nan")
    near = ok & (e <= np.nanmin(e[ok]) + REST_BAND_DEG)
    return float(np.median(x[near]))


def _binned(e: np.ndarray, x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Median of ``x`` per elevation bin (NaN where a bin is empty)."""
    out = np.full(edges.size - 1, np.nan)
    ok = np.isfinite(e) & np.isfinite(x)
    for i in range(edges.size - 1):
        sel = ok & (e >= edges[i]) & (e < edges[i + 1])
        if sel.any():
            out[i] = np.median(x[sel])
    return out


def matched_height_asymmetry(elev: dict, height: dict, sl: slice, rest: dict) -> float:
    """Right minus left change of shoulder height (trunk lengths) from ``rest`` (per side), at
    matched arm elevation over the frames ``sl`` (one phase); the median over the elevation bins
    both sides reached, from :data:`MATCH_FROM_DEG` to the lower of the two peaks. NaN when no
    bin is shared."""
    top = min(np.nanmax(elev[s][sl]) if np.isfinite(elev[s][sl]).any() else np.nan for s in lm.SIDES)
    if not np.isfinite(top) or top <= MATCH_FROM_DEG + BIN_DEG / 2:
        return float("nan")
    edges = np.arange(MATCH_FROM_DEG, top + 1e-9, BIN_DEG)
    edges = np.append(edges, top + 1e-9) if top - edges[-1] > BIN_DEG / 2 else edges
    change = {}
    for s in lm.SIDES:
        e, h = elev[s][sl], height[s][sl]
        change[s] = _binned(e, h - rest[s], edges)
    d = change["right"] - change["left"]
    return float(np.median(d[np.isfinite(d)])) if np.isfinite(d).any() else float("nan")


def rise_onset_deg(elev_deg, height, start: int, peak: int, rest: float) -> float:
    """Arm elevation (deg) at which the shoulder landmark first stands :data:`RISE_ONSET` trunk
    lengths above its ``rest`` height during the ascent ``start..peak`` (linear between frames);
    NaN when it never does, or when the ascent is not seen from below :data:`MATCH_FROM_DEG`."""
    e = np.asarray(elev_deg, dtype=np.float64)[start : peak + 1]
    h = np.asarray(height, dtype=np.float64)[start : peak + 1]
    ok = np.isfinite(e) & np.isfinite(h)
    if ok.sum() < 2 or e[ok][0] > MATCH_FROM_DEG:
        return float("nan")
    e, h = e[ok], h[ok] - rest
    above = np.flatnonzero(h >= RISE_ONSET)
    if not above.size or above[0] == 0:
        return float("nan")
    k = int(above[0])
    f = (RISE_ONSET - h[k - 1]) / (h[k] - h[k - 1])
    return float(e[k - 1] + f * (e[k] - e[k - 1]))


def _shrug(elev: np.ndarray, ear: np.ndarray, a: int, pk: int, b: int) -> float:
    """Ear-to-shoulder shortening (trunk lengths) from rest (over the rep ``a..b``) to the top
    30 deg of the ascent ``a..pk``."""
    e, d = elev[a : pk + 1], ear[a : pk + 1]
    ok = np.isfinite(e) & np.isfinite(d)
    if ok.sum() < 2:
        return float("nan")
    top = ok & (e >= np.nanmax(e[ok]) - 30.0)
    return _rest(ear[a : b + 1], elev[a : b + 1]) - float(np.median(d[top]))


def scapular_rep(n: int, t, elev: dict, sig: dict, phase: tuple[int, int, int]) -> dict:
    """One bilateral raise: per-side peak, shrug, hike, rise onset, and the matched asymmetries."""
    a, pk, b = phase
    rep = {"rep": n, "start_s": float(t[a]), "peak_s": float(t[pk]), "end_s": float(t[b])}
    height = {s: sig[s]["height"] for s in lm.SIDES}
    rest = {s: _rest(height[s][a : b + 1], elev[s][a : b + 1]) for s in lm.SIDES}
    for s in lm.SIDES:
        rep[f"start_elevation_{s}_deg"] = float(elev[s][a])
        rep[f"peak_elevation_{s}_deg"] = float(np.nanmax(elev[s][a : pk + 1]))
        rep[f"shrug_{s}_pct"] = 100 * _shrug(elev[s], sig[s]["ear"], a, pk, b)
        hike = shoulder_hike_excess(elev[s], height[s], a, pk)[1] if elev[s][a] <= MATCH_FROM_DEG else np.nan
        rep[f"shoulder_hike_{s}_pct"] = 100 * hike  # only from rest: the model is referred to the arm at the side
        rep[f"rise_onset_{s}_deg"] = rise_onset_deg(elev[s], height[s], a, pk, rest[s])
    rep["height_asymmetry_ascent_pct"] = 100 * matched_height_asymmetry(elev, height, slice(a, pk + 1), rest)
    rep["height_asymmetry_descent_pct"] = 100 * matched_height_asymmetry(elev, height, slice(pk, b + 1), rest)
    rep["shrug_asymmetry_pct"] = rep["shrug_right_pct"] - rep["shrug_left_pct"]
    rep["rise_onset_difference_deg"] = rep["rise_onset_left_deg"] - rep["rise_onset_right_deg"]
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in rep.items()}


def _median(reps: list[dict], key: str) -> float | None:
    vals = [r[key] for r in reps if r.get(key) is not None]
    return float(np.median(vals)) if vals else None


def _add_metrics(r: AssessmentResult, reps: list[dict]) -> None:
    r.add_metric("reps_count", len(reps), "count")
    for s in lm.SIDES:
        r.add_metric(f"peak_elevation_{s}_deg", _median(reps, f"peak_elevation_{s}_deg"), "deg")
        r.add_metric(f"shrug_{s}_pct", _median(reps, f"shrug_{s}_pct"), "%")
        r.add_metric(f"shoulder_hike_{s}_pct", _median(reps, f"shoulder_hike_{s}_pct"), "%")
        r.add_metric(f"rise_onset_{s}_deg", _median(reps, f"rise_onset_{s}_deg"), "deg")
    for key, unit in (
        ("height_asymmetry_ascent_pct", "%"),
        ("height_asymmetry_descent_pct", "%"),
        ("shrug_asymmetry_pct", "%"),
        ("rise_onset_difference_deg", "deg"),
    ):
        r.add_metric(key, _median(reps, key), unit)


def _majority(reps: list[dict], key: str, test) -> tuple[int, int]:
    """(reps where ``test(value)`` holds, reps with a value)."""
    vals = [rp[key] for rp in reps if rp.get(key) is not None]
    return sum(bool(test(v)) for v in vals), len(vals)


def _cue(r: AssessmentResult, code: str, reps: list[dict], key: str, limit: float, text) -> None:
    """Flag ``code`` when ``|value| > limit`` with the same sign on at least half the reps."""
    for sign in (1.0, -1.0):
        k, n = _majority(reps, key, lambda v, sg=sign: sg * v > limit)
        if n and 2 * k >= n:
            side = "right" if sign > 0 else "left"
            r.flag(code, f"{text(side)} on {k} of {n} reps: look for dyskinesis (an aid, not a diagnosis)")


def _flag_cues(r: AssessmentResult, reps: list[dict]) -> None:
    """The cues of the module docstring, phrased for the clinician's eye."""
    for phase in ("ascent", "descent"):
        _cue(
            r,
            f"height_asymmetry_{phase}",
            reps,
            f"height_asymmetry_{phase}_pct",
            100 * HEIGHT_ASYM_LIMIT,
            lambda s, ph=phase: f"{s} shoulder rises higher during the {ph} (at matched arm angles)",
        )
    _cue(
        r, "shrug_asymmetry", reps, "shrug_asymmetry_pct", 100 * SHRUG_ASYM_LIMIT, lambda s: f"{s} shoulder shrugs more"
    )
    _cue(
        r,
        "early_rise",
        reps,
        "rise_onset_difference_deg",
        ONSET_DIFF_LIMIT_DEG,
        lambda s: f"{s} shoulder starts rising earlier in the raise (at a lower arm angle)",
    )
    for s in lm.SIDES:
        k, n = _majority(reps, f"shoulder_hike_{s}_pct", lambda v: v > 100 * HIKE_LIMIT)
        if n and 2 * k >= n:
            r.flag(
                f"hike_{s}",
                f"{s} shoulder hikes (rises > {100 * HIKE_LIMIT:.0f}% of trunk length beyond what arm "
                f"elevation explains) on {k} of {n} reps: look for a shrug strategy (an aid, not a diagnosis)",
            )


def scapular_motion(t_s, elev_deg: dict, signals: dict, *, result: AssessmentResult | None = None) -> AssessmentResult:
    """The aid over arrays (pure): bilateral raises, per-side measures, cues.

    Parameters
    ----------
    t_s : array (frames,)
        Time (s).
    elev_deg : dict
        ``{"left": (frames,), "right": (frames,)}`` arm elevation (deg, 0 at the side; NaN where
        not reported).
    signals : dict
        :func:`girdle_signals` output (trunk lengths).
    """
    r = result or AssessmentResult("scapular")
    r.cite(MCCLURE, TATE, KIBLER)
    t = np.asarray(t_s, dtype=np.float64)
    elev = {s: np.asarray(elev_deg[s], dtype=np.float64) for s in lm.SIDES}
    phases = bilateral_raises(t, elev["left"], elev["right"])
    if not r.check(
        "reps",
        bool(phases),
        f"{len(phases)} raise(s) of both arms reaching >= {MIN_PEAK_DEG:g} deg (mean of the two sides)",
        len(phases),
        ">= 1",
    ):
        return r
    reps = [scapular_rep(n, t, elev, signals, ph) for n, ph in enumerate(phases, 1)]
    r.reps = reps
    _add_metrics(r, reps)
    _flag_cues(r, reps)
    if len(reps) < 3:
        r.flag("fewer_than_3_reps", f"{len(reps)} raise(s); the Scapular Dyskinesis Test watches 5 of each")
    r.flag(
        "aid_not_diagnosis",
        "observation aid: the shoulder landmark shows shoulder-girdle elevation and timing only, "
        "not scapular rotation, tilt or winging (no scapula landmark); watch the scapulae from "
        "behind before concluding (McClure 2009, Kibler 2013)",
    )
    return r


def _view_side(result: AssessmentResult, points, usable) -> str:
    """Which way the client faces ("front" or "back") in most usable frames, from the image order
    of the model's left and right shoulders and hips (:func:`movekit.analysis.view.facing_2d`).

    Left and right are the model's labels. On the real back-view clip ``pose2sim_single_cam03``
    MediaPipe labelled them anatomically (all 100 frames read as facing away); a label swap
    would show here as the wrong view, which the check's message asks the user to compare with
    how the clip was filmed."""
    _, toward = facing_2d(points, hold=False)
    toward = toward[np.asarray(usable, dtype=bool)]
    side = "back" if np.sum(toward < 0) > np.sum(toward > 0) else "front"
    result.check(
        "view_side",
        True,
        f"{side} view (the client faces {'away from' if side == 'back' else 'toward'} the camera, from the "
        "model's left/right labels: if that is not how it was filmed, the model swapped the sides and "
        "the sides named in the cues are swapped too)",
        side,
    )
    if side == "front":
        result.flag(
            "front_view",
            "front view: the scapulae face away from the camera; a back view is how the test is observed",
        )
    return side


def assess_scapular(pose) -> AssessmentResult:
    """The aid from video of bilateral overhead raises seen from behind (or the front).

    Both ``left_shoulder_abduction_deg`` and ``right_shoulder_abduction_deg`` must be reported by
    the error model in three or more frames, or the screen is refused with its reason.
    """
    r = AssessmentResult("scapular")
    names = ("left_shoulder_abduction_deg", "right_shoulder_abduction_deg")
    pd = analyse_pose(pose, r, need_view="frontal", landmarks=LANDMARKS, min_duration_s=2.0, angles=names)
    if pd is None:
        return r
    elev = {s: np.where(pd.usable, pd.angles[f"{s}_shoulder_abduction_deg"], np.nan) for s in lm.SIDES}
    shown = {s: int(np.isfinite(elev[s]).sum()) for s in lm.SIDES}
    if not r.check(
        "both_sides",
        min(shown.values()) >= 3,
        "; ".join(
            f"{s} arm elevation reported in {shown[s]} frame(s)"
            + ("" if shown[s] >= 3 else f" ({pd.an.reason(f'{s}_shoulder_abduction_deg', frames=pd.usable)})")
            for s in lm.SIDES
        ),
        min(shown.values()),
        ">= 3 frames each side (a side-by-side comparison)",
    ):
        return r
    _view_side(r, pd.points, pd.usable)
    sig = girdle_signals(pd.points, pd.usable, np.asarray(pose.visibility, dtype=np.float64))
    return scapular_motion(pd.t_s, elev, sig, result=r)


__all__ = [
    "assess_scapular",
    "bilateral_raises",
    "girdle_signals",
    "matched_height_asymmetry",
    "rise_onset_deg",
    "scapular_motion",
]
