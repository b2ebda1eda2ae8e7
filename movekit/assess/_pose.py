"""Shared steps of the video assessments: analysis of a pose series and the validity checks.

The analysis is :func:`movekit.analysis.pipeline.analyse` (offline, zero-phase cleaning, 2D image
angles); this module only decides whether the recording can answer the question: someone in
frame, the right view, the landmarks seen, long enough, sampled fast enough.

A pose triangulated from two or more calibrated cameras (``movekit triangulate``, read by
:mod:`movekit.assess.sources` as a :class:`TriangulatedSeries`) takes the same road through
:func:`analyse_pose`, so no screen needs a 3D branch of its own:

* the joint angles are :func:`movekit.analysis.multiview.angles_3d` of the lab-frame landmarks
  (the same numbers ``movekit angles`` gives for that recording), each gated by its measured
  multi-camera error (:func:`movekit.analysis.error_model.multiview_errors`; docs/validity.md,
  two-camera rows): an angle over the limit is refused with that figure, in every frame;
* no view restriction: the "needs a side view" check of the 2D path does not apply;
* the image-based measures of the screens (depth of a squat, feet on the floor, shoulder hike,
  centre of mass) read the landmarks as a *virtual camera* facing the subject sees them:
  an orthographic front view of the lab-frame landmarks, in mm (x to the image right, which is
  the subject's left; y down; :func:`virtual_front_view_mm`). Its frames are labelled
  ``"frontal"``: the front-view items of a screen are judged from it, with true lengths in the
  frontal plane (no perspective); a screen that needs side-view geometry as well reads the same
  landmarks from a virtual camera on the subject's right (:attr:`PoseData.side_points`);
* the result states the source: check ``triangulation`` (cameras, their separation, the measured
  error of every angle) and the flag ``angles_3d``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from movekit.analysis import landmarks as lm
from movekit.analysis.pipeline import AnalysisResult, frame_rate
from movekit.analysis.view import trunk_length_px
from movekit.assess.result import AssessmentResult
from movekit.calibration import analyse_calibrated

PAGNON = (
    "Pagnon et al. 2022, Pose2Sim: an open-source Python package for multiview markerless "
    "kinematics, J Open Source Softw 7:4362 (pose-model keypoints triangulated from calibrated cameras)"
)
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
    #: the triangulated pose the angles came from; None for a single camera
    triangulated: TriangulatedSeries | None = None

    @property
    def angles(self) -> dict[str, np.ndarray]:
        return self.an.angles

    @property
    def points(self) -> np.ndarray:
        """Cleaned landmarks (frames, 33, 3): image px, or for a triangulated pose the virtual
        front camera's view in mm (:func:`virtual_front_view_mm`)."""
        return self.an.landmarks

    @property
    def side_points(self) -> np.ndarray | None:
        """For a triangulated pose, the cleaned landmarks as a virtual camera on the subject's right
        sees them (mm, x toward the subject's forward, y down: :func:`virtual_side_axes`); None
        for a single camera."""
        return getattr(self.an, "side_landmarks", None)

    def angle_source(self, what: str) -> str:
        """Where ``what`` (e.g. ``"left_shoulder_abduction_deg, frontal view"``) came from:
        ``"video (what)"``, or the triangulation's cameras for a triangulated pose."""
        if self.triangulated is None:
            return f"video ({what})"
        name = what.split(",")[0]
        return f"3D ({name}, {self.triangulated.describe()})"


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
    tri = pose if isinstance(pose, TriangulatedSeries) else None
    if tri is None and not _upright_check(result, img):
        return None
    if tri is None:
        an = analyse_calibrated(pose, space="2d", offline=True, min_visibility=min_visibility)
        note_setup(result, an)
        kind, side, used, ok_view = _view_check(result, an, t, seen, fs, need_view)
        result.cite(STENUM)
        where = "" if need_view == "any" else f" in {VIEW_HUMAN[need_view]}"
    else:  # no view restriction: the angles are 3D (module docstring)
        an = analyse_triangulated(tri)
        kind, side, used, ok_view = _view_check_3d(result, an, tri, seen, need_view)
        result.cite(PAGNON)
        where = " (triangulated)"
    dur = used_duration_s(t, used, fs)
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
    return PoseData(t, an, fs, usable, kind, side, tri)


