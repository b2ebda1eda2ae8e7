"""Follow one person when several are in view.

MediaPipe's legacy Pose finds one person per frame and tracks that person from frame
to frame. This module keeps the identity:

- At the first detection it asks the backend for everyone in view
  (:meth:`movekit.capture.pose.MediaPipePose.find_people`) and, when several are there,
  chooses one as asked (:func:`parse_person`: the largest, the one nearest the centre, the
  leftmost or rightmost, or the one at a point) and says so (:attr:`PersonFollower.events`).
- It watches for other people with the model's own person detector alone
  (:meth:`~movekit.capture.pose.MediaPipePose.detect_people`), in a second thread while
  the landmark model runs, with the followed person's head and torso blanked: only where a
  detection can change a decision. Every 0.25 s while the client is alone or everybody else
  is well away from them, every 0.1 s while somebody else is near them (or will be within
  0.25 s at their speed), every frame while somebody is over them (or will be within 0.1 s,
  their track moved on at constant velocity) or has just appeared, and every 0.15 s while
  the client is lost (then with nothing blanked, and every
  other time with the people known to be somebody else blanked). Each other person gets a
  track (position, velocity) and the colours of their torso (:func:`torso_colours`); a
  detection further from where the client was last seen than they could have moved since
  is somebody else from then on, and the colours of people no longer tracked are kept for
  a while (an appearance gallery). When the number of
  people in view changes (somebody else walks in, or everybody else has gone) a
  ``people_in_view`` event is queued for the recording, from those same detections.
- A skeleton is refused when its torso jumps further than a person can move, grows or
  shrinks faster than walking towards or away from the camera allows, looks like
  somebody else's torso (or unlike the client's while somebody else could be there), or
  lies nearer to where another person is expected than to the followed one.
- After a refusal, when the followed person was seen a moment ago, the model looks again
  in the same frame, its tracking reset (so its detector runs), with the people taken for
  others blanked and only the followed person's region visible (but, while somebody else is
  over the client, not again within 0.1 s of a look that failed: there every skeleton mixes
  the two); when they have been lost for a while, the model's tracking is only reset (one run
  instead of two) and it looks again in the next frame. People taken for others stay blanked
  from the model's frames for a while, except where the followed person is (their last box joined with their whole
  box as last seen alone, so that their face stays in view for the model's face-keyed
  detector). Blanking (rather than cropping) keeps the landmarks in full-frame pixel
  coordinates.
- Once the followed person has been lost for a moment, the model runs on a square window around
  where they were last seen (:func:`process_window`), moving with them, instead of the whole
  frame: its person detector sees its input at 224 px, and finds a small or backlit person in the
  window where in the whole frame it finds nobody, or somebody else.
- While the followed person is lost and the model finds nobody, a detection of the
  watcher's where they could be, and not where somebody else is expected, reseeds the
  model: it runs once more on the frame with everything outside that detection blanked
  (its own detector would take the most salient thing in view instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from movekit.capture.pose import PersonDetection, PoseBackend, PoseEstimate
from movekit.errors import MovekitError

_TORSO = (11, 12, 23, 24)  # shoulders and hips
_HEAD_TORSO = list(range(13)) + [23, 24]  # face, shoulders and hips: what the person detector keys on


#: ``--person`` words (besides ``X,Y``): whom to follow when several people are in view.
PERSON_CHOICES = ("largest", "centre", "left", "right")


def parse_person(text) -> str | tuple[float, float]:
    """Whom to follow, from ``--person``: ``largest`` (default), ``centre`` (or ``center``: nearest
    the middle of the frame, left to right), ``left`` or ``right`` (leftmost or rightmost in the
    image as the camera sees it, i.e. as shown on the screen), or ``X,Y``: pixels in the first frame
    in which somebody is found (x right, y down; the person whose box holds the point, else the
    nearest). A tuple ``(x, y)`` or the word ``first`` (whoever the model finds) pass through.

    Raises
    ------
    MovekitError
        For anything else (one line, naming the value).
    """
    if isinstance(text, (tuple, list)) and len(text) == 2:
        x, y = (float(v) for v in text)
    else:
        word = str(text).strip().lower()
        if word in PERSON_CHOICES or word == "first":
            return word
        if word == "center":
            return "centre"
        try:
            x, y = (float(v) for v in word.split(","))
        except ValueError:
            raise MovekitError(
                f"--person takes largest, centre, left, right or X,Y in pixels of the first "
                f"frame (e.g. 560,900), not {text!r}"
            ) from None
    if not (np.isfinite(x) and np.isfinite(y)) or x < 0 or y < 0:
        raise MovekitError(f"--person X,Y must be pixel coordinates (0 or more) in the frame, not {text!r}")
    return (x, y)


def person_text(choice: str | tuple[float, float]) -> str:
    """``choice`` as ``--person`` takes it (stored in the recording, so a capture can be repeated)."""
    return choice if isinstance(choice, str) else f"{choice[0]:g},{choice[1]:g}"


def choose_person(
    boxes: list[np.ndarray], centres: list[np.ndarray | None], choice: str | tuple[float, float], width_px: float
) -> tuple[int, float]:
    """Index of the person to follow, and how far (px) a point choice lies outside their box (0 inside).

    Parameters
    ----------
    boxes : list of (4,) arrays
        Each person's box (x0, y0, x1, y1, px), as :func:`bbox_px` gives it.
    centres : list of (2,) arrays or None
        Each person's torso centre (px), None when not seen.
    choice : from :func:`parse_person`
        ``largest``: the largest box; ``centre``: the box centre nearest the middle of the frame, left
        to right; ``left``/``right``: the leftmost/rightmost box centre; ``first``: the first person;
        ``(x, y)``: of the boxes holding the point, the one whose torso centre is nearest to it (the
        person in front, when two overlap), else the box nearest to the point.
    width_px : float
        Frame width.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    mid = (b[:, 0] + b[:, 2]) / 2
    if isinstance(choice, tuple):
        point = np.asarray(choice, dtype=np.float64)
        outside = np.hypot(
            np.maximum(0, np.maximum(b[:, 0] - point[0], point[0] - b[:, 2])),
            np.maximum(0, np.maximum(b[:, 1] - point[1], point[1] - b[:, 3])),
        )
        inside = np.flatnonzero(outside == 0)
        if inside.size:
            box_centres = np.stack([mid, (b[:, 1] + b[:, 3]) / 2], axis=1)
            near = [_apart(centres[i] if centres[i] is not None else box_centres[i], point) for i in inside]
            return int(inside[int(np.argmin(near))]), 0.0
        i = int(np.argmin(outside))
        return i, float(outside[i])
    if choice == "largest":
        return int(np.argmax((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))), 0.0
    if choice == "centre":
        return int(np.argmin(np.abs(mid - width_px / 2))), 0.0
    if choice == "left":
        return int(np.argmin(mid)), 0.0
    if choice == "right":
        return int(np.argmax(mid)), 0.0
    return 0, 0.0


#: Timestamps differ from whole frames by up to a millisecond (a video's presentation times are
#: stored in whole ms; a camera's come from a clock), and floating point adds its last bits: the
#: follower's time limits are whole numbers of frames (0.2 s = 6 at 30 fps), so without a tolerance
#: one millisecond decided whether the client counted as lost at the 6th missing frame or the 7th,
#: and from there which person the model tracked (the Sports2D demo forward-backward: 1250 frames
#: followed with times of frame / fps, 1179 with the video's own times).
CLOCK_TOLERANCE_S = 1e-3


def _reached(elapsed_s: float, limit_s: float) -> bool:
    """Whether ``elapsed_s`` (s) has reached ``limit_s`` (s), within :data:`CLOCK_TOLERANCE_S`: a
    limit of a whole number of frames is reached at that frame, whatever the timestamps' last bits."""
    return elapsed_s >= limit_s - CLOCK_TOLERANCE_S


