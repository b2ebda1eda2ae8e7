"""Follow one person when several are in view.

MediaPipe's legacy Pose finds one person per frame and tracks that person from frame
to frame. This module keeps the identity: at the first detection it asks the backend
for everyone in view (:meth:`movekit.capture.pose.MediaPipePose.find_people`) and, when
several are there, chooses the largest (or the one MediaPipe found, if asked); from then
on a detection whose torso jumps further than a person can move in the time since the
last frame is treated as somebody else, and the model is run again on the frame with
the followed person's region alone, or the other person blanked. Blanking (rather than
cropping) keeps the landmarks in full-frame pixel coordinates.
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


def _grown(box: np.ndarray, grow: float, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Row and column slices of ``box`` grown by ``grow`` of its size, clipped to the frame."""
    h, w = shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x0, x1 = int(max(0, box[0] - grow * bw)), int(min(w, box[2] + grow * bw))
    y0, y1 = int(max(0, box[1] - grow * bh)), int(min(h, box[3] + grow * bh))
    return slice(y0, y1), slice(x0, x1)


def mask_outside(image_bgr: np.ndarray, box: np.ndarray, grow: float = 0.35) -> np.ndarray:
    """Copy of the frame with everything outside ``box`` (grown by ``grow`` of its size) blanked."""
    region = _grown(box, grow, image_bgr.shape)
    out = np.zeros_like(image_bgr)
    out[region] = image_bgr[region]
    return out


def mask_inside(image_bgr: np.ndarray, box: np.ndarray, grow: float = 0.15) -> np.ndarray:
    """Copy of the frame with ``box`` (grown by ``grow`` of its size) blanked."""
    out = image_bgr.copy()
    out[_grown(box, grow, image_bgr.shape)] = 0
    return out


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
    """

    choose: str = "largest"
    max_speed_torso_per_s: float = 6.0
    selection: dict = field(default_factory=dict)
    switches_rejected: int = 0
    _box: np.ndarray | None = None
    _centre: np.ndarray | None = None
    _torso_len: float = 0.0
    _t: float = 0.0
    _misses: int = 0

    def _plausible(self, est: PoseEstimate, t_s: float) -> bool:
        if self._centre is None:
            return True
        tr = torso(est.image_px)
        if tr is None:
            return True
        centre, length = tr
        dt = max(t_s - self._t, 1e-3)
        allowed = self._torso_len * (0.5 + self.max_speed_torso_per_s * dt)
        size_ratio = length / self._torso_len if self._torso_len > 0 else 1.0
        return bool(np.linalg.norm(centre - self._centre) <= allowed and
                    (dt > 1.0 or 0.5 <= size_ratio <= 2.0))

    def _accept(self, est: PoseEstimate, t_s: float) -> PoseEstimate:
        self._misses = 0
        box = bbox_px(est.image_px, est.visibility)
        if box is not None:
            self._box = box
        tr = torso(est.image_px)
        if tr is not None:
            self._centre, self._torso_len = tr
        self._t = t_s
        return est

    def process(self, backend: PoseBackend, image_bgr: np.ndarray, t_s: float) -> PoseEstimate:
        """Pose of the followed person in this frame (all NaN if not found)."""
        est = backend.process(image_bgr)
        if not est.found:
            return est
        if not self.selection:
            return self._accept(self._select(backend, image_bgr, est), t_s)
        if self._plausible(est, t_s):
            return self._accept(est, t_s)
        # somebody else: look again once, with only the followed person's last region visible
        # when they were seen a moment ago, else with the other person blanked (the followed one
        # may have moved on). During a long loss, look again on every third frame only.
        self._misses += 1
        if self._misses <= 3 or self._misses % 3 == 0:
            other = bbox_px(est.image_px, est.visibility)
            if self._box is not None and (t_s - self._t < 0.3 or other is None):
                masked = mask_outside(image_bgr, self._box)
            else:
                masked = mask_inside(image_bgr, other)
            retry = backend.process(masked)
            if retry.found and self._plausible(retry, t_s):
                return self._accept(retry, t_s)
        self.switches_rejected += 1
        return PoseEstimate.missing()

    def _select(self, backend: PoseBackend, image_bgr: np.ndarray, est: PoseEstimate) -> PoseEstimate:
        find = getattr(backend, "find_people", None)
        mine = bbox_px(est.image_px, est.visibility)
        others = find(image_bgr, [mine]) if find is not None and mine is not None else []
        self.selection = {"strategy": self.choose, "people_at_start": 1 + len(others)}
        if others and self.choose == "largest":
            def area(e: PoseEstimate) -> float:
                b = bbox_px(e.image_px, e.visibility)
                return float((b[2] - b[0]) * (b[3] - b[1]))

            if area(others[0]) > area(est):  # lock the tracker onto the largest
                largest = bbox_px(others[0].image_px, others[0].visibility)
                retry = backend.process(mask_outside(image_bgr, largest))
                est = retry if retry.found and iou(bbox_px(retry.image_px, retry.visibility), largest) > 0.3 \
                    else others[0]
            self.selection["box_px"] = [round(float(v), 1) for v in bbox_px(est.image_px, est.visibility)]
        return est

    def message(self) -> str | None:
        n = self.selection.get("people_at_start", 1)
        if n > 1:
            return f"{n} people in view at the start: following the {self.choose} one"
        return None