#: The most upright frames of a recording (their 10th percentile) must show the trunk within this
#: angle (deg) of the image vertical. Every screen has the client standing or sitting upright at
#: some point (at the start of a bend, between reps); a video turned on its side does not. An
#: engineering bound measured on real clips: 0.2-2.5 deg on the Sports2D and Pose2Sim demos
#: (upright, cameras rolled up to ~5 deg, forward bends included), 88 deg on the Sports2D demo
#: rotated by 90 deg (tests/test_outside_rotated_and_lost.py).
MAX_UPRIGHT_TILT_DEG = 45.0
UPRIGHT_QUANTILE = 10.0  #: percent of the frames with a trunk that must be upright


def trunk_tilt_from_image_vertical_deg(img_px: np.ndarray) -> np.ndarray:
    """Angle (deg, 0..180) of the mid-hip -> mid-shoulder line from the image's up direction, per
    frame (NaN where the trunk is not seen). 0: upright; 90: lying along the image x axis; 180:
    upside down. Image px, y down."""
    p = np.asarray(img_px, dtype=np.float64)
    v = 0.5 * (p[:, 11, :2] + p[:, 12, :2]) - 0.5 * (p[:, 23, :2] + p[:, 24, :2])
    return np.degrees(np.arctan2(np.abs(v[:, 0]), -v[:, 1]))


def _upright_check(result: AssessmentResult, img_px: np.ndarray) -> bool:
    """Check ``upright``: a single camera's image must show the person upright somewhere.

    The screens read heights and the vertical from the image's y axis (after the camera's
    tilt, which covers up to +-25 deg of roll); a video recorded with the phone on its side and
    not rotated back shows the person lying, and a foot or hip "height" is then a horizontal
    distance. Refused with the reason rather than scored.
    """
    tilt = trunk_tilt_from_image_vertical_deg(img_px)
    tilt = tilt[np.isfinite(tilt)]
    if tilt.size == 0:
        return True  # no trunk seen: the visibility and person checks say so
    most_upright = float(np.percentile(tilt, UPRIGHT_QUANTILE))
    ok = most_upright <= MAX_UPRIGHT_TILT_DEG
    msg = (
        f"the trunk is within {most_upright:.0f} deg of the image vertical in its most upright "
        f"{UPRIGHT_QUANTILE:g}% of the frames (needs <= {MAX_UPRIGHT_TILT_DEG:g})"
    )
    if not ok:
        msg = (
            f"the person is never upright in the image (trunk {most_upright:.0f} deg or more from the "
            f"image vertical in {100 - UPRIGHT_QUANTILE:g}% of the frames): the video looks rotated "
            "(a phone held sideways?); rotate it so the person stands upright and capture it again"
        )
    result.check("upright", ok, msg, round(most_upright, 1), f"<= {MAX_UPRIGHT_TILT_DEG:g} deg")
    return ok


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


# -- pose triangulated from calibrated cameras (module docstring) -----------------------------

#: the validity rows the multi-camera errors come from
MULTIVIEW_ROWS = "docs/validity.md, two-camera rows"


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / n


def subject_left_per_frame(points_lab_m) -> np.ndarray:
    """(frames, 3) horizontal unit vector toward the subject's left in each frame (lab frame, z
    up): right-to-left hip plus right-to-left shoulder, vertical part dropped; NaN where unseen."""
    p = np.asarray(points_lab_m, dtype=np.float64)
    v = (p[:, lm.HIP["left"]] - p[:, lm.HIP["right"]]) + (p[:, lm.SHOULDER["left"]] - p[:, lm.SHOULDER["right"]])
    v[:, 2] = 0.0
    return _unit(v)


