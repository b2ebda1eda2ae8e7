"""Follow one person when several are in view.

MediaPipe's legacy Pose finds one person per frame and tracks that person from frame
to frame. This module keeps the identity: at the first detection it asks the backend
for everyone in view (:meth:`movekit.capture.pose.MediaPipePose.find_people`) and, when
several are there, chooses the largest (or the one MediaPipe found, if asked). From
then on a detection is taken for somebody else when its torso jumps further than a
person can move in the time since the last frame, or when it lies nearer to where
another person was last seen than to the followed one. That person is then blanked from
the frames given to the model for a while: its tracker loses them and its detector
looks for whoever is left, which re-seeds tracking on the followed person as soon as
they are in view (and, when the switch happened a moment ago, at once, in the same frame).
Blanking (rather than cropping) keeps the landmarks in full-frame pixel coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from movekit.capture.pose import PoseBackend, PoseEstimate

_TORSO = (11, 12, 23, 24)  # shoulders and hips


def bbox_px(image_px: np.ndarray, visibility: np.ndarray | None = None,
            min_visibility: float = 0.3) -> np.ndarray | None:
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
    return (shoulders + hips) / 2, float(np.linalg.norm(shoulders - hips))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def _grow(box: np.ndarray, grow: float) -> np.ndarray:
    """``box`` (x0, y0, x1, y1, px) grown by ``grow`` of its width and height on every side."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] - grow * bw, box[1] - grow * bh, box[2] + grow * bw, box[3] + grow * bh])


