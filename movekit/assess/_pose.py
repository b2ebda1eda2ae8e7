"""Shared steps of the video assessments: analysis of a pose series and the validity checks.

The analysis is :func:`movekit.analysis.pipeline.analyse` (offline, zero-phase cleaning, 2D image
angles); this module only decides whether the recording can answer the question: someone in
frame, the right view, the landmarks seen, long enough, sampled fast enough.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from movekit.analysis import landmarks as lm
from movekit.analysis.pipeline import AnalysisResult, frame_rate
from movekit.analysis.view import trunk_length_px
from movekit.assess.result import AssessmentResult
from movekit.calibration import analyse_calibrated

STENUM = (
    "Stenum et al. 2021, Two-dimensional video-based analysis of human gait using pose "
    "estimation, PLoS Comput Biol 17:e1008935 (2D sagittal angles from a side view)"
)
VIEW_HUMAN = {"sagittal": "a side view", "frontal": "a front or back view", "any": "any view"}


@dataclass
class PoseData:
    """The analysed pose with the frames an assessment may use."""

    t_s: np.ndarray
    an: AnalysisResult
    fs_hz: float
    usable: np.ndarray  #: (frames,) bool: person seen, right view, landmarks visible
    view_kind: str  #: majority view over the frames with a person: "sagittal", "frontal", ...
    side_toward_camera: str | None  #: for a side view, which side faces the camera

    @property
    def angles(self) -> dict[str, np.ndarray]:
        return self.an.angles

    @property
    def points(self) -> np.ndarray:
        return self.an.landmarks


def _kind(label: str) -> str:
    return "sagittal" if label.startswith("sagittal") else label


def analyse_pose(
    pose,
    result: AssessmentResult,
    *,
    need_view: str,
    landmarks: list[int],
    min_duration_s: float,
    min_rate_hz: float = 15.0,
    min_visible_frac: float = 0.6,
    min_visibility: float = 0.5,
    angles: tuple[str, ...] = (),
) -> PoseData | None:
    """Analyse ``pose`` and record the checks in ``result``; None when nothing can be measured.

    Parameters
    ----------
    pose : PoseSeries
    result : AssessmentResult
        Checks ``person``, ``duration``, ``sampling_rate``, ``view`` and ``visibility`` are added.
    need_view : "sagittal", "frontal" or "any"
        2D angles are valid only in the camera's plane (Stenum 2021; Willson 2006 for FPPA).
    landmarks : list of int
        MediaPipe indices the assessment needs (visibility >= ``min_visibility``).
    min_duration_s, min_rate_hz : float
        The shortest time (s) with a person in the required view (the frames the assessment
        uses, counted frame by frame) and the slowest frame rate (Hz).
    min_visible_frac : float
        Fraction of those used frames (person seen, required view) in which all ``landmarks``
        must be seen; frames in another view do not count either way.
    angles : names of the joint angles the test is scored on
        Check ``angle_error``: at least one of them must be reported (expected error within the
        limit, :mod:`movekit.analysis.error_model`) in 3 or more of the used frames; otherwise
        the test is refused with the error model's reason.
    """
    if pose is None:
        result.check("person", False, "this source has no pose (video or pose recording needed)")
        return None
    t = np.asarray(pose.t_s, dtype=np.float64)
    img = np.asarray(pose.image_px, dtype=np.float64)
    seen = np.isfinite(img[:, :, 0]).any(axis=1) if len(t) else np.zeros(0, bool)
    if not result.check(
        "person",
        bool(seen.sum() >= 3),
        f"a person was found in {int(seen.sum())} of {len(t)} frames",
        int(seen.sum()),
        ">= 3 frames",
    ):
        return None
    fs = frame_rate(t)
    ok_r = result.check_rate(fs, min_rate_hz, f"{fs:.1f} frames/s (needs >= {min_rate_hz:g})")
    an = analyse_calibrated(pose, space="2d", offline=True, min_visibility=min_visibility)
    note_setup(result, an)
    kind, side, used, ok_view = _view_check(result, an, t, seen, fs, need_view)
    result.cite(STENUM)
    dur = used_duration_s(t, used, fs)
    where = "" if need_view == "any" else f" in {VIEW_HUMAN[need_view]}"
    ok_d = result.check(
        "duration",
        dur >= min_duration_s,
        f"person seen{where or ' in view'} for {dur:.1f} s (this test needs >= {min_duration_s:g} s)",
        round(dur, 3),
        f">= {min_duration_s:g} s",
    )
    vis_ok, ok_v = _visibility_check(result, pose, seen, used, landmarks, min_visibility, min_visible_frac, where)
    usable = used & vis_ok
    if not (ok_d and ok_r and ok_view and ok_v):
        return None
    if angles and not check_angle_errors(result, an, usable, angles):
        return None
    return PoseData(t, an, fs, usable, kind, side)


def _visibility_check(result, pose, seen, used, landmarks, min_visibility: float, min_visible_frac: float, where: str):
    """Frames with all ``landmarks`` seen (visibility >= ``min_visibility``), and the ``visibility`` check."""
    vis = np.asarray(pose.visibility, dtype=np.float64)[:, landmarks]
    vis_ok = np.all(vis >= min_visibility, axis=1) & seen
    frac = float((vis_ok & used).sum() / max(used.sum(), 1))
    names = ", ".join(lm.NAMES[i] for i in landmarks)
    ok_v = result.check(
        "visibility",
        frac >= min_visible_frac,
        f"{names} seen in {100 * frac:.0f}% of the frames with a person{where} (needs {100 * min_visible_frac:.0f}%)",
        round(100 * frac, 1),
        f">= {100 * min_visible_frac:.0f} %",
    )
    return vis_ok, ok_v


def _view_check(result: AssessmentResult, an: AnalysisResult, t, seen, fs: float, need_view: str):
    """The majority view, the side toward the camera, the frames in the needed view, and the ``view`` check.

    2D angles are valid only in the camera's plane (Stenum 2021): only frames in ``need_view`` are used.
    """
    labels = [str(v) for v, s in zip(an.view, seen) if s and v != "unknown"]
    counts = Counter(_kind(v) for v in labels)
    kind = counts.most_common(1)[0][0] if counts else "unknown"
    side_counts = Counter(v for v in labels if v.startswith("sagittal"))
    side = side_counts.most_common(1)[0][0].split("_")[1] if side_counts else None
    view_ok_frames = np.array(
        [(need_view == "any") or (_kind(str(v)) == need_view) for v in an.view], dtype=bool
    ).reshape(len(t))
    # the frames the assessment uses: a person in the right view; duration and visibility are
    # judged on these, not on the whole recording (a turn away or a walk-off does not count)
    used = seen & view_ok_frames
    if need_view == "any":
        ok_view = kind != "unknown"
        msg = f"view: mostly {kind}"
    else:
        share = float(used.sum() / max(seen.sum(), 1))
        ok_view = bool(used.sum() >= 3)
        msg = (
            f"this test needs {VIEW_HUMAN[need_view]}; {100 * share:.0f}% of the frames with a "
            f"person ({used_duration_s(t, used, fs):.1f} s) are {VIEW_HUMAN[need_view]} (mostly {kind})"
            + ("; only those frames are used" if ok_view and share < 0.99 else "")
        )
    result.check("view", ok_view, msg, kind, need_view)
    return kind, side, used, ok_view


def analyse_trunk_bend(pose, result: AssessmentResult) -> PoseData | None:
    """:func:`analyse_pose` for a forward bend of the trunk seen from the side (hip hinge, lumbar flexion).

    Shoulders and hips seen in half the frames, >= 1 s in a side view, scored on
    ``trunk_inclination_deg`` (a sagittal angle: valid from a side view only, Stenum 2021).
    """
    return analyse_pose(
        pose,
        result,
        need_view="sagittal",
        landmarks=[11, 12, 23, 24],
        min_duration_s=1.0,
        min_visible_frac=0.5,
        angles=("trunk_inclination_deg",),
    )


def note_setup(result: AssessmentResult, an: AnalysisResult) -> None:
    """Record how far the angles can be trusted: the camera tilt used and each angle's median
    expected error over the frames where it was reported (``angle_errors_deg``)."""
    from movekit.analysis.error_model import MAX_ERROR_DEG, gating

    if not gating():
        result.flag(
            "ungated",
            "RESEARCH MODE: joint angles over their expected-error limit were NOT "
            "refused; this is not a clinical result",
        )
    if an.tilt is None:
        result.flag(
            "camera_tilt_unknown",
            "camera tilt unknown: angles referred to the vertical are "
            "reported only where no tilt up to the validated range could push them over "
            f"{MAX_ERROR_DEG:g} deg (movekit calibrate level, or capture --tilt)",
        )
    else:
        result.flag("camera_tilt", f"angles corrected for the {an.tilt.describe()}")
    errs = {}
    for name, a in an.angles.items():
        e = an.error_deg.get(name)
        shown = np.isfinite(a) & np.isfinite(e) if e is not None else np.zeros(len(a), bool)
        if shown.any():
            errs[name] = round(float(np.median(e[shown])), 1)
    result.angle_errors_deg = errs


def check_angle_errors(result: AssessmentResult, an: AnalysisResult, usable, angles) -> bool:
    """The ``angle_error`` check of :func:`analyse_pose` (see there)."""
    parts, ok = [], False
    for name in angles:
        shown = usable & np.isfinite(an.angles[name])
        what = name.removesuffix("_deg").replace("_", " ")
        if shown.sum() >= 3:
            ok = True
            parts.append(
                f"{what}: expected error +-{np.median(an.error_deg[name][shown]):.1f} deg, "
                f"reported in {100 * shown.sum() / max(usable.sum(), 1):.0f}% of the frames used"
            )
        else:
            parts.append(an.reason(name, frames=usable))
    return result.check(
        "angle_error", ok, "; ".join(parts), required=f"expected error <= {an.max_error_deg:g} deg (docs/validity.md)"
    )


def used_duration_s(t_s, used, fs_hz: float) -> float:
    """Time (s) covered by the ``used`` frames: their count over the frame rate, so a stretch in
    the wrong view or without a person in the middle of a recording does not count."""
    return float(np.count_nonzero(used) / fs_hz) if fs_hz > 0 else 0.0


def leg_length_px(points: np.ndarray, side: str) -> np.ndarray:
    """Hip-knee plus knee-ankle length per frame (px) on one side."""
    h, k, a = lm.HIP[side], lm.KNEE[side], lm.ANKLE[side]
    return np.linalg.norm(points[:, k, :2] - points[:, h, :2], axis=1) + np.linalg.norm(
        points[:, a, :2] - points[:, k, :2], axis=1
    )


def shank_length_px(points: np.ndarray, sides=lm.SIDES) -> float:
    """Median knee-ankle length (px) over the frames and the given side(s); the unit the video
    assessments scale their thresholds by. NaN when never seen."""
    p = np.asarray(points, dtype=np.float64)
    sides = (sides,) if isinstance(sides, str) else tuple(sides)
    k = [lm.KNEE[s] for s in sides]
    a = [lm.ANKLE[s] for s in sides]
    d = np.linalg.norm(p[:, k, :2] - p[:, a, :2], axis=2)
    return float(np.nanmedian(d)) if np.isfinite(d).any() else float("nan")


#: A controlled squat or step-down takes at least this long down and back up (s); faster
#: "reps" are jumps, landings or tracking jumps and are not scored.
MIN_CONTROLLED_PHASE_S = 0.4


def controlled(rep) -> bool:
    """True when both phases of a :class:`~movekit.analysis.reps.Rep` last >= 0.4 s."""
    return rep.time_to_peak_s >= MIN_CONTROLLED_PHASE_S and rep.return_s >= MIN_CONTROLLED_PHASE_S


#: A standing bend keeps the feet on the floor: ankles that rise or fall by more than half a
#: torso length (about 25 cm for a 0.5 m torso; heel lift in gait is a few cm) during a "rep"
#: belong to a jump or a landing (movekit bound).
MAX_FEET_TRAVEL_TORSO = 0.5


def feet_planted(points: np.ndarray, t_s: np.ndarray, rep) -> bool:
    """True unless the ankles (image y, px; either ankle) travel more than
    :data:`MAX_FEET_TRAVEL_TORSO` torso lengths from the rest before a
    :class:`~movekit.analysis.reps.Rep` (its ``valley_before_idx``, and at least
    :data:`MIN_REST_BEFORE_S` before the rep starts) to its end. So a landing crouch whose "rest
    before" is the last instant of the fall is refused (seen on the Sports2D demo: ankles about
    230 px, 2.3 torso lengths, lower within 0.3 s). Undecidable (ankles or torso never seen)
    counts as planted."""
    t_s = np.asarray(t_s, dtype=np.float64)
    rest = int(np.searchsorted(t_s, t_s[rep.start_idx] - MIN_REST_BEFORE_S - 1e-9))
    seg = np.asarray(points, dtype=np.float64)[min(rest, rep.valley_before_idx) : rep.end_idx + 1]
    ankles_y = seg[:, [lm.ANKLE[s] for s in lm.SIDES], 1]
    seen = np.isfinite(ankles_y).sum(axis=1)  # either ankle: in a side view one is often hidden
    feet_y = np.where(seen > 0, np.nansum(ankles_y, axis=1) / np.maximum(seen, 1), np.nan)
    torso = trunk_length_px(seg)
    if not (np.isfinite(feet_y).sum() >= 2 and np.isfinite(torso).any()):
        return True
    return bool(np.nanmax(feet_y) - np.nanmin(feet_y) <= MAX_FEET_TRAVEL_TORSO * np.nanmedian(torso))


#: The rest before a bend must be seen for this long (s) before the bend starts, or the bend
#: may have begun before the person was found (a landing, a tracking loss): movekit bound.
MIN_REST_BEFORE_S = 0.2


def seen_from_rest(t_s, x, rep) -> bool:
    """True when ``x`` was seen (finite, without a gap) for at least :data:`MIN_REST_BEFORE_S`
    before the :class:`~movekit.analysis.reps.Rep` leaves its rest band."""
    finite = np.isfinite(np.asarray(x, dtype=np.float64)[: rep.start_idx + 1])
    gaps = np.flatnonzero(~finite)
    first = int(gaps[-1]) + 1 if gaps.size else 0
    return bool(t_s[rep.start_idx] - t_s[first] >= MIN_REST_BEFORE_S - 1e-9)


def standing_bends(result: AssessmentResult, pd: PoseData, x, bends, scored_as: str = "") -> tuple[list, list]:
    """``(scored, ignored)``: the bends of ``x`` that can be scored as standing movements
    (:func:`feet_planted` and :func:`seen_from_rest`) and the others, which are flagged
    ("bends_ignored") on ``result``."""
    scored, ignored = [], []
    for rep in bends:
        ok = feet_planted(pd.points, pd.t_s, rep) and seen_from_rest(pd.t_s, x, rep)
        (scored if ok else ignored).append(rep)
    if ignored:
        result.flag(
            "bends_ignored",
            f"{len(ignored)} forward bend(s) with the feet leaving the floor "
            f"(jumps, landings) or not seen from standing were not scored{scored_as}",
        )
    return scored, ignored


def view_kinds(views) -> np.ndarray:
    """Per-frame "sagittal", "frontal", "oblique" or "unknown" from view labels."""
    return np.array([_kind(str(v)) for v in views])