def _apart(a: np.ndarray, b: np.ndarray) -> float:
    """Distance (px) between two image points. ``math.hypot`` rather than ``np.linalg.norm``: the
    follower measures thousands of these a minute, and numpy's norm calls BLAS, which hands the GIL
    to the capture's other threads and waits to get it back (up to the 5 ms switch interval)."""
    return math.hypot(a[0] - b[0], a[1] - b[1])


def bbox_px(
    image_px: np.ndarray, visibility: np.ndarray | None = None, min_visibility: float = 0.3
) -> np.ndarray | None:
    """(x0, y0, x1, y1) around the landmarks seen with at least ``min_visibility``."""
    ok = np.isfinite(image_px[:, 0])
    if visibility is not None:
        ok &= ~(visibility < min_visibility)
    if ok.sum() < 4:
        ok = np.isfinite(image_px[:, 0])
    if not ok.any():
        return None
    xy = image_px[ok, :2]
    return np.array([*xy.min(axis=0), *xy.max(axis=0)], np.float64)


def torso(image_px: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Torso centre (px) and length (shoulder midpoint to hip midpoint, px)."""
    pts = image_px[list(_TORSO), :2].astype(np.float64)
    if not np.isfinite(pts).all():
        return None
    shoulders, hips = pts[:2].mean(axis=0), pts[2:].mean(axis=0)
    return (shoulders + hips) / 2, _apart(shoulders, hips)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def torso_colours(image_bgr: np.ndarray, centre_px: np.ndarray, length_px: float) -> np.ndarray | None:
    """Hue-saturation histogram (12 x 8 bins, summing to 1) of the middle of a torso: a patch 0.4
    torso lengths wide and 0.6 long around its centre, inside the body whichever way the person
    faces. None if the patch is outside the frame. Compared with :func:`colour_distance`, the
    colour histogram of kernel-based tracking (Comaniciu, Ramesh & Meer 2003, IEEE TPAMI 25:564)."""
    import cv2

    h, w = image_bgr.shape[:2]
    x0, x1 = int(max(centre_px[0] - 0.2 * length_px, 0)), int(min(centre_px[0] + 0.2 * length_px, w))
    y0, y1 = int(max(centre_px[1] - 0.3 * length_px, 0)), int(min(centre_px[1] + 0.3 * length_px, h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    hsv = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [12, 8], [0, 180, 0, 256])
    return hist / hist.sum()


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance between two colour histograms: 0 the same, 1 nothing in common.
    On the crossing clips a person's torso was within 0.27 of their own average, and 0.79 or
    more from the other person's."""
    return float(np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(a * b)))))