def _grown(box: np.ndarray, grow: float, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Row and column slices of ``box`` grown by ``grow`` of its size, clipped to the frame."""
    h, w = shape[:2]
    x0, y0, x1, y1 = _grow(box, grow)
    return slice(int(max(0, y0)), int(min(h, y1))), slice(int(max(0, x0)), int(min(w, x1)))


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


def mask_inside(image_bgr: np.ndarray, box: np.ndarray, grow: float = 0.15,
                keep: np.ndarray | None = None) -> np.ndarray:
    """Copy of the frame with ``box`` (grown by ``grow`` of its size) blanked, except inside ``keep``."""
    out = image_bgr.copy()
    out[_grown(box, grow, image_bgr.shape)] = 0
    if keep is not None:
        region = _grown(keep, 0.0, image_bgr.shape)
        out[region] = image_bgr[region]
    return out


def _reseed(backend: PoseBackend, image_bgr: np.ndarray) -> PoseEstimate:
    """Run the model on an image with somebody blanked, twice if the first run finds nobody.

    A video-mode tracker that was following the blanked person loses them on the first
    run and finds nobody; only the next run calls its detector, which finds whoever is
    left in the image and tracks them from then on.
    """
    est = backend.process(image_bgr)
    return est if est.found else backend.process(image_bgr)


@dataclass
class _Seen:
    """Where a person was last seen: torso centre and length (px), box (px), time (s)."""

    centre: np.ndarray
    length: float
    box: np.ndarray | None
    t_s: float

    @classmethod
    def of(cls, est: PoseEstimate, t_s: float) -> "_Seen | None":
        tr = torso(est.image_px)
        if tr is None:
            return None
        return cls(tr[0], tr[1], bbox_px(est.image_px, est.visibility), t_s)


@dataclass
class PersonFollower:
    """Keeps one person's identity across frames.

    Parameters
    ----------
    choose : {"largest", "first"}
        Whom to follow when several people are in view at the first detection.
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
    memory_s : float
        How long another person's last position is remembered, in seconds. A detection
        nearer to where somebody else was seen within this time than to where the
        followed person was seen is taken for that somebody else, however long the
        followed person has been lost. Only positions confirmed as another person (seen
        in the same frame as the followed one) are remembered.
    hide_s : float
        How long (s) a detection taken for somebody else is blanked from the frames given to
        the model. Its tracker then loses that person and its detector looks for whoever is
        left, so the followed person is found as soon as they are back, at no extra model
        run per frame. A detection rejected only for its size ("grown": a skeleton stretched
        over the followed person and something else) is never blanked.
    """

    choose: str = "largest"
    max_speed_torso_per_s: float = 6.0
    max_growth: tuple[float, float] = (1.25, 0.5)
    memory_s: float = 2.0
    hide_s: float = 1.0
    selection: dict = field(default_factory=dict)
    switches_rejected: int = 0
    _me: _Seen | None = None
    _others: list = field(default_factory=list)
    _lengths: list = field(default_factory=list)  # (t_s, torso length px) of the last 2 s
    _hidden: list = field(default_factory=list)  # (box px, t_s) of people taken for somebody else

    def _doubt(self, seen: _Seen | None, t_s: float) -> str | None:
        """Why ``seen`` is not the followed person: "far", "grown" or "other"; None if it may be."""
        me = self._me
        if me is None or seen is None:
            return None
        dt = max(t_s - me.t_s, 1e-3)
        distance = float(np.linalg.norm(seen.centre - me.centre))
        # the longest torso of the last 2 s is the person's scale: bending towards the camera
        # foreshortens the last one (to 10 % of it, seen on a real clip)
        longest = max(length for _, length in self._lengths)
        if distance > longest * (0.5 + self.max_speed_torso_per_s * dt):
            return "far"
        # no lower bound: bending towards the camera shortens a torso to almost nothing
        if dt <= 1.0 and seen.length > longest * (self.max_growth[0] + self.max_growth[1] * dt):
            return "grown"
        if any(np.linalg.norm(seen.centre - o.centre) < distance for o in self._others
               if t_s - o.t_s <= self.memory_s):
            return "other"
        return None

    def _accept(self, est: PoseEstimate, seen: _Seen | None, t_s: float) -> PoseEstimate:
        """Take ``est`` (whose torso is ``seen``) for the followed person."""
        if seen is not None:
            if seen.box is None and self._me is not None:
                seen.box = self._me.box
            self._me = seen
            self._lengths = [(t, n) for t, n in self._lengths if t_s - t <= 2.0] + [(t_s, seen.length)]
            self._others = [o for o in self._others if t_s - o.t_s <= self.memory_s
                            and np.linalg.norm(o.centre - seen.centre) > 0.5 * seen.length]
        elif self._me is not None:
            self._me.t_s = t_s
        return est

    def process(self, backend: PoseBackend, image_bgr: np.ndarray, t_s: float,
                image_rgb: np.ndarray | None = None) -> PoseEstimate:
        """Pose of the followed person in this frame (all NaN if not found); ``image_rgb`` is
        the same frame in RGB order, if the caller has it."""
        self._hidden = [(box, t) for box, t in self._hidden if t_s - t <= self.hide_s]
        est = (backend.process(self._hide(image_bgr, t_s)) if self._hidden
               else backend.process(image_bgr, image_rgb))
        if not est.found:
            return est
        if not self.selection:
            est = self._select(backend, image_bgr, est, t_s)
            return self._accept(est, _Seen.of(est, t_s), t_s)
        seen = _Seen.of(est, t_s)
        doubt = self._doubt(seen, t_s)
        if doubt is None:
            self._hidden = []  # the tracker is on the followed person: whole frames again
            return self._accept(est, seen, t_s)
        if doubt == "grown":  # a skeleton stretched over the followed person and something else
            self.switches_rejected += 1
            return PoseEstimate.missing()
        other = seen.box if seen is not None else bbox_px(est.image_px, est.visibility)
        if other is not None:
            self._hidden.append((other, t_s))  # somebody else: hidden from the model for a while
        mine = self._recent_box(t_s)
        if mine is not None:
            # the model switched people a moment ago: look again in this frame, with only the
            # followed person's region visible and the other person blanked
            retry = _reseed(backend, mask_inside(mask_outside(image_bgr, mine), other, keep=mine))
            again = _Seen.of(retry, t_s)
            if retry.found and self._doubt(again, t_s) is None:
                if seen is not None and (again is None or again.box is None or seen.box is None
                                         or iou(again.box, seen.box) < 0.3):
                    self._others.append(seen)  # both in one frame: certainly somebody else
                self._hidden = []
                return self._accept(retry, again, t_s)
        self.switches_rejected += 1
        return PoseEstimate.missing()

    def _recent_box(self, t_s: float) -> np.ndarray | None:
        """The followed person's box if they were seen a moment (0.3 s) ago, else None."""
        me = self._me
        return me.box if me is not None and t_s - me.t_s < 0.3 else None

    def _hide(self, image_bgr: np.ndarray, t_s: float) -> np.ndarray:
        """The frame with the people taken for somebody else lately blanked, except where the
        followed person was a moment ago."""
        keep = self._recent_box(t_s)
        for box, _ in self._hidden:
            image_bgr = mask_inside(image_bgr, box, keep=keep)
        return image_bgr

    def _select(self, backend: PoseBackend, image_bgr: np.ndarray, est: PoseEstimate,
                t_s: float) -> PoseEstimate:
        find = getattr(backend, "find_people", None)
        mine = bbox_px(est.image_px, est.visibility)
        others = find(image_bgr, [mine]) if find is not None and mine is not None else []
        self.selection = {"strategy": self.choose, "people_at_start": 1 + len(others)}
        if others:
            people = [est, *others]
            if self.choose == "largest":
                def area(e: PoseEstimate) -> float:
                    b = bbox_px(e.image_px, e.visibility)
                    return float((b[2] - b[0]) * (b[3] - b[1]))

                chosen = max(people, key=area)
            else:
                chosen = est
            box = bbox_px(chosen.image_px, chosen.visibility)
            if chosen is not est:  # lock the tracker onto the chosen one: blank everybody else
                image = image_bgr
                for other in people:
                    if other is not chosen:
                        image = mask_inside(image, bbox_px(other.image_px, other.visibility), keep=box)
                retry = _reseed(backend, image)
                est = retry if retry.found and iou(bbox_px(retry.image_px, retry.visibility), box) > 0.3 \
                    else chosen
            self._others = [o for o in (_Seen.of(p, t_s) for p in people if p is not chosen) if o is not None]
            self.selection["box_px"] = [round(float(v), 1) for v in bbox_px(est.image_px, est.visibility)]
        return est

    def message(self) -> str | None:
        n = self.selection.get("people_at_start", 1)
        if n > 1:
            return f"{n} people in view at the start: following the {self.choose} one"
        return None
