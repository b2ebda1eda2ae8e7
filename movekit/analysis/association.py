"""The same person in every camera (issue 17): association at the start, consistency over the take.

MediaPipe's Pose follows one person per camera; with several people in view each camera may
follow somebody else. With calibrated cameras (intrinsics and extrinsics known) the views of one
person are tied by the geometry: their landmarks triangulate to one 3D skeleton that reprojects
onto every view (Hartley & Zisserman 2004, Multiple View Geometry, 2nd ed., sec. 9.1 and 12.2).
Two different people do not.

* :func:`associate`: the client chosen in one view; in every other view, the candidate whose
  skeleton is consistent with the client's (:func:`pair_error_torso` against the chosen view, or
  the reprojection of the client triangulated from the views already associated, which has no
  epipolar ambiguity). Refused (:class:`~movekit.errors.MovekitError`) when no candidate is
  consistent in a view, or two are.
* :func:`view_errors_torso`: per view and frame, how far that view's skeleton lies from the
  others' (leave-one-out triangulation reprojected into it; with two views, the two-view
  reprojection error).
* :func:`inconsistent_stretches`: the stretches where a view is to be excluded, each an event
  with its time span and reason ("followed another person", "blocked").

Errors are in torso lengths of the view (mid-shoulder to mid-hip, px), so one threshold serves
near and far cameras. The threshold :data:`MAX_ERROR_TORSO` was measured on Pose2Sim's
Demo_MultiPerson trial (docs/benchmarks.md, "The same person in every camera").

Left and right labels: a pose model sometimes mirrors a skeleton (a back view taken for a front
view); for identity the labels do not matter, so every error here is the smaller of the skeleton
as labelled and mirrored (:data:`movekit.analysis.triangulation.MIRROR`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from movekit.analysis.cameras import PinholeCamera
from movekit.analysis.triangulation import MIRROR, triangulate
from movekit.errors import MovekitError

#: A view's skeleton is the client's when the median distance (over its landmarks) between it and
#: the client reprojected from the other views is under this many of its torso lengths. Measured on
#: Pose2Sim's Demo_MultiPerson (4 views, 100 frames, the man and the woman each as the client;
#: 652 view-frames per side, docs/benchmarks.md): the same person median 0.11, 99th percentile
#: 0.64 (the high end: the man twisting in cam03, his skeleton badly placed); the other person
#: median 1.63, 1st percentile 0.47, minimum 0.28 (where one stands right behind the other). 0.35,
#: the value scripts/build_reference.py keeps for its reference, also leaves out the badly placed
#: frames, which is wanted (the reason then says so: :data:`OTHER_PERSON_TORSO`).
MAX_ERROR_TORSO = 0.35
#: Landmarks (visibility >= :data:`MIN_WEIGHT` in the views compared) needed to judge a skeleton.
MIN_POINTS = 6
#: A view whose torso centre lies further than this many torso lengths from the client's (the
#: other views reprojected) follows somebody else; nearer, its skeleton is the client's badly
#: placed (partly hidden, twisted). Demo_MultiPerson: the same person 0.47 at most, the other
#: person 0.92 at least (652 view-frames each, docs/benchmarks.md).
OTHER_PERSON_TORSO = 0.7
#: With two views only, the two-view error (:func:`pair_error_torso`) over which they are not one
#: person: Demo_MultiPerson, the same person 0.15 (99th percentile over 6 camera pairs), the
#: other person 0.29 or more (1st percentile) in the four pairs whose epipolar planes do not
#: hold both people; in the two pairs that do (cam02-cam03, cam03-cam04) the other person
#: scores as low as 0.02-0.04 and two views cannot tell them apart (docs/benchmarks.md).
MAX_PAIR_ERROR_TORSO = 0.2
MIN_WEIGHT = 0.5
#: Torso landmarks (shoulders, hips): a view "sees" the client when at least three are visible.
TORSO = (11, 12, 23, 24)


def _quiet_nanmedian(x: np.ndarray, axis) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=axis)


def torso_length_px(points_px: np.ndarray) -> np.ndarray:
    """Torso length (px), mid-shoulder to mid-hip, of ``points_px (..., 33, 2)`` -> ``(...)``."""
    p = np.asarray(points_px, dtype=np.float64)
    return np.linalg.norm(p[..., 11:13, :2].mean(axis=-2) - p[..., 23:25, :2].mean(axis=-2), axis=-1)


def torso_centre_px(points_px: np.ndarray) -> np.ndarray:
    """Torso centre (px): the mean of the shoulders and hips of ``points_px (..., 33, 2)`` -> ``(..., 2)``."""
    return np.asarray(points_px, dtype=np.float64)[..., list(TORSO), :2].mean(axis=-2)


def _reproj_error_torso(
    points_px: np.ndarray, weights: np.ndarray, projected_px: np.ndarray, min_weight: float
) -> np.ndarray:
    """Median landmark distance (torso lengths of the projection) between a view's skeletons
    ``(F, 33, 2)`` and the client projected into it ``(F, 33, 2)``, as labelled or mirrored,
    whichever is smaller: ``(F,)``; NaN with fewer than :data:`MIN_POINTS` usable landmarks."""
    scale = torso_length_px(projected_px)
    out = []
    for order in (slice(None), MIRROR):
        d = np.linalg.norm(points_px[:, order] - projected_px, axis=-1)
        ok = (weights[:, order] >= min_weight) & np.isfinite(d)
        d = np.where(ok, d, np.nan)
        med = _quiet_nanmedian(d, axis=1) / scale
        out.append(np.where(ok.sum(axis=1) >= MIN_POINTS, med, np.nan))
    return np.fmin(out[0], out[1])


def pair_error_torso(
    points_a_px: np.ndarray,
    weights_a: np.ndarray,
    points_b_px: np.ndarray,
    weights_b: np.ndarray,
    camera_a: PinholeCamera,
    camera_b: PinholeCamera,
    *,
    min_weight: float = MIN_WEIGHT,
) -> np.ndarray:
    """How far two views' skeletons are from being one person, frame by frame.

    The two skeletons are triangulated together (two-view DLT; :func:`triangulate` with no outlier
    rejection) and the median over landmarks of the reprojection error is divided by the mean
    torso length of the two views. Two-view reprojection error is a form of the epipolar
    distance (Hartley & Zisserman 2004, sec. 12.3): a landmark moved along its epipolar line
    still fits, so two people standing in one epipolar plane can look consistent to one pair of
    views (:func:`associate` then uses a third view).

    Parameters
    ----------
    points_a_px, points_b_px : (frames, 33, >=2) px, as each camera saw them
    weights_a, weights_b : (frames, 33) visibility 0..1
    camera_a, camera_b : the calibrated cameras

    Returns
    -------
    (frames,) error in torso lengths (the smaller of ``b`` as labelled and mirrored); NaN where
    fewer than :data:`MIN_POINTS` landmarks are visible in both views.
    """
    a = np.asarray(points_a_px, dtype=np.float64)[..., :2]
    b = np.asarray(points_b_px, dtype=np.float64)[..., :2]
    wa = np.nan_to_num(np.asarray(weights_a, dtype=np.float64))
    wb = np.nan_to_num(np.asarray(weights_b, dtype=np.float64))
    scale = 0.5 * (torso_length_px(a) + torso_length_px(b))
    out = []
    for order in (slice(None), MIRROR):
        _, err, n = triangulate(
            np.stack([a, b[:, order]]), np.stack([wa, wb[:, order]]), [camera_a, camera_b],
            min_weight=min_weight, max_reproj_px=np.inf,
        )  # fmt: skip
        err = np.where(n >= 2, err, np.nan)
        med = _quiet_nanmedian(err, axis=1) / scale
        out.append(np.where((n >= 2).sum(axis=1) >= MIN_POINTS, med, np.nan))
    return np.fmin(out[0], out[1])


def client_error_torso(
    points_px: np.ndarray,
    weights: np.ndarray,
    camera: PinholeCamera,
    client_lab_m: np.ndarray,
    *,
    min_weight: float = MIN_WEIGHT,
) -> np.ndarray:
    """How far a view's skeletons ``(frames, 33, 2)`` lie from the client's 3D landmarks
    ``(frames, 33, 3)`` (lab, m) reprojected into that view: ``(frames,)`` in torso lengths of the
    reprojection (median over landmarks; the smaller of as labelled and mirrored)."""
    proj = camera.project(np.asarray(client_lab_m, dtype=np.float64))
    pts = np.asarray(points_px, dtype=np.float64)[..., :2]
    return _reproj_error_torso(pts, np.nan_to_num(np.asarray(weights, dtype=np.float64)), proj, min_weight)


@dataclass
class Association:
    """Which candidate is the client in each view.

    Attributes
    ----------
    chosen : per view, the index of the client's skeleton among that view's candidates
    errors_torso : per view, every candidate's error (torso lengths; 0 for the reference view's
        client, NaN where it could not be judged)
    reference_view : the view the client was chosen in
    method : per view, "chosen", "two-view" or "triangulated" (how it was judged)
    """

    chosen: list[int]
    errors_torso: list[list[float]]
    reference_view: int
    method: list[str] = field(default_factory=list)


def _check_candidates(candidates, cameras) -> None:
    if len(candidates) != len(cameras) or len(cameras) < 2:
        raise MovekitError(
            f"association needs two or more views with one calibrated camera each "
            f"(got {len(candidates)} views, {len(cameras)} cameras)"
        )
    for v, cands in enumerate(candidates):
        if not cands:
            raise MovekitError(f"camera {cameras[v].name}: nobody found in the frame, so the client cannot be found")


def _client_3d(candidates, cameras, chosen: dict[int, int], min_weight: float) -> np.ndarray | None:
    """The client triangulated from the views associated so far, (1, 33, 3) m; None with one view."""
    if len(chosen) < 2:
        return None
    views = sorted(chosen)
    pts = np.stack([np.asarray(candidates[v][chosen[v]][0], np.float64)[None, :, :2] for v in views])
    w = np.stack([np.nan_to_num(np.asarray(candidates[v][chosen[v]][1], np.float64))[None] for v in views])
    cams = [cameras[v] for v in views]
    X, _, _ = triangulate(pts, w, cams, min_weight=min_weight)  # outlier views dropped (3 views or more)
    loose, _, _ = triangulate(pts, w, cams, min_weight=min_weight, max_reproj_px=np.inf)
    X = np.where(np.isfinite(X), X, loose)  # a point the views place less tightly still counts
    return X if np.isfinite(X[0, list(TORSO)]).all() else None


def _pick(errors: list[float], name: str, ref_name: str, max_error_torso: float, ambiguity: float) -> int:
    """The one consistent candidate (MovekitError when none is, or two are)."""
    e = np.array([np.inf if not np.isfinite(x) else x for x in errors])
    best = int(np.argmin(e))
    shown = ", ".join("?" if not np.isfinite(x) else f"{x:.2f}" for x in errors)
    if not e[best] <= max_error_torso:
        raise MovekitError(
            f"camera {name}: nobody in view is consistent with the client chosen in camera {ref_name} "
            f"(errors {shown} torso lengths, at most {max_error_torso:g} accepted): check the "
            "calibration, the camera order (--cameras) and that the client is in every view"
        )
    close = e <= ambiguity * e[best]
    if close.sum() > 1:
        raise MovekitError(
            f"camera {name}: {int(close.sum())} people are consistent with the client "
            f"(errors {shown} torso lengths, none {ambiguity:g} times better than the others): cannot "
            "tell which is the client; choose them with --person in a frame where they stand apart"
        )
    return best


def associate(
    candidates: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]],
    cameras: Sequence[PinholeCamera],
    client: int,
    *,
    reference_view: int = 0,
    max_error_torso: float = MAX_ERROR_TORSO,
    max_pair_error_torso: float = MAX_PAIR_ERROR_TORSO,
    ambiguity: float = 4.0,
    min_weight: float = MIN_WEIGHT,
) -> Association:
    """The client in every view, from one synchronised frame per view.

    Parameters
    ----------
    candidates : per view, the people found in that view's frame, each ``(image_px (33, >=2) px,
        visibility (33,))``
    cameras : one calibrated camera per view (same world frame)
    client : index of the client among ``candidates[reference_view]``
    max_error_torso, max_pair_error_torso : a candidate is consistent with the client under this
        error (torso lengths) against the triangulated client (:data:`MAX_ERROR_TORSO`), or against
        the reference view alone (:data:`MAX_PAIR_ERROR_TORSO`)
    ambiguity : the best candidate must be at least this many times more consistent than every
        other. 4: over every ordered camera pair and frame of Demo_MultiPerson with both people as
        candidates (docs/benchmarks.md), the two-view choice was then never wrong (1616 right,
        301 refused of 1917; ratio 3: 2 wrong) and the triangulated choice never wrong (1505
        right, 199 refused of 1704; ratio 2: 1 wrong). Measured on the data the thresholds were
        set on (no held-out trial with several people exists in the pinned data).

    Views are judged in order: while only the reference view is associated, by the two-view
    error against it (:func:`pair_error_torso`); once two views are, by the client triangulated
    from them and reprojected (:func:`client_error_torso`), which also breaks the epipolar
    ambiguity. A view that is ambiguous in the two-view test is judged again once the client is
    triangulated from two others.

    Raises
    ------
    MovekitError
        When a view has nobody, nobody consistent, or two consistent candidates.
    """
    _check_candidates(candidates, cameras)
    if not 0 <= client < len(candidates[reference_view]):
        raise MovekitError(f"client index {client} is not among the {len(candidates[reference_view])} people found")
    chosen = {reference_view: client}
    errors: dict[int, list[float]] = {reference_view: [float("nan")] * len(candidates[reference_view])}
    errors[reference_view][client] = 0.0
    method = {reference_view: "chosen"}
    pending = [v for v in range(len(cameras)) if v != reference_view]
    for _ in range(2):  # a second pass for views left ambiguous by two views alone
        held: list[int] = []
        for v in pending:
            X = _client_3d(candidates, cameras, chosen, min_weight)
            errs = _errors(candidates, cameras, v, X, chosen, reference_view, min_weight)
            try:
                limit = max_error_torso if X is not None else max_pair_error_torso
                chosen[v] = _pick(errs, cameras[v].name, cameras[reference_view].name, limit, ambiguity)
            except MovekitError:
                if X is not None or len(cameras) < 3:
                    raise
                held.append(v)  # two views cannot tell: wait for a triangulated client
                continue
            errors[v] = errs
            method[v] = "triangulated" if X is not None else "two-view"
        if not held:
            break
        if len(chosen) < 2:
            v = held[0]
            _pick(
                _errors(candidates, cameras, v, None, chosen, reference_view, min_weight),
                cameras[v].name,
                max_error_torso,
                ambiguity,
            )  # fmt: skip  (raises: no view could be told)
        pending = held
    n = len(cameras)
    return Association([chosen[v] for v in range(n)], [errors[v] for v in range(n)], reference_view,
                       [method[v] for v in range(n)])  # fmt: skip


def _errors(candidates, cameras, v, X, chosen, reference_view, min_weight) -> list[float]:
    """Every candidate's error in view ``v``: against the triangulated client ``X`` when there is
    one, else against the reference view's client (two-view)."""
    ref_pts, ref_w = candidates[reference_view][chosen[reference_view]]
    out = []
    for pts, w in candidates[v]:
        p = np.asarray(pts, np.float64)[None, :, :2]
        wv = np.nan_to_num(np.asarray(w, np.float64))[None]
        if X is not None:
            e = client_error_torso(p, wv, cameras[v], X, min_weight=min_weight)
        else:
            e = pair_error_torso(
                np.asarray(ref_pts, np.float64)[None, :, :2], np.asarray(ref_w, np.float64)[None], p, wv,
                cameras[reference_view], cameras[v], min_weight=min_weight,
            )  # fmt: skip
        out.append(float(e[0]))
    return out