def _contains(box: np.ndarray, point: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def _grow(box: np.ndarray, grow: float) -> np.ndarray:
    """``box`` (x0, y0, x1, y1, px) grown by ``grow`` of its width and height on every side."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] - grow * bw, box[1] - grow * bh, box[2] + grow * bw, box[3] + grow * bh])


def _grown(box: np.ndarray, grow: float, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Row and column slices of ``box`` grown by ``grow`` of its size, clipped to the frame (empty
    where it lies outside: a box of somebody predicted to have walked off the left edge, with its
    right edge at -443 px, blanked all but the frame's last 443 columns, the client with them, when
    a negative end was left to count from the frame's right)."""
    h, w = shape[:2]
    x0, y0, x1, y1 = (int(min(max(v, 0), n)) for v, n in zip(_grow(box, grow), (w, h, w, h)))
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def fraction_inside(image_px: np.ndarray, box: np.ndarray, grow: float = 0.15) -> float:
    """Fraction of the landmarks (with coordinates) inside ``box`` grown by ``grow`` of its size."""
    xy = image_px[np.isfinite(image_px[:, 0]), :2]
    if not len(xy):
        return 0.0
    g = _grow(box, grow)
    return float(np.all((xy >= g[:2]) & (xy <= g[2:]), axis=1).mean())


def mask_outside(image_bgr: np.ndarray, box: np.ndarray, grow: float = 0.35) -> np.ndarray:
    """Copy of the frame with everything outside ``box`` (grown by ``grow`` of its size) blanked."""
    region = _grown(box, grow, image_bgr.shape)
    out = np.zeros_like(image_bgr)
    out[region] = image_bgr[region]
    return out


def mask_inside(
    image_bgr: np.ndarray, box: np.ndarray, grow: float = 0.15, keep: np.ndarray | None = None
) -> np.ndarray:
    """Copy of the frame with ``box`` (grown by ``grow`` of its size) blanked, except inside ``keep``."""
    out = image_bgr.copy()
    _blank(out, [box], image_bgr.shape, grow, keep)
    return out


def _blank(
    part: np.ndarray,
    boxes: list[np.ndarray],
    frame_shape: tuple[int, ...],
    grow: float,
    keep: np.ndarray | None = None,
    origin: tuple[int, int] = (0, 0),
) -> None:
    """Blank ``boxes`` (frame px, each grown by ``grow`` of its size) in ``part`` in place, except
    inside ``keep`` (frame px); ``part`` is the region of a frame of ``frame_shape`` whose top-left
    corner is ``origin`` (x0, y0 px), or the whole frame."""
    x0, y0 = origin
    held = None if keep is None else _within(_grown(keep, 0.0, frame_shape), x0, y0, part.shape)
    kept = None if held is None else part[held].copy()
    for box in boxes:
        part[_within(_grown(box, grow, frame_shape), x0, y0, part.shape)] = 0
    if held is not None:
        part[held] = kept


def _clean_colours(image_bgr: np.ndarray, who: _Track, people: list[_Track]) -> np.ndarray | None:
    """:func:`torso_colours` of ``who``, or None when the middle of their torso lies inside somebody
    else's box (among ``people``; ``who`` itself is skipped), where the patch could be that person's."""
    if any(
        p is not who and p.box is not None and _contains(p.box, who.centre) and _apart(p.centre, who.centre) > 1e-6
        for p in people
    ):
        return None
    return torso_colours(image_bgr, who.centre, who.length)


def _reseed(backend: PoseBackend, image_bgr: np.ndarray) -> PoseEstimate:
    """Run the model on an image with somebody blanked, twice if the first run finds nobody.

    A video-mode tracker that was following the blanked person loses them on the first
    run and finds nobody; only the next run calls its detector, which finds whoever is
    left in the image and tracks them from then on.
    """
    est = backend.process(image_bgr)
    return est if est.found else backend.process(image_bgr)


def window_px(centre_px: np.ndarray, side_px: int, shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """Square window (x0, y0, side px) of ``side_px`` centred on ``centre_px`` and shifted to lie
    inside a frame of ``shape``; None when it would not be smaller than the frame's shorter side."""
    h, w = shape[:2]
    if side_px >= min(h, w):
        return None
    x0 = int(min(max(centre_px[0] - side_px / 2, 0), w - side_px))
    y0 = int(min(max(centre_px[1] - side_px / 2, 0), h - side_px))
    return x0, y0, int(side_px)


def model_input(
    image_bgr: np.ndarray,
    window: tuple[int, int, int] | None,
    image_rgb: np.ndarray | None = None,
    blank: list[np.ndarray] | tuple = (),
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """What the pose model is shown: ``(bgr, rgb)``, ``window`` (x0, y0, side px; None: the whole
    frame) of the frame as a view in BGR order (for its size) and as a read-only RGB array, with the
    ``blank`` boxes (frame px, grown as :func:`mask_inside` grows them) blanked except inside
    ``keep``. The same pixels as blanking a copy of the whole frame with :func:`mask_inside` and
    cropping it, at the cost of one copy of the window: the frame is not copied, and ``image_rgb``
    (the frame in RGB order, if the caller has it) is passed on as it is when there is nothing to
    cut or blank. Read-only, so that MediaPipe takes the array without copying it again."""
    x0 = y0 = 0
    bgr, rgb = image_bgr, image_rgb
    if window is not None:
        x0, y0, side = window
        bgr = bgr[y0 : y0 + side, x0 : x0 + side]
        rgb = None if rgb is None else rgb[y0 : y0 + side, x0 : x0 + side]
    if rgb is not None and window is None and not len(blank):
        return bgr, rgb
    if rgb is None:
        import cv2

        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    else:
        rgb = rgb.copy()
    _blank(rgb, blank, image_bgr.shape, 0.15, keep, (x0, y0))
    rgb.flags.writeable = False
    return bgr, rgb


def _within(region: tuple[slice, slice], x0: int, y0: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """``region`` (row and column slices of the frame) in a part of it of ``shape`` whose top-left
    corner is (``x0``, ``y0``) px; empty slices where they do not meet."""
    rows, cols = region
    h, w = shape[:2]
    top, left = min(max(rows.start - y0, 0), h), min(max(cols.start - x0, 0), w)
    return slice(top, max(min(rows.stop - y0, h), top)), slice(left, max(min(cols.stop - x0, w), left))


def process_window(
    backend: PoseBackend,
    image_bgr: np.ndarray,
    window: tuple[int, int, int] | None,
    image_rgb: np.ndarray | None = None,
    blank: list[np.ndarray] | tuple = (),
    keep: np.ndarray | None = None,
) -> PoseEstimate:
    """The model on ``window`` (x0, y0, side px) of the frame, landmarks in the frame's pixels (the
    whole frame when ``window`` is None), with ``blank`` boxes blanked except inside ``keep``
    (:func:`model_input`). The model's person detector sees its input at 224 x 224
    px, so a person who fills a small part of a wide frame is found in a window around them where
    the whole frame finds nobody (on the Sports2D demo: the backlit man on his box, detector score
    0.9-0.99 in a 600 px window, not found or found as the woman in the whole 1768 px frame)."""
    est = backend.process(*model_input(image_bgr, window, image_rgb, blank, keep))
    if est.found and window is not None:
        est.image_px[:, 0] += window[0]
        est.image_px[:, 1] += window[1]
    return est


@dataclass
class _Track:
    """Where a person was last seen: torso centre and length (px), box (px), time (s), and
    velocity (px/s)."""

    centre: np.ndarray
    length: float
    box: np.ndarray | None
    t_s: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    confirmed: bool = False  # seen apart from the followed person: somebody else
    hidden_until_s: float = -np.inf
    sightings: int = 1
    colours: np.ndarray | None = None  # average torso_colours, seen apart from everybody else

    def saw_colours(self, hist: np.ndarray | None, rate: float = 0.2) -> None:
        if hist is not None:
            self.colours = hist if self.colours is None else (1 - rate) * self.colours + rate * hist

    @classmethod
    def of(cls, est: PoseEstimate, t_s: float) -> _Track | None:
        tr = torso(est.image_px)
        if tr is None:
            return None
        return cls(tr[0], tr[1], bbox_px(est.image_px, est.visibility), t_s)

    @classmethod
    def detected(cls, person: PersonDetection, t_s: float) -> _Track:
        return cls(person.centre_px, person.torso_px, person.box_px, t_s)

    def at(self, t_s: float) -> np.ndarray:
        """Expected torso centre (px) at ``t_s``, moving on at the last velocity."""
        return self.centre + self.velocity * (t_s - self.t_s)

    def hidden_at(self, t_s: float) -> bool:
        """Whether they are still hidden from the model at ``t_s`` (``hidden_until_s``, within
        :data:`CLOCK_TOLERANCE_S`)."""
        return self.hidden_until_s >= t_s - CLOCK_TOLERANCE_S

    def box_at(self, t_s: float) -> np.ndarray | None:
        return None if self.box is None else self.box + np.tile(self.velocity * (t_s - self.t_s), 2)

    def moved_to(self, seen: _Track, smoothing_s: float = 0.2) -> None:
        """Update with a later sighting; the velocity is smoothed over ``smoothing_s`` seconds
        (frame-to-frame jitter of the detector's points would otherwise dominate it)."""
        dt = seen.t_s - self.t_s
        if dt <= 0:
            return
        v = (seen.centre - self.centre) / dt
        self.velocity = self.velocity + min(1.0, dt / smoothing_s) * (v - self.velocity)
        if self.box is not None:  # the box keeps its size (the landmarks' box when known)
            self.box = self.box + np.tile(seen.centre - self.centre, 2)
        self.centre, self.length, self.t_s = seen.centre, seen.length, seen.t_s
        self.sightings += 1


@dataclass
class PersonFollower:
    """Keeps one person's identity across frames.

    Parameters
    ----------
    choose : str or (x, y)
        Whom to follow when several people are in view at the first detection
        (:func:`parse_person`, :func:`choose_person`).
    max_speed_torso_per_s : float
        Fastest plausible torso movement, in torso lengths per second. 6 (about 3 m/s
        for a 0.5 m torso, a jog) is well above the walking speeds of clinical tests
        (comfortable gait about 1.3-1.5 m/s, Bohannon 1997) and keeps a person who
        walks into view far from the followed one from being taken for them after a
        short loss of tracking.
    max_growth : tuple of float
        ``(a, b)``: a torso may look at most ``a + b * dt`` times longer than the longest
        the followed person's was in the last 2 s, ``dt`` seconds after they were last
        seen. Apparent length grows as 1/distance: walking at 1.5 m/s towards a camera
        3 m away adds 50 % a second (``b = 0.5``); ``a = 1.25`` leaves room for the model's
        frame-to-frame variation (at most 10 % on the accepted frames of five real clips).
        A "person" that grows faster is a skeleton stretched over something else (seen mid
        somersault: shoulders drawn on the sun behind him, torso 1.8 times his length).
        After ``lost_s`` unseen, a torso shorter by the same factor is refused too ("shrunk").
    lost_s : float
        See ``max_growth``.
    memory_s : float
        How long another person is remembered after last being seen, in seconds.
    watch : bool
        Look for other people with the backend's person detector alone
        (:meth:`~movekit.capture.pose.MediaPipePose.detect_people`), with the followed
        person's head and torso blanked, in a second thread while the landmark model runs.
    watch_every_s, near_torso, near_watch_every_s, overlap_torso, overlap_watch_every_s : float
        The detector runs every ``watch_every_s`` seconds (a client alone costs one detection
        in about 8 frames at 30 fps); every ``near_watch_every_s`` while somebody else is expected
        within ``near_torso`` times the larger torso length of the followed person now or
        ``watch_every_s`` later (their track moved on at its constant velocity, as SORT predicts
        boxes between detections: Bewley et al. 2016, ICIP); every ``overlap_watch_every_s`` (0:
        every frame) while somebody else is expected over the followed person now or
        ``near_watch_every_s`` later (torso centres within ``overlap_torso`` of the followed
        person's torso lengths across, 3 along the body: where the model's skeleton may mix the
        two and the decisions rest on that person's track); every frame while somebody new has
        been seen in the last ``watch_every_s`` and is not yet confirmed; and every
        ``lost_watch_every_s`` while the followed person has been lost for more than ``lost_s``.
        At the fastest plausible speed (``max_speed_torso_per_s``) a person 2.5 torso lengths away
        needs 0.4 s to reach the client, longer than the 0.25 s between detections. On the Sports2D
        demo (a woman walks by 3-5 torso lengths from the man) this runs the detector 38 times in 230
        frames (163 when it ran every frame while anybody else was remembered); on the crossing clip
        of scripts/bench_follow.py 34 times in 100 frames (57 when it ran every frame while she was
        within 2.5 torso lengths). Every other frame while overlapping (0.03 s) lost her track
        as she covered him on a right-to-left crossing, and the follower slid onto her.
    retry_gap_s : float
        After a refused skeleton the model looks again in the same frame (:meth:`_look_again`, two
        more runs); while somebody else is expected over the followed person (:meth:`_covered`), at
        most once per ``retry_gap_s`` after a look that failed (elsewhere a failed look is a moment's
        miss, and the next one may find them). While the followed person is lost the model's tracking
        is reset in every refused frame: on the demo played forward and backward, resetting it at most
        every 0.1 s lost the man on his box for longer (955 of 1266 frames found instead of 1011, and 4
        frames of somebody else instead of 2).
    min_score, detector_jitter_torso : float
        Detections below ``min_score`` are ignored; a detection joins a remembered person when
        within ``detector_jitter_torso`` torso lengths plus how far they could have moved.
    colour_margin, same_colour : float
        Colour rules (:func:`torso_colours`, :func:`colour_distance`) while somebody else is
        about: a skeleton nearer (by ``colour_margin``) to another person's colours, and within
        ``same_colour`` of them, is that person; one further than ``same_colour`` from the
        followed person's while somebody else could be there is refused ("unlike").
    hide_s : float
        How long (s) a detection taken for somebody else is blanked from the frames given to
        the model (where that person is expected to be by then).
    reseed_score, lost_watch_every_s : float
        While the followed person is lost the watcher looks every ``lost_watch_every_s``
        seconds, and a detection scoring at least ``reseed_score`` (MediaPipe's own default
        detection threshold, 0.5) where they could be reseeds the model (:meth:`_reseed_lost`).
    scale_memory_s : float
        A torso "grown" beyond the person's scale is judged against the longest of theirs in
        the last ``scale_memory_s`` seconds (see ``max_growth``).
    gallery_s : float
        How long (s) the torso colours of somebody else no longer tracked are remembered.
    window_torso : float
        Once the followed person has been lost for more than ``lost_s`` the model runs, from then on,
        on a square window this many of their longest recent torso lengths across (at least 256 px),
        around where they were last seen (:meth:`_window`); 0 keeps the whole frame. 6 holds a person
        from head to feet (about 3.5 torso lengths) with room to move between frames. On the demo
        played forward and backward it found the backlit man on his box again: 1200 of 1266 frames
        instead of 1011, and none of the woman instead of 2.
    sparse_after_s, sparse_every : float, int
        Once the followed person has been lost for more than ``sparse_after_s`` (s), the pose model
        runs on one frame in ``sparse_every`` (1: every frame); the person detector still looks
        every ``lost_watch_every_s`` and finds them again on any frame (:meth:`_reseed_lost`).
        While nobody is tracked the model runs its own detector on every frame it is given, and a
        client lost that long is usually out of view or out of the model's reach: on the demo played forward and backward (the backlit man on his
        box lost for 79 frames in a row near the end) those frames ran at 21-26 frames/s against
        41 while tracking.

    Attributes
    ----------
    window : (x0, y0, side) or None
        Where the model looked in the last frame (px; None: the whole frame; see ``window_torso``).
    events : list of dict
        Events not yet taken by the caller (:meth:`take_events`). ``person_not_at_point``: a point
        choice lay outside everybody's box at the first detection (``outside_px``: how far from the
        nearest, who is followed). ``people_in_view``: ``t_s``,
        ``count`` (people in view, the followed one included) and ``change`` ("start" when
        several are in view at the first detection, "entered" when somebody else comes into
        view, "left" when the count falls, e.g. to 1 when everybody else has gone). Counted
        from the tracks the watcher keeps: somebody seen in two detections (or at the start),
        and not last seen where somebody already counted could have been (within a torso
        length, plus how far they could have moved since, at ``max_speed_torso_per_s``);
        somebody unseen for ``memory_s`` is no longer counted. With a choice by place (not
        ``largest``) the person detector also looks, at the start, for people the landmark
        model missed, and the choice may fall on them.
    """

    choose: str | tuple = "largest"
    max_speed_torso_per_s: float = 6.0
    max_growth: tuple[float, float] = (1.25, 0.5)
    lost_s: float = 0.2
    memory_s: float = 2.0
    watch: bool = True
    watch_every_s: float = 0.25
    near_torso: float = 2.5
    near_watch_every_s: float = 0.1
    overlap_torso: float = 1.0
    overlap_watch_every_s: float = 0.0
    min_score: float = 0.7
    detector_jitter_torso: float = 0.25
    colour_margin: float = 0.1
    same_colour: float = 0.5
    hide_s: float = 1.0
    reseed_score: float = 0.5
    scale_memory_s: float = 10.0
    gallery_s: float = 30.0
    lost_watch_every_s: float = 0.15
    retry_gap_s: float = 0.1
    window_torso: float = 6.0
    sparse_after_s: float = 1.0
    sparse_every: int = 3
    selection: dict = field(default_factory=dict)
    switches_rejected: int = 0
    events: list = field(default_factory=list)
    _people: int = 1  # people in view as last reported
    _me: _Track | None = None
    _others: list = field(default_factory=list)  # _Track of everybody else seen lately
    _lengths: list = field(default_factory=list)  # (t_s, torso length px) of the last ``scale_memory_s``
    _core: np.ndarray | None = None  # the followed person's head and torso box (px), last seen
    _whole: np.ndarray | None = None  # their box relative to their torso centre (px), last seen alone
    _pool: object = None
    _watched_s: float = -np.inf  # time of the last frame the detector ran on
    _refused: tuple | None = None  # (t_s, box px) of the last skeleton taken for somebody else
    _retry_failed_s: float = -np.inf  # time of the last look again (after a refusal) that failed
    _lost_looks: int = 0  # looks while the followed person was lost
    _gallery: list = field(default_factory=list)  # (t_s, colours) of others no longer tracked
    window: tuple | None = None  # where the model last looked (x0, y0, side px; None: the whole frame)
    _frame_shape: tuple = ()
    _sparse_count: int = 0  # frames since the model began to skip (``sparse_every``)

    def _gate_px(self, length: float, dt: float) -> float:
        """How far (px) a torso of ``length`` px may move in ``dt`` seconds."""
        return length * (0.5 + self.max_speed_torso_per_s * dt)

    def _doubt(
        self, seen: _Track | None, t_s: float, image_bgr: np.ndarray, strict: bool = False, unlike: bool = True
    ) -> tuple[str | None, _Track | None]:
        """Why ``seen`` is not the followed person: "far", "grown", "shrunk", "unlike" or "other"
        (with who that other person is); (None, None) if it may be them. ``unlike=False`` skips the
        rule that refuses colours unlike the followed person's own (not those of somebody else): for
        a person the watcher found away from everybody else, whose colours may have changed with the
        light (a man backlit on a box, then in the sun on the grass, on a real clip)."""
        me = self._me
        if me is None or seen is None:
            return None, None
        dt = max(t_s - me.t_s, 1e-3)
        distance = _apart(seen.centre, me.centre)
        # the longest torso of the last 2 s is the person's scale: bending towards the camera
        # foreshortens the last one (to 10 % of it, seen on a real clip); "grown" is judged against
        # the longest of ``scale_memory_s``, as a somersault foreshortens it for seconds (a man found
        # again standing was refused as "grown" against 2 s), "shrunk" against the median of 2 s (a
        # landing drew a stretched torso twice his length, and he was refused as "shrunk" after)
        recent = self._recent_lengths()
        if distance > self._gate_px(max(recent), dt):
            return "far", None
        # no lower bound: bending towards the camera shortens a torso to almost nothing
        growth = self.max_growth[0] + self.max_growth[1] * dt
        if not _reached(dt, 1.0) and seen.length > max(length for _, length in self._lengths) * growth:
            return "grown", None
        if _reached(dt, self.lost_s) and seen.length < float(np.median(recent)) / growth:
            return "shrunk", None  # somebody lost for a while comes back at a plausible size
        others = [o for o in self._others if o.confirmed]
        known = others or self._gallery
        colours = torso_colours(image_bgr, seen.centre, seen.length) if known and me.colours is not None else None
        if colours is not None:  # by colour, where that tells them apart
            mine = colour_distance(colours, me.colours)
            theirs = sorted(
                (colour_distance(colours, o.colours), i) for i, o in enumerate(others) if o.colours is not None
            )
            if theirs and theirs[0][0] < self.same_colour and theirs[0][0] + self.colour_margin < mine:
                return "other", others[theirs[0][1]]  # looks like somebody else, wherever they were
            gone = min((colour_distance(colours, c) for _, c in self._gallery), default=np.inf)
            if gone < self.same_colour and gone + self.colour_margin < mine:
                return "other", None  # looks like somebody seen before, no longer tracked
            # who could be where ``seen`` is (by how far they could have moved since last seen), or
            # was taken for the followed person by the model within the last hide_s and is expected
            # within ``near_torso`` torso lengths (the blank may have missed them)
            near = [
                (d, i)
                for d, i in theirs
                if strict
                or (
                    others[i].hidden_at(t_s)
                    and _apart(seen.centre, others[i].at(t_s)) <= self.near_torso * max(others[i].length, seen.length)
                )
                or _apart(seen.centre, others[i].at(t_s))
                <= self._gate_px(others[i].length, min(t_s - others[i].t_s, 0.2))
            ]
            if near and mine > self.same_colour and unlike:
                return "unlike", None
            if near and mine + self.colour_margin < near[0][0]:
                return None, None
        # else by position: nearer to where somebody else is expected than to the followed person
        d, i = min(((_apart(seen.centre, o.at(t_s)), i) for i, o in enumerate(others)), default=(np.inf, -1))
        return ("other", others[i]) if d < distance else (None, None)

    def _accept(self, est: PoseEstimate, seen: _Track | None, t_s: float, image_bgr: np.ndarray) -> PoseEstimate:
        """Take ``est`` (whose torso is ``seen``) for the followed person."""
        if seen is not None:
            me = self._me
            if me is not None:
                seen.box = me.box if seen.box is None else seen.box
                seen.colours = me.colours
            self._me = seen
            keep = self.scale_memory_s
            self._lengths = [(t, n) for t, n in self._lengths if not _reached(t_s - t, keep)] + [(t_s, seen.length)]
            self._core = bbox_px(est.image_px[_HEAD_TORSO], est.visibility[_HEAD_TORSO])
            alone = True
            for o in self._others:
                apart = _apart(o.at(t_s), seen.centre) > max(o.length, seen.length)
                alone &= apart
                if o.t_s == t_s and o.sightings >= 3 and apart:
                    o.confirmed = True  # seen apart from the followed person in this frame
            if alone and seen.box is not None:
                self._whole = seen.box - np.tile(seen.centre, 2)
            colours = torso_colours(image_bgr, seen.centre, seen.length) if alone else None
            if colours is not None and (
                seen.colours is None
                or not any(o.confirmed for o in self._others)
                or colour_distance(colours, seen.colours) < self.same_colour
            ):
                seen.saw_colours(colours)  # alone, and nobody else about or looking like themselves
        elif self._me is not None:
            self._me.t_s = t_s
        return est

    def process(
        self, backend: PoseBackend, image_bgr: np.ndarray, t_s: float, image_rgb: np.ndarray | None = None
    ) -> PoseEstimate:
        """Pose of the followed person in this frame (all NaN if not found); ``image_rgb`` is
        the same frame in RGB order, if the caller has it. ``t_s`` is taken to the millisecond, as
        a video's presentation times are (see :data:`CLOCK_TOLERANCE_S`)."""
        t_s = round(t_s, 3)
        watching = self._watch(backend, image_bgr, t_s)
        self._forget(t_s)
        self._frame_shape = image_bgr.shape
        if self._model_rests(t_s):  # lost a while: the model skips this frame, the detector does not
            people = None if watching is None else watching.result()
            if people is not None:
                self._track_others(people, t_s, image_bgr)
                self._count_people(t_s)
            return self._reseed_lost(backend, image_bgr, t_s, people) if people else PoseEstimate.missing()
        hidden = self._hidden_boxes(t_s)
        est = process_window(
            backend, image_bgr, self._window(t_s), image_rgb, hidden, self._keep_box() if hidden else None
        )
        people = None
        if watching is not None:  # found while this frame's model ran
            people = watching.result()
            self._track_others(people, t_s, image_bgr)
            self._count_people(t_s)
        if not est.found:
            return self._reseed_lost(backend, image_bgr, t_s, people) if people and self.selection else est
        if not self.selection:
            est = self._select(backend, image_bgr, est, t_s)
            est = self._accept(est, _Track.of(est, t_s), t_s, image_bgr)
            if self._me is not None and self._me.colours is None:  # not alone: colours where not overlapped
                self._me.saw_colours(_clean_colours(image_bgr, self._me, self._others))
            return est
        seen = _Track.of(est, t_s)
        doubt, other = self._doubt(seen, t_s, image_bgr)
        if doubt is None:
            return self._accept(est, seen, t_s, image_bgr)
        mine = self._recent_box(t_s)
        somebody_else = doubt == "other" or (doubt == "far" and (mine is None or not _contains(mine, seen.centre)))
        if somebody_else and seen is not None:
            if other is None:
                other = _Track(seen.centre, seen.length, seen.box, t_s)
                self._others.append(other)
                other.hidden_until_s = t_s + self.hide_s  # hidden from the model for a while
            elif self._continues(other, seen, t_s):  # the model has them: their skeleton's box (the
                other.moved_to(seen)  # detector's is only roughly the body's) is what is blanked
                other.box = seen.box if seen.box is not None else other.box
                other.hidden_until_s = t_s + self.hide_s
            # else their track is elsewhere (stale): hiding it longer blanked the client, on a real
            # crossing, for a second after she had walked on (the skeleton's own box is blanked below)
            if seen.box is not None:  # and where the model drew them, in the next frames: without a
                self._refused = (t_s, seen.box)  # look again (reset) it would go on tracking them
        # else a skeleton stretched over the followed person and something else, collapsed, or
        # unlike them: refused, but not taken for somebody else
        est = self._look_again(backend, image_bgr, t_s, seen, other if somebody_else else None)
        if somebody_else:  # counted now, not at the watcher's next look (the model may see them first)
            self._count_people(t_s)
        return est

    def _model_rests(self, t_s: float) -> bool:
        """Whether the pose model skips this frame: the followed person has been lost for more than
        ``sparse_after_s`` and this is not one of every ``sparse_every`` frames since then (see
        ``sparse_every``)."""
        me = self._me
        if (
            not self.selection
            or me is None
            or self.sparse_every <= 1
            or not _reached(t_s - me.t_s, self.sparse_after_s)
        ):
            self._sparse_count = 0
            return False
        self._sparse_count += 1
        return self._sparse_count % self.sparse_every != 0

    def _look_again(
        self, backend: PoseBackend, image_bgr: np.ndarray, t_s: float, seen: _Track | None, other: _Track | None
    ) -> PoseEstimate:
        """After the model's skeleton ``seen`` was refused (taken for ``other`` when not None): the
        followed person found by looking again in this frame, or missing (:meth:`_give_up`)."""
        mine = self._recent_box(t_s)
        if mine is None or (self._covered(t_s) and not _reached(t_s - self._retry_failed_s, self.retry_gap_s)):
            return self._give_up(backend, image_bgr, t_s, reset=mine is None)
        # look again in this frame with the model's tracking reset (so that its detector runs), the
        # people taken for others blanked and only the followed person's recent region visible
        image = self._hide_others(mask_outside(image_bgr, mine), t_s, keep=self._keep_box())
        window = self._window(t_s)
        process_window(backend, np.zeros_like(image), window)
        retry = process_window(backend, image, window)
        again = _Track.of(retry, t_s)
        if retry.found and self._doubt(again, t_s, image_bgr, strict=True)[0] is None:
            if other is not None and again is not None and again.box is not None and iou(again.box, seen.box) < 0.3:
                other.confirmed = True  # both in one frame: certainly somebody else
            return self._accept(retry, again, t_s, image_bgr)
        self._retry_failed_s = t_s
        self.switches_rejected += 1
        return PoseEstimate.missing()

    def _covered(self, t_s: float) -> bool:
        """Whether somebody else is expected over the followed person now or in a moment
        (:meth:`_overlaps_soon`): where every skeleton the model draws may mix the two."""
        return self._me is not None and any(self._overlaps_soon(o, t_s) for o in self._others)

    def _give_up(self, backend: PoseBackend, image_bgr: np.ndarray, t_s: float, reset: bool) -> PoseEstimate:
        """A refused frame not looked at again: missing; with ``reset`` the model's tracking is reset
        (one run on a blank frame) so that its detector runs on the next frame.

        Looking again in the same frame (two more model runs) is skipped while the followed person has
        been lost for a while (the model's own detector found somebody else; its tracking is reset so
        that its detector looks again in the next frame, where the people taken for others are
        blanked), and for ``retry_gap_s`` after a look that failed while somebody else is over the
        client (:meth:`_covered`): there every skeleton mixes the two, and on the crossing clip the
        looks in 20 such frames in a row found him in none of them (3 model runs a frame)."""
        if reset:
            process_window(backend, np.zeros_like(image_bgr), self._window(t_s))
        self.switches_rejected += 1
        return PoseEstimate.missing()

    def _continues(self, track: _Track, seen: _Track, t_s: float) -> bool:
        """Whether ``seen`` can be ``track`` moved on: within how far they could have moved since,
        and a torso within ``max_growth[0]`` times as long or short. A skeleton taken for somebody
        else by colour or place may be stretched over them and the followed person (on a real clip:
        torso 212 px against her 130, the centre between the two); moving her track there put
        "somebody else" where the followed person stood, and her own detections then started a new
        track, unconfirmed, that was followed."""
        near = _apart(seen.centre, track.at(t_s)) <= self._gate_px(track.length, min(t_s - track.t_s, 0.3))
        ratio = max(seen.length, track.length) / max(min(seen.length, track.length), 1e-6)
        return bool(near and ratio <= self.max_growth[0])

    def _forget(self, t_s: float) -> None:
        """Forget other people unseen for ``memory_s``; keep the colours of those confirmed as
        somebody else for ``gallery_s`` (an appearance gallery, as in DeepSORT: Wojke, Bewley &
        Paulus 2017, ICIP), so that a person who walks out of view and back in is not taken for the
        followed one while that one is lost."""
        keep = []
        for o in self._others:
            if not _reached(t_s - o.t_s, self.memory_s):
                keep.append(o)
            elif o.confirmed and o.colours is not None:
                self._gallery.append((o.t_s, o.colours))
        self._others = keep
        self._gallery = [(t, c) for t, c in self._gallery if not _reached(t_s - t, self.gallery_s)]

    def _reseed_lost(
        self, backend: PoseBackend, image_bgr: np.ndarray, t_s: float, people: list[PersonDetection]
    ) -> PoseEstimate:
        """The followed person, found again by the model on this frame with everything blanked but
        the box of the person detector's most likely detection of them; missing if there is none.

        While the model finds nobody its own detector runs on every frame and takes the most salient
        person, or something it scores higher (on a real clip: the sun through a tree, against a
        backlit man the watcher's detections scored 0.6); blanking the rest lets it find him. A
        candidate is a detection scoring at least ``reseed_score`` where the followed person could
        be by now and not where somebody else is expected, nearest to where they were last seen.
        One model run, on frames where the watcher looked while the person is lost."""
        me = self._me
        if me is None or not _reached(t_s - me.t_s, self.lost_s):
            return PoseEstimate.missing()
        candidates = sorted(
            (_apart(p.centre_px, me.centre), i)
            for i, p in enumerate(people)
            if p.score >= self.reseed_score and not self._unreachable(p.centre_px, t_s) and not self._taken(p, t_s)
        )
        if not candidates:
            return PoseEstimate.missing()
        box = people[candidates[0][1]].box_px
        retry = backend.process(self._hide_others(mask_outside(image_bgr, box), t_s, keep=None))
        again = _Track.of(retry, t_s)
        if (
            retry.found
            and fraction_inside(retry.image_px, box, grow=0.25) > 0.5
            and self._doubt(again, t_s, image_bgr, strict=True, unlike=False)[0] is None
        ):
            return self._accept(retry, again, t_s, image_bgr)
        return PoseEstimate.missing()

    def _taken(self, person: PersonDetection, t_s: float) -> bool:
        """Whether ``person`` is where somebody else (a confirmed other track) is expected."""
        return any(
            o.confirmed and _apart(person.centre_px, o.at(t_s)) <= max(o.length, person.torso_px) for o in self._others
        )

    def _hide_others(self, image_bgr: np.ndarray, t_s: float, keep: np.ndarray | None) -> np.ndarray:
        """``image_bgr`` with the people taken for somebody else within ``hide_s`` blanked where
        they are expected by ``t_s``, except inside ``keep``; the same array if nobody is."""
        for box in self._hidden_boxes(t_s):
            image_bgr = mask_inside(image_bgr, box, keep=keep)
        return image_bgr

    def _hidden_boxes(self, t_s: float) -> list[np.ndarray]:
        """Where the people taken for somebody else within ``hide_s`` are expected by ``t_s``, and
        the last skeleton refused within ``retry_gap_s`` (px boxes, see :meth:`_hide_others`)."""
        boxes = [o.box_at(t_s) for o in self._others if o.hidden_at(t_s) and o.box is not None]
        if self._refused is not None and t_s - self._refused[0] <= self.retry_gap_s + CLOCK_TOLERANCE_S:
            boxes.append(self._refused[1])
        return boxes

    def _window(self, t_s: float) -> tuple[int, int, int] | None:
        """Where the model looks (x0, y0, side px), or None for the whole frame.

        Once the followed person has been lost for more than ``lost_s`` the model runs, from then on,
        on a square window ``window_torso`` times their longest recent torso across, centred on where
        they were last seen (:func:`process_window`): the model's person detector, which sees its
        input at 224 px, finds a small person there where it does not in the whole frame, and others
        further away are out of its sight. The window moves with the person, frame to frame, so the
        model's own tracking region stays in place in the window. Whole frame again when the window
        would be as large as the frame's shorter side."""
        me = self._me
        if me is None or not self._lengths or not self._frame_shape or self.window_torso <= 0:
            return None
        if self.window is None and not _reached(t_s - me.t_s, self.lost_s):
            return None
        side = self.window_torso * max(self._recent_lengths())
        self.window = window_px(me.centre, max(int(side), 256), self._frame_shape)
        return self.window

    def _keep_box(self) -> np.ndarray | None:
        """Where the followed person is to stay visible when others are blanked (px): their last box,
        joined with their whole box as last seen alone, placed at their last torso centre. The last box
        alone may be a sliver (a skeleton drawn on the part of them left uncovered as somebody walks
        off them), and blanking the rest hid their face from the model's face-keyed detector: on the
        crossing clip the client was then not found for 14 frames after she had passed."""
        me = self._me
        if me is None:
            return None
        if self._whole is None or me.box is None:
            return me.box
        whole = self._whole + np.tile(me.centre, 2)
        return np.concatenate([np.minimum(me.box[:2], whole[:2]), np.maximum(me.box[2:], whole[2:])])

    def _recent_box(self, t_s: float) -> np.ndarray | None:
        """The followed person's box if they were seen a moment (0.3 s) ago, else None."""
        me = self._me
        return me.box if me is not None and not _reached(t_s - me.t_s, 0.3) else None

    def _watch_due(self, t_s: float) -> bool:
        """Whether to look for other people in this frame (see ``watch_every_s``)."""
        if _reached(t_s - self._watched_s, self.watch_every_s):
            return True
        me = self._me
        if me is None or _reached(t_s - me.t_s, self.lost_s):
            return _reached(t_s - self._watched_s, self.lost_watch_every_s)
        near = False
        for o in self._others:
            if not o.confirmed and not _reached(t_s - o.t_s, self.watch_every_s):
                return True  # somebody new: look until they are confirmed or gone
            if self._overlaps_soon(o, t_s) and _reached(t_s - self._watched_s, self.overlap_watch_every_s):
                return True
            reach = self.near_torso * max(o.length, me.length)
            near |= min(_apart(o.at(t_s + dt), me.centre) for dt in (0.0, self.watch_every_s)) <= reach
        return near and _reached(t_s - self._watched_s, self.near_watch_every_s)

    def _overlaps_soon(self, other: _Track, t_s: float) -> bool:
        """Whether ``other``, moved on at their velocity, overlaps the followed person now or
        ``near_watch_every_s`` later: their torso centres closer than ``overlap_torso`` times the
        followed person's torso length across and three times along the body (where a skeleton may mix the two
        and where their track decides what the model is shown). The detector's boxes are too wide for
        this (half the body's height either side of the hips): on the crossing clip they overlapped
        the client's for 0.6 s before she reached him."""
        me = self._me
        size = me.length  # the detector's torsos are longer than the landmarks' (to the face: 1.7x here)
        for dt in (0.0, self.near_watch_every_s):
            dx, dy = np.abs(other.at(t_s + dt) - me.centre)
            if dx <= self.overlap_torso * size and dy <= 3 * size:
                return True
        return False

    def _watch(self, backend: PoseBackend, image_bgr: np.ndarray, t_s: float):
        """Start looking for other people in this frame in a second thread (a future of the
        backend's detections), with the followed person's head and torso blanked; None when
        not due."""
        detect = getattr(backend, "detect_people", None)
        if not self.watch or detect is None or not self.selection or not self._watch_due(t_s):
            return None
        self._watched_s = t_s
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            # normal priority: its result is waited for at the end of the frame, so a lower one only
            # delays the frame (at nice 10 on a loaded machine the main thread stalled waiting for it)
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="movekit-watch")
        # the followed person's head and torso blanked; while they are lost, nothing (the detections are
        # where to look for them), or every other time the people known to be somebody else
        me = self._me
        image = image_bgr
        if me is not None and not _reached(t_s - me.t_s, self.lost_s):
            image = image_bgr if self._core is None else mask_inside(image_bgr, self._core)
        elif self._lost_looks % 2:  # lost: every other look with the others blanked, so that the
            # detector, which tends to report only the most salient person, finds the followed one
            for o in self._others:
                if o.confirmed and o.box is not None:
                    image = mask_inside(image, o.box_at(t_s))
        if me is not None and _reached(t_s - me.t_s, self.lost_s):
            self._lost_looks += 1

        def run() -> list:
            return detect(image)

        return self._pool.submit(run)

    def _track_others(self, people: list[PersonDetection], t_s: float, image_bgr: np.ndarray) -> None:
        """Match this frame's detections to the people remembered (nearest expected position
        first, one to one, within how far they could have moved); start a track for each
        other detection unless it lies where the followed person was (the blank missed them).
        A detection whose torso has the followed person's colours is them, wherever they are."""
        me = self._me
        seen = []
        for person in people:
            s = _Track.detected(person, t_s)
            s.colours = torso_colours(image_bgr, s.centre, s.length)
            if person.score >= self.min_score and not self._looks_like_me(s.colours):
                seen.append(s)
        pairs = sorted(
            (_apart(s.centre, o.at(t_s)), i, j) for i, s in enumerate(seen) for j, o in enumerate(self._others)
        )
        matched, used = {}, set()
        for d, i, j in pairs:
            o = self._others[j]
            # somebody unseen for long could be anywhere: a detection further away starts a new track
            gate = o.length * (self.detector_jitter_torso + self.max_speed_torso_per_s * min(t_s - o.t_s, 0.3))
            if i not in matched and j not in used and d <= gate and not self._is_client_maybe(seen[i], o, d):
                o.moved_to(seen[i])
                matched[i] = o
                used.add(j)
        for i, s in enumerate(seen):
            apart = me is None or _apart(s.centre, me.centre) > max(me.length, s.length)
            if i not in matched and apart:
                s.confirmed = self._unreachable(s.centre, t_s)
                self._others.append(s)
            elif i in matched and apart:
                matched[i].saw_colours(s.colours)
                matched[i].confirmed |= self._unreachable(s.centre, t_s)

    def _is_client_maybe(self, seen: _Track, track: _Track, distance_px: float) -> bool:
        """Whether a detection ``seen``, ``distance_px`` from where ``track`` (somebody else) is
        expected, may be the followed person instead: nearer to where they were last seen, and with
        torso colours unlike that person's (further than ``same_colour``; appearance in the
        association, as DeepSORT: Wojke, Bewley & Paulus 2017, ICIP). By place alone, a detection of
        the client, where she had just walked over him, moved her track onto him on a real crossing;
        blanked from the model's frames as hers, he was then drawn beside himself. Colours alone
        refused her own detections while she overlapped him (her torso patch held some of his)."""
        me = self._me
        if me is None or seen.colours is None or track.colours is None:
            return False
        nearer = _apart(seen.centre, me.centre) < distance_px
        return bool(nearer and colour_distance(seen.colours, track.colours) > self.same_colour)

    def _unreachable(self, centre_px: np.ndarray, t_s: float) -> bool:
        """Whether the followed person could not be at ``centre_px`` at ``t_s``: further from where
        they were last seen than they could have moved since (``_gate_px``). A detection there is
        somebody else, even while the followed person is lost (the model may then find that person
        next: a track taken for somebody else only once the model had the followed one again was
        still unconfirmed when the model drew her, and was followed instead of him)."""
        me = self._me
        if me is None or not self._lengths:
            return False
        recent = max(self._recent_lengths())
        return bool(_apart(centre_px, me.centre) > self._gate_px(recent, max(t_s - me.t_s, 1e-3)))

    def _recent_lengths(self) -> list[float]:
        """The followed person's torso lengths (px) of the 2 s before they were last seen (at least
        the last one)."""
        last = self._me.t_s if self._me is not None else self._lengths[-1][0]
        return [n for t, n in self._lengths if not _reached(last - t, 2.0)] or [self._lengths[-1][1]]

    def _count_people(self, t_s: float) -> None:
        """Queue a ``people_in_view`` event when the number of people in view has changed (see
        :attr:`events`)."""
        if not self.selection:
            return
        counted: list[_Track] = []
        for o in sorted(self._others, key=lambda o: -o.t_s):  # most recently seen first
            # a track last seen where somebody counted since could have come from is them (a detection
            # that missed its match, or somebody unseen for a while, started a second track)
            if (o.confirmed or o.sightings >= 2) and all(
                _apart(o.centre, c.centre)
                > max(o.length, c.length) * (1 + self.max_speed_torso_per_s * (c.t_s - o.t_s))
                for c in counted
            ):
                counted.append(o)
        n = 1 + len(counted)
        if n != self._people:
            self.events.append(
                {
                    "t_s": float(t_s),
                    "kind": "people_in_view",
                    "count": n,
                    "change": "entered" if n > self._people else "left",
                }
            )
            self._people = n

    def take_events(self) -> list[dict]:
        """The queued :attr:`events`, emptied."""
        out, self.events = self.events, []
        return out

    def _looks_like_me(self, colours: np.ndarray | None) -> bool:
        """Whether a torso with ``colours`` looks more like the followed person's than like anybody
        else remembered (by ``colour_margin``), or, with nobody else's colours known, like theirs
        (within ``same_colour``)."""
        me = self._me
        if colours is None or me is None or me.colours is None:
            return False
        mine = colour_distance(colours, me.colours)
        theirs = [colour_distance(colours, o.colours) for o in self._others if o.colours is not None]
        return mine + self.colour_margin < min(theirs, default=self.same_colour + self.colour_margin)

    def close(self) -> None:
        """Stop the second thread (waits for a detection running in it)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _select(self, backend: PoseBackend, image_bgr: np.ndarray, est: PoseEstimate, t_s: float) -> PoseEstimate:
        find = getattr(backend, "find_people", None)
        mine = bbox_px(est.image_px, est.visibility)
        others = find(image_bgr, [mine]) if find is not None and mine is not None else []
        people = [est, *others]
        boxes = [bbox_px(e.image_px, e.visibility) for e in people]
        self.selection = {"strategy": person_text(self.choose), "t_s": float(t_s)}
        if mine is None:
            self.selection["people_at_start"] = 1
            return est
        centres = [(torso(e.image_px) or (None,))[0] for e in people]
        # with a choice by place: also the people the landmark model did not find here but its person
        # detector does (its first stage: a face and the body's extent), so that the choice can fall
        # on them ("largest" keeps to the skeletons: a detector's box is only roughly the body's)
        seen = self._detect_more(backend, image_bgr, boxes) if self.choose not in ("first", "largest") else []
        self.selection["people_at_start"] = len(people) + len(seen)
        pick, outside_px = choose_person(
            boxes + [d.box_px for d in seen], centres + [d.centre_px for d in seen], self.choose, image_bgr.shape[1]
        )
        if pick >= len(people):
            return self._select_detected(backend, image_bgr, people, seen, pick - len(people), t_s)
        chosen, box = people[pick], boxes[pick]
        if seen:
            self._others += [_Track.detected(d, t_s) for d in seen]
            for o in self._others:
                o.confirmed = True
        if outside_px > 0:
            self.selection["point_outside_px"] = round(outside_px, 1)
            self.events.append(
                {
                    "t_s": float(t_s),
                    "kind": "person_not_at_point",
                    "person": person_text(self.choose),
                    "outside_px": round(outside_px, 1),
                }
            )
        if others:
            if chosen is not est:  # lock the tracker onto the chosen one: blank everybody else
                image = image_bgr
                for other, other_box in zip(people, boxes):
                    if other is not chosen:
                        image = mask_inside(image, other_box, keep=box)
                retry = _reseed(backend, image)
                est = retry if retry.found and iou(bbox_px(retry.image_px, retry.visibility), box) > 0.3 else chosen
            self._others = [
                o for o in (_Track.of(p, t_s) for p in people if p is not chosen) if o is not None
            ] + self._others
            everybody = [t for t in [_Track.of(chosen, t_s), *self._others] if t is not None]
            near = _grow(box, 0.5)
            for o in self._others:
                o.confirmed = True
                o.colours = _clean_colours(image_bgr, o, everybody)
                if o.box is not None and iou(o.box, near) > 0:  # beside the chosen one: hidden from the
                    o.hidden_until_s = t_s + self.hide_s  # model a while, so that it settles on them
        n = self.selection["people_at_start"]
        if n > 1:
            self.events.append(
                {
                    "t_s": float(t_s),
                    "kind": "people_in_view",
                    "count": n,
                    "change": "start",
                    "following": person_text(self.choose),
                }
            )
        self._people = n
        self.selection["box_px"] = [round(float(v), 1) for v in bbox_px(est.image_px, est.visibility)]
        return est

    def _detect_more(self, backend: PoseBackend, image_bgr: np.ndarray, boxes: list) -> list[PersonDetection]:
        """People the backend's person detector finds outside ``boxes`` (blanked; at most two more)."""
        detect = getattr(backend, "detect_people", None)
        if detect is None:
            return []
        found: list[PersonDetection] = []
        image = image_bgr
        for box in boxes:
            image = mask_inside(image, box)
        for _ in range(2):
            new = [
                d
                for d in detect(image)
                if d.score >= self.min_score
                and not any(_contains(_grow(b, 0.1), d.centre_px) for b in [*boxes, *(f.box_px for f in found)])
            ]
            if not new:
                break
            found += new
            for d in new:
                image = mask_inside(image, d.box_px)
        return found

    def _select_detected(
        self,
        backend: PoseBackend,
        image_bgr: np.ndarray,
        people: list,
        seen: list[PersonDetection],
        pick: int,
        t_s: float,
    ) -> PoseEstimate:
        """Follow ``seen[pick]``, whom only the person detector found: everybody else is blanked from
        the model's frames for ``hide_s`` and the model looks again, here and in the next frames."""
        box = seen[pick].box_px
        self._others = [o for o in (_Track.of(p, t_s) for p in people) if o is not None]
        self._others += [_Track.detected(d, t_s) for i, d in enumerate(seen) if i != pick]
        for o in self._others:
            o.confirmed, o.hidden_until_s = True, t_s + self.hide_s
        n = self.selection["people_at_start"]
        self.events.append(
            {
                "t_s": float(t_s),
                "kind": "people_in_view",
                "count": n,
                "change": "start",
                "following": person_text(self.choose),
            }
        )
        self._people = n
        self.selection["box_px"] = [round(float(v), 1) for v in box]
        # where they are, until the model draws them: the detector's torso and box
        self._me = _Track.detected(seen[pick], t_s)
        self._lengths = [(t_s, self._me.length)]
        retry = _reseed(backend, self._hide_others(image_bgr, t_s, keep=box))
        if retry.found and fraction_inside(retry.image_px, box, grow=0.25) > 0.5:
            return retry
        return PoseEstimate.missing()  # the model finds them in a next frame, everybody else hidden

    def message(self) -> str | None:
        """Whom the follower chose at the start, in words, when it had a choice or was given a point
        nobody stood at; None otherwise."""
        n = self.selection.get("people_at_start", 1)
        how = self.choose
        who = (
            {
                "largest": "the largest one",
                "centre": "the one nearest the centre",
                "left": "the one furthest left in the image",
                "right": "the one furthest right in the image",
                "first": "the one the model found first",
            }.get(how)
            if isinstance(how, str)
            else f"the one at {person_text(how)} px"
        )
        out = self.selection.get("point_outside_px")
        if out is not None:
            return (
                f"nobody at {person_text(how)} px when a person was first found: following the "
                f"nearest, whose box is {out:.0f} px away" + (f" ({n} people in view)" if n > 1 else "")
            )
        if n > 1:
            return f"{n} people in view at the start: following {who}"
        return None