def virtual_front_axes(points_lab_m) -> np.ndarray:
    """(3, 3) rotation, rows = the virtual front camera's image x, image y and depth axes in the
    lab frame (z up): x toward the subject's left (the image right of a camera the subject faces),
    y down, depth from the camera toward the subject. The subject's left is the median over the
    frames of :func:`subject_left_per_frame`; never seen: the lab's -x (the lab x points to the
    subject's right at the calibration)."""
    left = subject_left_per_frame(points_lab_m)
    ok = np.isfinite(left).all(axis=1)
    x = _unit(np.median(left[ok], axis=0)) if ok.any() else np.array([-1.0, 0.0, 0.0])
    up = np.array([0.0, 0.0, 1.0])
    forward = np.cross(x, up)  # the subject's forward: left x up
    return np.stack([x, -up, -forward])


def virtual_side_axes(points_lab_m) -> np.ndarray:
    """(3, 3) rotation, rows = image x, image y and depth of a virtual camera on the subject's right
    (lab frame, z up): x toward the subject's forward, y down, depth toward the subject's left;
    the same subject axes as :func:`virtual_front_axes`."""
    front = virtual_front_axes(points_lab_m)
    left, down = front[0], front[1]
    return np.stack([-front[2], down, left])


def virtual_front_view_mm(points_lab_m) -> np.ndarray:
    """Lab-frame landmarks (frames, 33, 3; m, z up) as an orthographic camera facing the subject
    sees them (:func:`virtual_front_axes`): (frames, 33, 3) mm, x to the image right, y down, z
    depth. One camera for the whole recording, so a turn of the subject shows as it would on
    video, without perspective or lens distortion."""
    p = np.asarray(points_lab_m, dtype=np.float64)
    return 1000.0 * p @ virtual_front_axes(p).T


@dataclass
class TriangulatedSeries:
    """A pose triangulated from calibrated cameras (``movekit triangulate``), read as a pose series.

    Attributes
    ----------
    t_s : (frames,) s
    points_lab_m : (frames, 33, 3) m, lab frame (z up); NaN where fewer than two views agreed
    cameras : the calibrated cameras' names, in the triangulation's order
    separation_deg : horizontal angle between two cameras seen from the subject (deg); None for
        three or more, or when unknown
    calibration_file : the calibration the triangulation used, as recorded
    pose_models : each camera's pose model (``model_complexity``; None when not recorded)
    vertical_from : what gave the calibration's lab vertical
        (:func:`movekit.analysis.cameras.calibration_vertical`; None when not recorded)

    The attributes the screens read from a video's pose are derived: ``image_px`` (the virtual
    front camera, mm: :func:`virtual_front_view_mm`), ``visibility`` and ``presence`` (1 where a
    landmark was triangulated, else 0), ``world_m`` (the landmarks in MediaPipe's world axes, m,
    centred between the hips: :func:`movekit.analysis.multiview.lab_to_angle_frame`).
    """

    t_s: np.ndarray
    points_lab_m: np.ndarray
    cameras: tuple[str, ...] = ()
    separation_deg: float | None = None
    calibration_file: str | None = None
    pose_models: tuple = ()
    vertical_from: str | None = None

    def __post_init__(self) -> None:
        from movekit.analysis.multiview import lab_to_angle_frame

        self.t_s = np.asarray(self.t_s, dtype=np.float64)
        self.points_lab_m = np.asarray(self.points_lab_m, dtype=np.float64).reshape(len(self.t_s), lm.N_LANDMARKS, 3)
        self.cameras = tuple(str(c) for c in self.cameras)
        sep = self.separation_deg
        self.separation_deg = float(sep) if sep is not None and np.isfinite(float(sep)) else None
        self.image_px = virtual_front_view_mm(self.points_lab_m)
        self.visibility = np.isfinite(self.points_lab_m).all(axis=2).astype(np.float64)
        self.presence = self.visibility
        self.world_m = lab_to_angle_frame(self.points_lab_m)
        self.frame_size_px = (0, 0)
        self.calibration: dict = {}

    def __len__(self) -> int:
        return len(self.t_s)

    def set_up(self) -> str:
        """``"2 cameras 117 deg apart"``: the set-up the measured error is looked up by (with the
        pose model when the two-camera rows were not measured with it)."""
        from movekit.analysis.error_model import pose_model_note

        note = pose_model_note(self.pose_models)
        model = f" and {note}" if note else ""
        n = len(self.cameras)
        if n == 2 and self.separation_deg is not None:
            return f"2 cameras {self.separation_deg:.0f} deg apart{model}"
        if n >= 3:
            return f"{n} cameras (the worst two-camera figure){model}"
        return ("an unknown camera set-up" if n < 2 else f"{n} cameras, separation unknown") + model

    def describe(self) -> str:
        """``"triangulated from 2 calibrated cameras (cam01, cam04; 117 deg apart)"``."""
        n = len(self.cameras)
        if n == 0:
            return "triangulated from calibrated cameras (which ones not recorded)"
        sep = f"; {self.separation_deg:.0f} deg apart" if self.separation_deg is not None and n == 2 else ""
        return f"triangulated from {n} calibrated cameras ({', '.join(self.cameras)}{sep})"