def view_errors_torso(
    points_px: np.ndarray,
    weights: np.ndarray,
    cameras: Sequence[PinholeCamera],
    *,
    excluded: np.ndarray | None = None,
    min_weight: float = MIN_WEIGHT,
) -> tuple[np.ndarray, np.ndarray]:
    """How far each view's skeleton lies from the other views', frame by frame.

    Parameters
    ----------
    points_px : (cams, frames, 33, >=2) px, synchronised (one frame time for every view)
    weights : (cams, frames, 33) visibility 0..1
    cameras : one calibrated camera per view
    excluded : (cams, frames) bool, optional
        Views not used to triangulate the client for the *other* views (already found wrong);
        their own error is still computed.

    Returns
    -------
    errors_torso : (cams, frames)
        Error in torso lengths. With three views or more: the view's skeleton against the other
        views triangulated (their own outlier views dropped, :func:`triangulate`) and reprojected
        into it (:func:`client_error_torso`), so a view that follows somebody else stands out
        while a majority of views follow the client. With two views: the two-view error
        (:func:`pair_error_torso`), the same for both (two views cannot tell which one is
        wrong). NaN where it cannot be judged (the view or the others see too little).
    offset_torso : (cams, frames)
        With three views or more, the distance between the view's torso centre and the others'
        reprojected (torso lengths): above :data:`OTHER_PERSON_TORSO` the view follows somebody
        else. NaN with two views.
    """
    pts = np.asarray(points_px, dtype=np.float64)[..., :2]
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    C = len(cameras)
    if pts.ndim != 4 or pts.shape[0] != C or w.shape != pts.shape[:3] or C < 2:
        raise MovekitError(
            f"view errors need points (cams, frames, 33, 2) and weights (cams, frames, 33) for two or more "
            f"cameras; got {pts.shape} and {w.shape} for {C} cameras"
        )
    offset = np.full(pts.shape[:2], np.nan)
    if C == 2:
        e = pair_error_torso(pts[0], w[0], pts[1], w[1], cameras[0], cameras[1], min_weight=min_weight)
        return np.stack([e, e]), offset
    out = np.full(pts.shape[:2], np.nan)
    for c in range(C):
        others = [o for o in range(C) if o != c]
        wo = w[others] if excluded is None else np.where(excluded[others][..., None], 0.0, w[others])
        X, _, _ = triangulate(pts[others], wo, [cameras[o] for o in others], min_weight=min_weight)
        out[c] = client_error_torso(pts[c], w[c], cameras[c], X, min_weight=min_weight)
        proj = cameras[c].project(X)
        offset[c] = np.linalg.norm(torso_centre_px(pts[c]) - torso_centre_px(proj), axis=-1) / torso_length_px(proj)
    return out, offset


