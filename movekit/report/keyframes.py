"""Keyframes for the report's first page: a few frames of a stored recording with its stored skeleton.

The skeleton is the recording's own pose stream (``pose_image_px``, ``pose_visibility``), drawn by
:func:`movekit.capture.annotate.draw_pose` without angles (the first page shows stored results
only). When the recording kept its raw video (``--save-video``: ``video.mkv``) the skeleton is drawn
on the frame; otherwise on a plain background, and the report says that no video was kept.
Frames are taken at the client's pain reports when there are any, else spread over the movement.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError

__all__ = ["Keyframe", "KeyframeSet", "keyframes"]

log = logging.getLogger(__name__)

#: width of a keyframe image in the report (px); 3 of them fit across an A4 page
KEYFRAME_WIDTH_PX = 360
#: background of a skeleton drawn without video (BGR): dark, so the white joints show
BLANK_BGR = (48, 48, 48)
VIDEO_NAMES = ("video.mkv", "video.mp4")
#: a pain report further than this from any frame with the client in view gets no keyframe (s)
PAIN_WINDOW_S = 0.5


@dataclass(frozen=True)
class Keyframe:
    image_data_uri: str  #: JPEG, base64
    t_s: float  #: time on the recording's session clock (s)
    frame_index: int
    at_pain: bool  #: taken at a pain report


@dataclass(frozen=True)
class KeyframeSet:
    recording: str  #: the recording's folder name
    session_date: str
    frames: list[Keyframe]
    video_kept: bool
    note: str  #: what the images show, said plainly (e.g. that no video was kept)


def pick_frames(t_s: np.ndarray, detected: np.ndarray, pain_t_s: list[float], n: int = 3) -> list[tuple[int, bool]]:
    """Up to ``n`` frame indices with a detected person: nearest to each pain report (in time
    order, within :data:`PAIN_WINDOW_S`), topped up with frames spread evenly over the detected ones; ``(index, at_pain)``."""
    idx = np.flatnonzero(detected)
    if len(idx) == 0:
        return []
    chosen: dict[int, bool] = {}
    for t in sorted(pain_t_s):
        near = int(idx[np.argmin(np.abs(t_s[idx] - t))])
        if abs(t_s[near] - t) <= PAIN_WINDOW_S and len(chosen) < n:
            chosen.setdefault(near, True)
    for q in np.linspace(0, 1, n + 2)[1:-1]:
        if len(chosen) >= n:
            break
        chosen.setdefault(int(idx[int(round(q * (len(idx) - 1)))]), False)
    return sorted(chosen.items())


def _read_frames(video: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Frames of a video by index (OpenCV seek); those that cannot be read are left out."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    out = {}
    try:
        for i in indices:
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, img = cap.read()
            if ok and img is not None:
                out[i] = img
    finally:
        cap.release()
    return out


def _crop_box(pts: np.ndarray, ok: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    """The person's bounding box with a 15 % margin, clipped to the frame (x0, y0, x1, y1, px)."""
    if not ok.any():
        return 0, 0, w, h
    x0, y0 = np.min(pts[ok, :2], axis=0)
    x1, y1 = np.max(pts[ok, :2], axis=0)
    m = 0.15 * max(x1 - x0, y1 - y0, 1.0)
    return (max(0, int(x0 - m)), max(0, int(y0 - m)), min(w, int(x1 + m) + 1), min(h, int(y1 + m) + 1))


def _render(image_bgr: np.ndarray, image_px: np.ndarray, visibility: np.ndarray) -> str:
    """Skeleton drawn, cropped to the person, scaled to the report's width, as a JPEG data URI."""
    import cv2

    from movekit.capture.annotate import draw_pose

    h, w = image_bgr.shape[:2]
    draw_pose(image_bgr, image_px, visibility)
    ok = np.isfinite(image_px[:, 0]) & (visibility >= 0.5)
    x0, y0, x1, y1 = _crop_box(image_px, ok, w, h)
    crop = image_bgr[y0:y1, x0:x1]
    scale = KEYFRAME_WIDTH_PX / max(crop.shape[1], 1)
    crop = cv2.resize(
        crop, (KEYFRAME_WIDTH_PX, max(1, int(round(crop.shape[0] * scale)))), interpolation=cv2.INTER_AREA
    )
    ok_enc, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok_enc:
        raise MovekitError("could not encode a keyframe as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _frame_size(pose) -> tuple[int, int]:
    w, h = pose.frame_size_px
    if w > 0 and h > 0:
        return int(w), int(h)
    finite = pose.image_px[np.isfinite(pose.image_px[:, :, 0])]
    return int(np.max(finite[:, 0], initial=640)) + 20, int(np.max(finite[:, 1], initial=480)) + 20


def keyframes(rec, session_date: str, n: int = 3) -> KeyframeSet | None:
    """Up to ``n`` keyframes of an opened :class:`movekit.recording.Recording`, or None when it holds
    no pose with a person detected.

    Parameters
    ----------
    rec : an opened recording (``movekit.recording.open_recording``)
    session_date : the session's date (ISO), for the caption
    n : number of frames
    """
    try:
        pose = rec.pose()
    except MovekitError:
        return None
    pains = [float(e["t_s"]) for e in rec.events if e.get("kind") == "pain" and "t_s" in e]
    picks = pick_frames(np.asarray(pose.t_s, float), pose.detected, pains, n)
    if not picks:
        return None
    video = next((rec.path / v for v in VIDEO_NAMES if (rec.path / v).is_file()), None)
    images = _read_frames(video, [i for i, _ in picks]) if video is not None else {}
    w, h = _frame_size(pose)
    frames = []
    for i, at_pain in picks:
        base = images.get(i)
        if base is None:
            base = np.empty((h, w, 3), np.uint8)
            base[:] = BLANK_BGR
        uri = _render(base, np.asarray(pose.image_px[i], float), np.asarray(pose.visibility[i], float))
        frames.append(Keyframe(uri, float(pose.t_s[i]), i, at_pain))
    name = Path(rec.path).name
    if video is None:
        note = f"No video was kept for {name} (captured without --save-video): the stored skeleton is shown alone."
    elif len(images) < len(picks):
        note = f"The video of {name} could not be read at every keyframe: those show the stored skeleton alone."
        log.warning("%s: %d of %d keyframes unreadable", video, len(picks) - len(images), len(picks))
    else:
        note = f"Frames of the video kept with {name}, with the skeleton stored in the recording."
    note += " Skeleton: the client's left side orange, right side blue."
    return KeyframeSet(name, session_date, frames, bool(video is not None and images), note)