def multiview_reason(name: str, err_deg: float, set_up: str, *, max_error_deg: float, advice: str = "") -> str:
    """Plain words for a triangulated angle: its measured error, or why it is refused (and, when
    refused, ``advice``: :func:`movekit.analysis.error_model.multiview_alternative`)."""
    what = name.removesuffix("_deg").replace("_", " ")
    tail = f"; {advice}" if advice else ""
    if not np.isfinite(err_deg):
        return f"{what}: refused, its error was not measured with {set_up} ({MULTIVIEW_ROWS}){tail}"
    if err_deg > max_error_deg:
        shown = np.ceil(err_deg * 10) / 10  # never "5.0 is over 5"
        return (
            f"{what}: refused, measured error {shown:.1f} deg with {set_up} is over {max_error_deg:g} deg "
            f"({MULTIVIEW_ROWS}){tail}"
        )
    return f"{what}: measured error {err_deg:.1f} deg with {set_up}"


@dataclass
class TriangulatedAnalysis(AnalysisResult):
    """:class:`~movekit.analysis.pipeline.AnalysisResult` of a triangulated pose: one measured
    error per angle for the whole recording (the camera set-up's), ``set_up`` in words."""

    set_up: str = ""
    #: per refused angle, the measured set-up that would show it, in words
    #: (:func:`movekit.analysis.error_model.multiview_alternative`)
    advice: dict[str, str] = field(default_factory=dict)
    #: (frames, 33, 3) mm: the cleaned landmarks seen by the virtual side camera (:func:`virtual_side_axes`)
    side_landmarks: np.ndarray | None = field(default=None, repr=False)

    def reason(self, name: str, frame: int | None = None, frames=None) -> str:
        """The angle's measured error with this set-up, or why it is refused; an angle within the
        limit but never triangulated in ``frames`` says so."""
        e = self.error_deg[name]
        err = float(e[0]) if e.size else float("nan")
        text = multiview_reason(
            name, err, self.set_up, max_error_deg=self.max_error_deg, advice=self.advice.get(name, "")
        )
        if np.isfinite(err) and err <= self.max_error_deg:
            pick = np.ones(e.size, bool) if frames is None else np.asarray(frames, dtype=bool)
            if not np.isfinite(self.angles[name][pick]).any():
                text += ", but not triangulated in these frames (fewer than two cameras agreed)"
        return text