def sees_client(weights: np.ndarray, min_weight: float = MIN_WEIGHT) -> np.ndarray:
    """``weights (..., 33)`` -> ``(...)`` bool: at least three torso landmarks (shoulders, hips) visible."""
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    return (w[..., list(TORSO)] >= min_weight).sum(axis=-1) >= 3


def _runs(flag: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` (stop exclusive) of the True runs of a 1-D bool array."""
    d = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _close_gaps(flag: np.ndarray, t_s: np.ndarray, gap_s: float) -> np.ndarray:
    """``flag`` with False runs shorter than ``gap_s`` between two True runs set True."""
    out = flag.copy()
    for a, b in _runs(~flag):
        if a > 0 and b < flag.size and t_s[b] - t_s[a - 1] <= gap_s + 1e-9:
            out[a:b] = True
    return out


@dataclass
class ViewCheck:
    """Where each view is excluded, and why.

    Attributes
    ----------
    exclude : (cams, frames) bool, the frames each view is not triangulated in
    errors_torso : (cams, frames) :func:`view_errors_torso`
    events : one dict per stretch: ``t_s`` (start, s), ``t_end_s`` (end: the last frame's time, s),
        ``kind`` "view_excluded", ``camera`` (name; two names joined by "+" when two views disagree
        and cannot be told apart), ``reason`` ("blocked", "not recorded" (no frames of
        that view there), "followed another person", "pose inconsistent with the other cameras" or,
        with two views, "views disagree"), ``median_error_torso``, ``text`` (one line for a person)
    """

    exclude: np.ndarray
    errors_torso: np.ndarray
    events: list[dict]


def _event(t_s, a: int, b: int, camera: str, reason: str, err: float) -> dict:
    t0, t1 = float(t_s[a]), float(t_s[b - 1])
    return {
        "t_s": t0,
        "t_end_s": t1,
        "kind": "view_excluded",
        "camera": camera,
        "reason": reason,
        "median_error_torso": err,
        "text": f"camera {camera} {reason}{' (client not found)' if reason == 'blocked' else ''} {t0:.2f}-{t1:.2f} s",
    }


def check_views(
    t_s: np.ndarray,
    points_px: np.ndarray,
    weights: np.ndarray,
    cameras: Sequence[PinholeCamera],
    *,
    max_error_torso: float = MAX_ERROR_TORSO,
    min_duration_s: float = 0.1,
    gap_s: float = 0.1,
    min_weight: float = MIN_WEIGHT,
) -> ViewCheck:
    """The stretches where a view is inconsistent with the others (excluded, with an event each).

    A frame of a view is *wrong* when its error (:func:`view_errors_torso`) is over
    ``max_error_torso``, and *blocked* when the view does not see the client (:func:`sees_client`)
    while the others do (two others agree, or with two views the other sees the client). A
    wrong frame is "followed another person" when the view's torso is further than
    :data:`OTHER_PERSON_TORSO` from the client's, else "pose inconsistent with the other
    cameras". Runs of each reason are joined across gaps up to ``gap_s`` and kept when they last
    at least ``min_duration_s`` (shorter slips are left to :func:`triangulate`'s per-landmark
    outlier rejection). With two views a wrong stretch cannot be pinned on one of them: both
    are excluded and the event names both ("views disagree").

    Parameters
    ----------
    t_s : (frames,) s, the common clock of the synchronised views
    points_px, weights, cameras : as :func:`view_errors_torso`
    """
    t = np.asarray(t_s, dtype=np.float64)
    err, offset, wrong = _wrong_views(points_px, weights, cameras, max_error_torso, min_weight)
    C, F = err.shape
    seen = sees_client(weights, min_weight)
    others_ok = np.array([(seen & ~wrong)[[o for o in range(C) if o != c]].sum(axis=0) for c in range(C)])
    reasons = {"blocked": ~seen & (others_ok >= min(2, C - 1))}
    if C > 2:
        reasons["followed another person"] = wrong & (offset > OTHER_PERSON_TORSO)
        reasons["pose inconsistent with the other cameras"] = wrong & ~(offset > OTHER_PERSON_TORSO)
    exclude = np.zeros((C, F), bool)
    events: list[dict] = []
    names = [c.name for c in cameras]
    for reason, flags in reasons.items():
        for c in range(C):
            for a, b in _stretches(flags[c], t, gap_s, min_duration_s):
                exclude[c, a:b] = True
                events.append(_event(t, a, b, names[c], reason, _median(err[c, a:b])))
    if C == 2:
        for a, b in _stretches(wrong[0], t, gap_s, min_duration_s):
            exclude[:, a:b] = True
            events.append(_event(t, a, b, "+".join(names), "views disagree", _median(err[0, a:b])))
    events.sort(key=lambda e: (e["t_s"], e["camera"]))
    return ViewCheck(exclude, err, events)


def _wrong_views(points_px, weights, cameras, max_error_torso: float, min_weight: float):
    """:func:`view_errors_torso` with the wrong views taken out one at a time: in each frame, while
    more than two views are trusted and one of them is over ``max_error_torso``, the worst is
    marked wrong and the others judged again without it (a view following somebody else spoils
    the triangulation the other views are judged against). Returns errors, offsets and the
    wrong mask, all (cams, frames)."""
    err, offset = view_errors_torso(points_px, weights, cameras, min_weight=min_weight)
    C = err.shape[0]
    wrong = np.zeros(err.shape, bool)
    if C == 2:
        return err, offset, err > MAX_PAIR_ERROR_TORSO
    pts = np.asarray(points_px, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    for _ in range(C - 2):
        trusted = np.where(wrong, -np.inf, np.nan_to_num(err, nan=-np.inf))
        worst = np.argmax(trusted, axis=0)
        redo = (trusted.max(axis=0) > max_error_torso) & ((~wrong).sum(axis=0) > 2)
        if not redo.any():
            break
        idx = np.flatnonzero(redo)
        wrong[worst[idx], idx] = True
        e, o = view_errors_torso(pts[:, idx], w[:, idx], cameras, excluded=wrong[:, idx], min_weight=min_weight)
        err[:, idx], offset[:, idx] = e, o
    wrong |= err > max_error_torso  # judged by the trusted views only
    return err, offset, wrong


@dataclass
class FrameJudgement:
    """One synchronised frame of every view judged live (:func:`judge_frame`).

    Attributes
    ----------
    errors_torso : (cams,) each view's error (torso lengths; :func:`view_errors_torso`); NaN where
        it could not be judged
    wrong : (cams,) bool, the views that follow somebody else (or a badly placed skeleton)
    suspects : the views to look for the client in: the wrong views while at least two others agree
        (three views or more); with two views, the view that is not ``reference_view`` when they
        disagree (two views cannot tell which is wrong; the client was chosen in the reference)
    trusted : the views that agree (not wrong, judged), the client's views for :func:`find_client`
    """

    errors_torso: np.ndarray
    wrong: np.ndarray
    suspects: list[int]
    trusted: list[int]

    @property
    def judged(self) -> bool:
        """Whether the frame could be judged at all (some view's error is finite; with three views
        or more, the others' may be NaN once a wrong view is left out, as in :func:`check_views`)."""
        return bool(np.isfinite(self.errors_torso).any())

    @property
    def disagree(self) -> bool:
        return bool(self.wrong.any())


def judge_frame(
    points_px: np.ndarray,
    weights: np.ndarray,
    cameras: Sequence[PinholeCamera],
    *,
    reference_view: int = 0,
    max_error_torso: float = MAX_ERROR_TORSO,
    min_weight: float = MIN_WEIGHT,
) -> FrameJudgement:
    """Whether the views of one synchronised frame follow one person, judged as :func:`check_views`
    judges each frame (the same errors and thresholds: :data:`MAX_ERROR_TORSO`, with two views
    :data:`MAX_PAIR_ERROR_TORSO`), for a live capture that checks now and then.

    Parameters
    ----------
    points_px : (cams, 33, >=2) px, each view's followed skeleton at one time
    weights : (cams, 33) visibility 0..1
    cameras : one calibrated camera per view
    reference_view : the view the client was chosen in (with two views, the one trusted)
    """
    pts = np.asarray(points_px, dtype=np.float64)[:, None, :, :2]
    w = np.asarray(weights, dtype=np.float64)[:, None]
    err, _, wrong = _wrong_views(pts, w, cameras, max_error_torso, min_weight)
    err, wrong = err[:, 0], wrong[:, 0] & np.isfinite(err[:, 0])
    C = len(cameras)
    if C == 2:
        trusted = [reference_view] if wrong.any() else [v for v in range(C) if np.isfinite(err[v])]
        return FrameJudgement(err, wrong, [1 - reference_view] if wrong.any() else [], trusted)
    trusted = [v for v in range(C) if not wrong[v] and sees_client(w[v, 0], min_weight)]
    if len(trusted) == 2:  # left with two views: they must agree with each other (the two-view test)
        a, b = trusted
        pair = pair_error_torso(pts[a], w[a], pts[b], w[b], cameras[a], cameras[b], min_weight=min_weight)[0]
        trusted = trusted if pair <= MAX_PAIR_ERROR_TORSO else []
    suspects = [v for v in range(C) if wrong[v]] if len(trusted) >= 2 else []
    return FrameJudgement(err, wrong, suspects, trusted)


def find_client(
    candidates: Sequence[tuple[np.ndarray, np.ndarray]],
    view: int,
    points_px: np.ndarray,
    weights: np.ndarray,
    cameras: Sequence[PinholeCamera],
    trusted: Sequence[int],
    *,
    max_error_torso: float = MAX_ERROR_TORSO,
    max_pair_error_torso: float = MAX_PAIR_ERROR_TORSO,
    ambiguity: float = 4.0,
    min_weight: float = MIN_WEIGHT,
) -> tuple[int | None, list[float]]:
    """Which of the people found in ``view`` is the client the ``trusted`` views follow, judged as
    :func:`associate` judges a view (the same errors, thresholds and ambiguity rule).

    Parameters
    ----------
    candidates : the people found in ``view``'s frame, each ``(image_px (33, >=2) px, visibility (33,))``
    view : the view searched
    points_px, weights : (cams, 33, >=2) px and (cams, 33): the trusted views' skeletons at the
        same time (the other rows are not read)
    cameras : one calibrated camera per view
    trusted : the views that agree on the client (one: the two-view test against it; two or more:
        the client triangulated from them and reprojected)

    Returns
    -------
    index : the candidate that is the client, or None when nobody is consistent, or two are
    errors_torso : every candidate's error (torso lengths)
    """
    if not trusted or not candidates:
        return None, []
    cands: list[list] = [[] for _ in cameras]
    for v in trusted:
        cands[v] = [(np.asarray(points_px[v], np.float64), np.asarray(weights[v], np.float64))]
    cands[view] = list(candidates)
    chosen = {v: 0 for v in trusted}
    X = _client_3d(cands, cameras, chosen, min_weight)
    if X is None and len(trusted) > 1:
        return None, []  # the trusted views do not place the client's torso together
    errs = _errors(cands, cameras, view, X, chosen, trusted[0], min_weight)
    limit = max_error_torso if X is not None else max_pair_error_torso
    try:
        return _pick(errs, cameras[view].name, cameras[trusted[0]].name, limit, ambiguity), errs
    except MovekitError:
        return None, errs


def _stretches(flag: np.ndarray, t: np.ndarray, gap_s: float, min_duration_s: float) -> list[tuple[int, int]]:
    """Runs of ``flag`` joined across gaps up to ``gap_s`` (s), those lasting ``min_duration_s`` (s) or more."""
    dt = _dt(t)
    return [(a, b) for a, b in _runs(_close_gaps(flag, t, gap_s)) if t[b - 1] - t[a] + dt >= min_duration_s - 1e-9]


def _on_clock(t_s: np.ndarray, x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``x (frames, ...)`` linearly interpolated at ``times`` (s); NaN outside ``t_s``."""
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if t.size < 2:
        return np.full((len(times),) + x.shape[1:], np.nan)
    i = np.clip(np.searchsorted(t, times, side="right") - 1, 0, t.size - 2)
    w = np.clip((times - t[i]) / (t[i + 1] - t[i]), 0.0, 1.0).reshape((-1,) + (1,) * (x.ndim - 1))
    out = (1 - w) * x[i] + w * x[i + 1]
    out[(times < t[0] - 1e-9) | (times > t[-1] + 1e-9)] = np.nan
    return out


def check_recorded_views(
    t_s: Sequence[np.ndarray],
    image_px: Sequence[np.ndarray],
    visibility: Sequence[np.ndarray],
    cameras: Sequence[PinholeCamera],
    offsets_s: Sequence[float],
    marked: Sequence[Sequence[dict]] | None = None,
    **options,
) -> tuple[ViewCheck, list[np.ndarray]]:
    """:func:`check_views` on views recorded on their own clocks, and their visibility with the
    excluded stretches taken out.

    Parameters
    ----------
    t_s, image_px, visibility : per view, ``(frames_v,)`` s, ``(frames_v, 33, >=2)`` px,
        ``(frames_v, 33)``, as :func:`movekit.analysis.multiview.triangulate_views` takes them
    cameras : one per view
    offsets_s : per view, added to its times to put it on the first view's clock
    marked : per view, its recording's events: the stretches the capture's live check marked
        (``view_excluded`` with ``check`` "live", times on the capture's one clock, taken as the
        first view's) are excluded too, and their events kept, where the per-frame check here
        did not already exclude that view
    **options : passed to :func:`check_views`

    Returns
    -------
    check : :class:`ViewCheck` on the first view's clock (event times in its seconds)
    visibility : per view, a copy with 0 in the frames whose nearest first-view frame is excluded
        for that view (those frames are then not triangulated)
    """
    t0 = np.asarray(t_s[0], dtype=np.float64)
    pts, vis = [], []
    for v in range(len(cameras)):
        tv = np.asarray(t_s[v], dtype=np.float64) + (float(offsets_s[v]) if v else 0.0)
        pts.append(_on_clock(tv, np.asarray(image_px[v], dtype=np.float64)[..., :2], t0))
        vis.append(np.nan_to_num(_on_clock(tv, np.nan_to_num(np.asarray(visibility[v], np.float64)), t0)))
    check = check_views(t0, np.stack(pts), np.stack(vis), cameras, **options)
    _name_unrecorded(check.events, t_s, cameras, offsets_s)
    if marked is not None:
        _add_live_marks(check, t0, marked)
    out = []
    for v in range(len(cameras)):
        tv = np.asarray(t_s[v], dtype=np.float64) + (float(offsets_s[v]) if v else 0.0)
        near = np.rint(np.interp(tv, t0, np.arange(t0.size))).astype(int)  # nearest first-view frame
        w = np.array(visibility[v], dtype=np.float64, copy=True)
        w[check.exclude[v, near]] = 0.0
        out.append(w)
    return check, out


def _name_unrecorded(events: list[dict], t_s, cameras, offsets_s) -> None:
    """A view "blocked" where its recording has no frames at all (it starts later or ends earlier
    than the first view: a capture cut short, a late start) is said to be so, in place: reason
    "not recorded"."""
    names = [c.name for c in cameras]
    for e in events:
        if e.get("reason") != "blocked" or e.get("camera") not in names:
            continue
        v = names.index(e["camera"])
        t = np.asarray(t_s[v], dtype=np.float64) + (float(offsets_s[v]) if v else 0.0)
        step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
        ends = e["t_s"] >= t[-1] - step
        if ends or e["t_end_s"] <= t[0] + step:
            e["reason"] = "not recorded"
            e["text"] = (
                f"camera {e['camera']} has no frames {e['t_s']:.2f}-{e['t_end_s']:.2f} s (its recording "
                f"{'ends' if ends else 'starts'} at {t[-1] if ends else t[0]:.2f} s)"
            )


def _add_live_marks(check: ViewCheck, t0: np.ndarray, marked: Sequence[Sequence[dict]]) -> None:
    """The capture's live ``view_excluded`` stretches OR-ed into ``check`` (each event once)."""
    seen: set[tuple] = set()
    for v, events in enumerate(marked):
        for e in events:
            if e.get("kind") != "view_excluded" or e.get("check") != "live":
                continue
            span = (t0 >= float(e["t_s"]) - 1e-9) & (t0 <= float(e["t_end_s"]) + 1e-9)
            key = (e["camera"], e["t_s"], e["t_end_s"])
            if span.any() and not check.exclude[v, span].all():
                check.exclude[v, span] = True
                if key not in seen:
                    check.events.append(dict(e))
            seen.add(key)
    check.events.sort(key=lambda e: (e["t_s"], e["camera"]))


def _dt(t: np.ndarray) -> float:
    """One frame interval (s): a stretch of n frames lasts n intervals."""
    return float(np.median(np.diff(t))) if t.size > 1 else 0.0


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


__all__ = [
    "FrameJudgement",
    "find_client",
    "judge_frame",
    "MAX_ERROR_TORSO",
    "MAX_PAIR_ERROR_TORSO",
    "OTHER_PERSON_TORSO",
    "check_recorded_views",
    "check_views",
    "Association",
    "ViewCheck",
    "associate",
    "client_error_torso",
    "pair_error_torso",
    "sees_client",
    "torso_centre_px",
    "torso_length_px",
    "view_errors_torso",
]
