"""Is the camera set up for the chosen screen? Plain-word problems from a short window of live pose.

:func:`check_setup` reads about a second of pose (the followed person's image landmarks and
their visibility), the frame size, the camera tilt when known and the number of people in
view, and says what to fix before recording, in the words a therapist acts on:

* "nobody in view" -- a person was found in fewer than half of the frames;
* "two people in view: click the client" -- the person follower saw several people
  (:mod:`movekit.capture.follow`, ``people_in_view`` events);
* "turn the client 90 deg to the camera" / "turn the client to face the camera" -- the body
  yaw (:func:`movekit.analysis.view.body_yaw_deg`) is outside the band the screen's angles are
  valid in: side-on at >= :data:`movekit.analysis.view.SAGITTAL_MIN_DEG` for sagittal angles
  (Stenum et al. 2021, PLoS Comput Biol 17:e1008935, validate 2D sagittal lower-limb angles from a
  side view only), face-on at <= :data:`movekit.analysis.view.FRONTAL_MAX_DEG` for frontal ones
  (Willson 2006 measures the frontal plane projection angle from the front);
* "the camera is tilted 12 deg: level it or run the level calibration" -- pitch or roll beyond
  the first cells of the measured error table (:data:`LEVEL_PITCH_DEG`, :data:`LEVEL_ROLL_DEG`)
  when the tilt is known only roughly (:mod:`movekit.analysis.camera_tilt`);
* "feet out of frame" (or head, shoulders, elbows, wrists, hips, knees) -- the landmarks the
  screen's assessment needs are outside the image or unseen in too many frames.

The view and landmarks each screen needs are those its assessment checks
(:func:`movekit.assess._pose.analyse_pose` calls in each screen module): :data:`SCREEN_SETUP`.
Pure function: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from movekit.analysis.view import FRONTAL_MAX_DEG, SAGITTAL_MIN_DEG, body_yaw_deg
from movekit.errors import MovekitError

#: Visibility at or above which a landmark counts as seen (the assessments' default,
#: :func:`movekit.assess._pose.analyse_pose` ``min_visibility``).
MIN_VISIBILITY = 0.5
#: Share of the frames with a person in which every landmark of a body part must be in the
#: image and seen (the assessments' ``min_visible_frac``).
MIN_VISIBLE_FRACTION = 0.6
#: Share of the window's frames with a person below which nobody counts as in view.
MIN_PERSON_FRACTION = 0.5
#: Tilt (deg) within which a camera counts as level enough without a calibration: the first pitch
#: and roll cells of the measured error table (movekit/analysis/data/angle_errors.json, pitch
#: edges 0/10/20/30 deg, roll edges 0/5/10/25 deg; docs/validity.md, scripts/validate_angles.py).
LEVEL_PITCH_DEG = 10.0
LEVEL_ROLL_DEG = 5.0
#: A tilt known at least this well (deg) is a calibration (typed level reading, board on the
#: floor: :data:`movekit.analysis.camera_tilt.READING_UNCERTAINTY_DEG`), corrected reliably.
CALIBRATED_UNCERTAINTY_DEG = 2.0

#: Body parts by MediaPipe landmark index, in the words of the messages.
PARTS: dict[str, tuple[int, ...]] = {
    "head": (0, 7, 8),
    "shoulders": (11, 12),
    "elbows": (13, 14),
    "wrists": (15, 16),
    "hips": (23, 24),
    "knees": (25, 26),
    "feet": (27, 28, 29, 30, 31, 32),
}


@dataclass(frozen=True)
class ScreenSetup:
    """What a screen needs from the camera: the view (``"sagittal"``, ``"frontal"``, ``"any"``)
    and the landmarks its assessment checks."""

    view: str
    landmarks: tuple[int, ...]


#: Per screen of :data:`movekit.assess.SCREENS`: the ``need_view`` and ``landmarks`` its module
#: passes to ``analyse_pose`` (painful_arc.py, hinge.py, lumbar_flexion.py, balance.py,
#: step_down.py, sit_to_stand.py, tug.py, squat.py, posture.py).
SCREEN_SETUP: dict[str, ScreenSetup] = {
    "painful-arc": ScreenSetup("frontal", (11, 12, 13, 14, 23, 24)),
    "hip-hinge": ScreenSetup("sagittal", (11, 12, 23, 24)),
    "lumbar-flexion": ScreenSetup("sagittal", (11, 12, 23, 24)),
    "balance": ScreenSetup("any", (11, 12, 23, 24, 25, 26, 27, 28)),
    "single-leg-stance": ScreenSetup("any", (25, 26, 27, 28, 29, 30, 31, 32)),
    "step-down": ScreenSetup("any", (11, 12, 23, 24, 25, 26, 27, 28)),
    "sit-to-stand": ScreenSetup("any", (23, 24, 25, 26, 27, 28)),
    "tug": ScreenSetup("any", (11, 12, 23, 24, 25, 26, 27, 28)),
    "squat": ScreenSetup("any", (11, 12, 23, 24, 25, 26, 27, 28)),
    "posture": ScreenSetup("any", (7, 8, 11, 12, 23, 24)),
}
VIDEO_SCREENS = tuple(SCREEN_SETUP)


@dataclass(frozen=True)
class SetupResult:
    """The verdict: ``valid`` when ``problems`` is empty; ``notes`` inform without blocking.

    ``yaw_deg`` is the median body yaw over the frames with a person (0 face-on, 90 side-on;
    NaN when unknown), ``person_fraction`` the share of frames with a person in them.
    """

    screen: str
    valid: bool
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()
    yaw_deg: float = float("nan")
    person_fraction: float = 0.0
    parts_out: tuple[str, ...] = field(default=())

    def text(self) -> str:
        """One line: "setup valid for painful arc" or the problems joined."""
        if self.valid:
            return f"setup valid for {self.screen.replace('-', ' ')}"
        return "; ".join(self.problems)


def _in_frame(image_px: np.ndarray, visibility: np.ndarray, frame_size_px: tuple[int, int]) -> np.ndarray:
    """(frames, 33) bool: the landmark is inside the image and seen (visibility >= MIN_VISIBILITY)."""
    from movekit.analysis.filters import visibility_in_frame

    vis = np.nan_to_num(visibility_in_frame(image_px, visibility, frame_size_px), nan=0.0)
    return np.isfinite(image_px[..., 0]) & (vis >= MIN_VISIBILITY)


def parts_out_of_frame(
    image_px, visibility, frame_size_px: tuple[int, int], landmarks: tuple[int, ...]
) -> tuple[str, ...]:
    """Body parts among ``landmarks`` not in the image (or unseen) in enough frames with a person.

    Parameters
    ----------
    image_px : (frames, 33, >=2) px, NaN where nobody was found
    visibility : (frames, 33) 0..1
    frame_size_px : (width, height) px
    landmarks : MediaPipe indices the screen needs

    Returns
    -------
    names of the parts (:data:`PARTS`) seen in fewer than :data:`MIN_VISIBLE_FRACTION` of the frames
    """
    p = np.asarray(image_px, dtype=np.float64)
    person = np.isfinite(p[:, :, 0]).any(axis=1)
    if not person.any():
        return ()
    ok = _in_frame(p[person], np.asarray(visibility, dtype=np.float64)[person], frame_size_px)
    out = []
    for part, idx in PARTS.items():
        need = [i for i in idx if i in landmarks]
        if need and ok[:, need].all(axis=1).mean() < MIN_VISIBLE_FRACTION:
            out.append(part)
    return tuple(out)


def view_problem(yaw_deg: float, need_view: str) -> str | None:
    """What to say when the body yaw (deg, 0 face-on .. 90 side-on) is wrong for ``need_view``."""
    if need_view == "any" or not np.isfinite(yaw_deg):
        return None
    if need_view == "sagittal" and yaw_deg < SAGITTAL_MIN_DEG:
        return (
            f"turn the client 90 deg to the camera: this test needs a side view (body turned "
            f">= {SAGITTAL_MIN_DEG:g} deg), the client is turned {yaw_deg:.0f} deg"
        )
    if need_view == "frontal" and yaw_deg > FRONTAL_MAX_DEG:
        return (
            f"turn the client to face the camera: this test needs a front or back view (body turned "
            f"<= {FRONTAL_MAX_DEG:g} deg), the client is turned {yaw_deg:.0f} deg"
        )
    return None


def tilt_problem(tilt) -> str | None:
    """ "the camera is tilted N deg: ..." when a roughly known tilt is beyond the level cells.

    ``tilt``: :class:`movekit.analysis.camera_tilt.CameraTilt` or None (unknown: no problem
    raised; the error model then assumes the whole validated tilt range).
    """
    if tilt is None or tilt.uncertainty_deg <= CALIBRATED_UNCERTAINTY_DEG:
        return None
    pitch = abs(tilt.pitch_deg) if tilt.pitch_deg is not None else 0.0
    roll = abs(tilt.roll_deg) if tilt.roll_deg is not None else 0.0
    if pitch <= LEVEL_PITCH_DEG and roll <= LEVEL_ROLL_DEG:
        return None
    what = "pitched" if pitch / LEVEL_PITCH_DEG >= roll / LEVEL_ROLL_DEG else "rolled"
    worst = pitch if what == "pitched" else roll
    return (
        f"the camera is tilted {worst:.0f} deg ({what}): level it or run the level calibration "
        "(movekit calibrate level)"
    )


def _sideways_problem(p: np.ndarray) -> str | None:
    """The client lies across the picture (a camera or phone turned on its side): the screens'
    heights and vertical are read from the image (:func:`movekit.assess._pose._upright_check`)."""
    from movekit.assess._pose import MAX_UPRIGHT_TILT_DEG, UPRIGHT_QUANTILE, trunk_tilt_from_image_vertical_deg

    tilt = trunk_tilt_from_image_vertical_deg(p)
    tilt = tilt[np.isfinite(tilt)]
    if tilt.size and np.percentile(tilt, UPRIGHT_QUANTILE) > MAX_UPRIGHT_TILT_DEG:
        return "the client lies across the picture: turn the camera (or the phone) upright"
    return None


def check_setup(
    screen: str,
    image_px,
    visibility,
    frame_size_px: tuple[int, int],
    *,
    tilt=None,
    people_in_view: int | None = None,
    person_chosen: bool = False,
) -> SetupResult:
    """Check a short window of live pose (about 1 s) against what ``screen`` needs.

    Parameters
    ----------
    screen : a name of :data:`SCREEN_SETUP` (the video screens of :data:`movekit.assess.SCREENS`)
    image_px : (frames, 33, >=2) image landmarks of the followed person, px; NaN where nobody
    visibility : (frames, 33) landmark visibility 0..1
    frame_size_px : (width, height) of the frames, px
    tilt : :class:`movekit.analysis.camera_tilt.CameraTilt` of the camera, None when unknown
    people_in_view : number of people the follower sees now (None: not known)
    person_chosen : the therapist pointed at the client (then several people in view is a note)

    Returns
    -------
    SetupResult
    """
    need = SCREEN_SETUP.get(screen)
    if need is None:
        raise MovekitError(f"no setup check for {screen!r}; video screens: {', '.join(VIDEO_SCREENS)}")
    p = np.asarray(image_px, dtype=np.float64)
    if p.ndim != 3 or p.shape[1] != 33 or p.shape[2] < 2:
        raise MovekitError(f"setup check: pose must be (frames, 33, 2 or 3), not {p.shape}")
    person = np.isfinite(p[:, :, 0]).any(axis=1)
    share = float(person.mean()) if len(p) else 0.0
    if share < MIN_PERSON_FRACTION:
        return SetupResult(screen, False, ("nobody in view: ask the client to step in front of the camera",),
                           person_fraction=share)  # fmt: skip
    problems: list[str] = []
    notes: list[str] = []
    if people_in_view is not None and people_in_view >= 2:
        many = f"{'two' if people_in_view == 2 else people_in_view} people in view"
        if person_chosen:
            notes.append(f"{many}: following the client you clicked")
        else:
            problems.append(f"{many}: click the client")
    lying = _sideways_problem(p[person])
    if lying:
        problems.append(lying)
    with np.errstate(invalid="ignore"):
        yaws = body_yaw_deg(p[person])
    yaw = float(np.nanmedian(yaws)) if np.isfinite(yaws).any() else float("nan")
    problems += [m for m in (view_problem(yaw, need.view), tilt_problem(tilt)) if m]
    out = parts_out_of_frame(p, visibility, frame_size_px, need.landmarks)
    if out:
        problems.append(f"{' and '.join(out)} out of frame: move the camera back or re-aim it")
    if tilt is None:
        notes.append("camera tilt unknown: angles carry the error of any tilt up to 30 deg")
    return SetupResult(screen, not problems, tuple(problems), tuple(notes), yaw, share, out)


__all__ = [
    "SCREEN_SETUP",
    "VIDEO_SCREENS",
    "ScreenSetup",
    "SetupResult",
    "check_setup",
    "parts_out_of_frame",
    "tilt_problem",
    "view_problem",
]