def analyse_triangulated(pose: TriangulatedSeries, *, offline: bool = True) -> TriangulatedAnalysis:
    """Angles, measured errors, view and centre of mass of a triangulated pose (module docstring).

    The angles are :func:`movekit.analysis.multiview.angles_3d` (cleaned as the 2D path, lab
    vertical); each angle's error is the measured multi-camera figure for the set-up
    (:func:`movekit.analysis.error_model.multiview_errors`) in every frame, and an angle over
    :data:`~movekit.analysis.error_model.MAX_ERROR_DEG` (or not measured) is NaN unless in research
    mode. Landmarks and centre of mass (de Leva 1996; (frames, 3)) are those of the virtual front
    camera (mm), cleaned the same way; every frame with a landmark is labelled ``"frontal"``.
    """
    from movekit.analysis.com import center_of_mass
    from movekit.analysis.error_model import MAX_ERROR_DEG, gating, multiview_alternative, multiview_errors
    from movekit.analysis.multiview import TriangulatedPose, angles_3d
    from movekit.analysis.pipeline import clean_landmarks

    t, pts = pose.t_s, pose.points_lab_m
    n = len(t)
    fs = frame_rate(t)
    ang = angles_3d(TriangulatedPose(t, pts, np.zeros((n, lm.N_LANDMARKS), int), np.zeros((n, lm.N_LANDMARKS))))
    set_up = {
        "n_views": len(pose.cameras),
        "separation_deg": pose.separation_deg,
        "pose_models": pose.pose_models,
        "vertical_from": pose.vertical_from,
    }
    err = multiview_errors(list(ang), **set_up)
    error_deg = {k: np.full(n, e) for k, e in zip(ang, err)}
    advice = {k: multiview_alternative(k, **set_up) for k, e in zip(ang, err) if not e <= MAX_ERROR_DEG}
    if gating():
        ang = {k: np.where(error_deg[k] <= MAX_ERROR_DEG, v, np.nan) for k, v in ang.items()}
    img = clean_landmarks(pose.image_px, fs, offline=offline)
    seen = np.isfinite(img[:, :, 0]).any(axis=1)
    front = virtual_front_axes(pts)
    side = img @ front @ virtual_side_axes(pts).T  # back to the lab frame (mm), then the side camera
    x = front[0]
    left = subject_left_per_frame(pts)
    yaw = np.degrees(np.arctan2(np.cross(x, left)[:, 2], left @ x))  # turn from facing the virtual camera
    return TriangulatedAnalysis(
        t,
        ang,
        np.where(seen, "frontal", "unknown"),
        center_of_mass(img),  # (frames, 3) mm: x medio-lateral, y down, z antero-posterior
        "3d",
        "offline (zero-phase)" if offline else "causal",
        img,
        yaw_deg=yaw,
        error_deg=error_deg,
        tilt=None,
        max_error_deg=MAX_ERROR_DEG,
        set_up=pose.set_up(),
        advice=advice,
        side_landmarks=side,
    )


def _view_check_3d(result: AssessmentResult, an: TriangulatedAnalysis, pose: TriangulatedSeries, seen, need_view: str):
    """The ``view`` check of a triangulated pose (any view works, the 3D error table applies), its
    provenance (check ``triangulation``, flag ``angles_3d``) and the frames used (a person seen)."""
    from movekit.analysis.error_model import gating

    if not gating():
        result.flag(
            "ungated",
            "RESEARCH MODE: joint angles over their measured error limit were NOT refused; this is not a clinical result",
        )
    errs = {k: (round(float(e[0]), 2) if e.size and np.isfinite(e[0]) else None) for k, e in an.error_deg.items()}
    result.check(
        "triangulation",
        True,
        f"joint angles in 3D, {pose.describe()}; each is reported only where its measured error with "
        f"{an.set_up} is <= {an.max_error_deg:g} deg ({MULTIVIEW_ROWS}); the vertical is the calibration's "
        "lab z axis",
        {
            "method": "triangulated",
            "cameras": list(pose.cameras),
            "separation_deg": None if pose.separation_deg is None else round(pose.separation_deg, 1),
            "calibration": pose.calibration_file,
            "measured_error_deg": errs,
        },
        "calibrated cameras",
    )
    gated = (
        "each gated by its measured error" if gating() else "NOT gated (research mode), each with its measured error"
    )
    result.flag("angles_3d", f"joint angles {pose.describe()}, {gated} ({MULTIVIEW_ROWS})")
    shown = {}
    for name, a in an.angles.items():
        if np.isfinite(a).any() and errs[name] is not None:
            shown[name] = round(errs[name], 1)
    result.angle_errors_deg = shown
    result.check(
        "view",
        True,
        f"3D pose {pose.describe()}: any view works"
        + ("" if need_view == "any" else f" (a single camera would need {VIEW_HUMAN[need_view]})"),
        "triangulated",
        need_view,
    )
    return "frontal", None, np.asarray(seen, dtype=bool), True


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
