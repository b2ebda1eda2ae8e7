"""Frames from a webcam or a video file, timestamped on the session clock.

A video file's frames carry the container's presentation times; a camera's carry a
monotonic clock started when the source opens. Frames are decoded in a background
thread so the next frame is ready while the pose model runs on this one. A camera
that delivers late or drops frames shows it as gaps in the timestamps; when the
consumer falls behind a camera, the oldest waiting frames are dropped (and counted)
rather than building up latency.

A maximum analysis rate (``max_fps``) keeps the frames evenly spaced at about that rate and
skips the others where they are decoded, before any colour conversion: a 60-fps camera or
video is analysed at 30 frames/s on a machine that cannot follow 60. Frames skipped by the
rate limit are counted apart from frames dropped because the consumer was late.
"""

from __future__ import annotations

import math
import os
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from movekit.capture.clock import SessionClock
from movekit.errors import MovekitError

_SENTINEL = object()


def check_max_fps(value: object) -> float | None:
    """A maximum analysis rate (frames/s): a finite number >= 0; ``None`` or 0 means no limit.

    Raises
    ------
    MovekitError
        For a negative, NaN, infinite or non-numeric value (text included: give a number).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise MovekitError(f"maximum frame rate must be a number of frames/s (0: no limit), not {value!r}")
    fps = float(value)
    if not math.isfinite(fps) or fps < 0:
        raise MovekitError(f"maximum frame rate must be a finite number >= 0 frames/s (0: no limit), not {value!r}")
    return fps or None


def frame_step(interval_s: float | None, max_fps: float, tolerance: float = 1e-6) -> int:
    """Whole source frames between kept frames: the smallest ``k`` with ``k * interval_s >= 1 /
    max_fps`` (1 when the source's interval is unknown), so the kept rate never exceeds ``max_fps``
    and the kept frames are evenly spaced (60 fps under 30 -> 2; under 25 or 20 -> 3; 30 under 30 -> 1).
    ``tolerance`` (in steps) absorbs an interval that is measured, not declared: a camera's mean
    interval of 16.5 ms is still "60 fps" under 30 (2 steps, not 3) with 0.1."""
    if not interval_s or interval_s <= 0:
        return 1
    return max(1, math.ceil(1.0 / (max_fps * interval_s) - tolerance))


def kept_fps(source_fps: float, max_fps: float | None) -> float:
    """The rate (frames/s) at which :class:`FrameSource` keeps frames of a steady ``source_fps``
    source under ``max_fps``: ``source_fps / frame_step(...)``; ``max_fps`` when the source's rate is
    unknown (NaN or <= 0); ``source_fps`` without a limit."""
    if max_fps is None:
        return source_fps
    if not (math.isfinite(source_fps) and source_fps > 0):
        return max_fps
    return source_fps / frame_step(1.0 / source_fps, max_fps)


@dataclass
class Frame:
    """One decoded frame: ``index`` counts frames read from the source (gaps = frames dropped, or
    skipped by the rate limit: ``rate_skipped`` counts those).

    ``image_rgb`` is the same image in RGB order (read-only), as the pose model takes it. It is
    converted where the frame is decoded, in the source's background thread, so that the model
    does not wait for the conversion (about 1.5 ms for a 1768x994 frame, 7 % of the model's time
    on 2 cores: docs/benchmarks.md).
    """

    index: int
    t_s: float
    image_bgr: np.ndarray
    image_rgb: np.ndarray | None = None
    #: frames skipped by the rate limit (``max_fps``) before this one since the source opened: an
    #: index gap minus the change in this count is what was dropped late
    rate_skipped: int = 0


def parse_source(source: str | int) -> int | Path:
    """A webcam index (``0``, ``/dev/video0``) or an existing video file path.

    Raises
    ------
    MovekitError
        For a URL or other unsupported source string, or a file that does not exist.
    """
    if isinstance(source, int):
        return source
    s = str(source).strip()
    if re.fullmatch(r"\d+", s):
        return int(s)
    m = re.fullmatch(r"/dev/video(\d+)", s)
    if m:
        return int(m.group(1))
    if "://" in s:
        raise MovekitError(f"unsupported source {s!r}: give a webcam index such as 0 or a video file path")
    path = Path(s)
    if not path.exists():
        raise MovekitError(f"no such video file: {path}")
    if path.is_dir():
        raise MovekitError(f"{path} is a directory, not a video file")
    return path


class FrameSource:
    """Iterate timestamped frames from a camera index or a video file.

    Parameters
    ----------
    source : str, int or Path
        Webcam index or video file path (see :func:`parse_source`).
    prefetch : int
        Frames decoded ahead in the background thread.
    threaded : bool
        Decode a video file in a background thread while the pose model runs on the
        previous frame (default). The decoder is then limited to one FFmpeg thread:
        MediaPipe's legacy Pose keeps about one core busy, and FFmpeg's own threads
        would otherwise compete with it (measured on 2 cores: 46.6 frames/s with one
        decoder thread, 43.6 with FFmpeg's default, 40.8 decoding inline). A camera
        always has its thread, so it can drop frames and stay live when movekit falls
        behind.
    clock : SessionClock, optional
        Stamps camera frames; a new clock starts when the source opens if none is given.
    realtime : bool
        Release a video file's frames in real time on ``clock``, as a camera would, so
        live devices recorded beside it line up: each frame is then stamped with its
        presentation time plus the session time at which the first frame was released
        (``offset_s``). Default: as fast as the consumer takes them, stamped with the
        presentation time.
    drop_late : bool
        With ``realtime``: a frame already more than one frame interval late when the consumer
        takes it is skipped and counted in ``dropped``, as a webcam drops the frames a slow consumer
        did not take, so a video standing in for a webcam (the studio) shows the present, not a
        growing backlog. The skipped frames leave gaps in the frame indices.
    max_fps : float, optional
        Most frames per second handed on (None or 0: every frame). A camera is asked for this rate
        (``CAP_PROP_FPS``); whatever a camera or video file delivers faster is thinned by timestamp
        where it is decoded: a frame is kept when at least ``k`` source frame intervals minus half
        a one have passed since the last kept one was due, ``k`` the smallest whole step that keeps
        the rate at or under ``max_fps`` (:func:`frame_step`; a 60-fps source under 30 keeps every
        second frame, evenly spaced, whatever a camera's jitter; :func:`kept_fps`). Skipped frames are counted in ``skipped``
        (not in ``dropped``), are never converted to RGB, and leave gaps in the frame indices that
        ``Frame.rate_skipped`` accounts for.
    """

    def __init__(
        self,
        source: str | int | Path,
        prefetch: int = 4,
        *,
        clock: SessionClock | None = None,
        realtime: bool = False,
        threaded: bool = True,
        drop_late: bool = False,
        max_fps: float | None = None,
    ) -> None:
        import cv2

        self.max_fps = check_max_fps(max_fps)
        self._cv2 = cv2
        self.clock = clock or SessionClock()
        self.realtime = realtime
        self.drop_late = drop_late
        self.offset_s: float | None = None
        self.source = parse_source(source) if not isinstance(source, Path) else source
        self.is_camera = isinstance(self.source, int)
        if self.is_camera:
            cap = cv2.VideoCapture(self.source)
            if not cap.isOpened():
                raise MovekitError(f"camera {self.source} does not open (no such device, or in use)")
            if self.max_fps is not None:
                cap.set(cv2.CAP_PROP_FPS, self.max_fps)  # a camera that cannot is thinned by timestamp
        else:
            if not os.access(self.source, os.R_OK):
                raise MovekitError(f"cannot read video file {self.source}")
            cap = cv2.VideoCapture(str(self.source), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1] if threaded else [])
            if not cap.isOpened():
                cap = cv2.VideoCapture(str(self.source))  # another backend (e.g. GStreamer)
            if not cap.isOpened():
                raise MovekitError(f"{self.source} is not a video OpenCV can decode")
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or float("nan")  #: the source's own rate (frames/s)
        #: frames/s handed on at the source's steady rate (the source's rate without ``max_fps``)
        self.analysed_fps = kept_fps(self.fps, self.max_fps)
        self._interval_s = 1.0 / self.analysed_fps if self.analysed_fps > 0 else 1 / 30
        self._source_interval_s = 1.0 / self.fps if self.fps > 0 else None
        self._last_grab_s: float | None = None
        self._due_s: float | None = None  #: when the rate limit keeps the next frame (s)
        self.skipped = 0  #: frames skipped by the rate limit since the source opened
        self.skipped_base = 0  #: ``skipped`` when the capture started (:meth:`start_now`)
        self.last_rate_skipped = 0  #: ``rate_skipped`` of the last frame handed on or dropped late
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not self.is_camera else 0
        self.frame_count = n if n > 0 else None
        self.dropped = 0
        self.last_index = -1  #: index of the last frame decoded and handed on or skipped
        self.read_error: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self.threaded = True if self.is_camera else threaded
        self._thread = threading.Thread(target=self._run, name="movekit-frames", daemon=True)
        self._first = self._read_first()
        # the decoded size, not the container's: a phone video stored sideways with a rotation
        # flag is decoded upright by OpenCV, and some cameras report a size before they deliver
        self.height_px, self.width_px = self._first.image_bgr.shape[:2]
        if self.threaded:
            self._thread.start()

    def _read_first(self) -> Frame:
        frame = self._read(0)
        if frame is None:
            what = f"camera {self.source}" if self.is_camera else str(self.source)
            raise MovekitError(f"{what} gave no frames (empty or unreadable video)")
        return frame

    def _read(self, index: int) -> Frame | None:
        """The next frame kept by the rate limit, numbered ``index`` or more (the skipped ones
        count); None at the end of the source. Without a rate limit a frame is read whole; with
        one it is grabbed (decoded) and only a kept frame is retrieved (converted to BGR)."""
        if self.max_fps is None:
            ok, image = self._cap.read()
            t = self._stamp()
        else:
            while True:
                if not self._cap.grab():
                    return None
                t = self._stamp()
                if self._keep(t):
                    break
                self.skipped += 1
                index += 1
            ok, image = self._cap.retrieve()
        if not ok or image is None:
            return None
        rgb = self._cv2.cvtColor(image, self._cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        return Frame(index, float(t), image, rgb, self.skipped)

    def _stamp(self) -> float:
        """The frame just read: a camera's time on the session clock, a video's presentation time (s)."""
        if self.is_camera:
            return self.clock.now()
        return self._cap.get(self._cv2.CAP_PROP_POS_MSEC) / 1000.0

    def _keep(self, t_s: float) -> bool:
        """The rate limit (see ``max_fps``): True to keep the frame grabbed at ``t_s`` (s): a frame
        is kept from half a source frame interval before the time it is due, ``k`` intervals
        (:func:`frame_step`) after the previous kept frame's due time, so kept frames stay evenly
        spaced (a frame that comes late is kept and the next one is still due on schedule).

        The source's frame interval is the nominal one, or for a camera without one (or a video
        file that declares none) a running mean of the intervals seen, so a camera's jitter does
        not skip a frame that is on time."""
        if self.max_fps is None:
            return True
        if self._last_grab_s is not None and (self.is_camera or self._source_interval_s is None):
            dt = t_s - self._last_grab_s
            if dt > 0:
                prev = self._source_interval_s
                self._source_interval_s = dt if prev is None else 0.9 * prev + 0.1 * dt
        self._last_grab_s = t_s
        interval_s = self._source_interval_s or 0.0
        measured = self.is_camera or not self.fps > 0  # a running mean: allow 10 % (frame_step)
        k = frame_step(interval_s, self.max_fps, 0.1 if measured else 1e-6)
        step_s = k * interval_s if interval_s else 1.0 / self.max_fps
        if self._due_s is not None and t_s < self._due_s - 0.5 * interval_s:
            return False
        # on schedule (a kept frame that came late does not push the next one back), or, after a
        # gap of more than half a step, a new schedule from this frame
        on_time = self._due_s is not None and t_s - self._due_s < 0.5 * step_s
        self._due_s = (self._due_s if on_time else t_s) + step_s
        return True

    def _run(self) -> None:
        self._put(self._first)
        index = self._first.index + 1
        try:
            while not self._stop.is_set():
                frame = self._read(index)
                if frame is None:
                    break
                index = frame.index + 1
                self._put(frame)
        except Exception as exc:  # noqa: BLE001 (a decoder error mid-file: keep what we have)
            self.read_error = f"{type(exc).__name__}: {exc}"
        finally:
            while True:  # never lose the end marker, even if the consumer is slow
                try:
                    self._queue.put(_SENTINEL, timeout=0.1)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        break

    def start_now(self) -> None:
        """Forget the camera frames waiting to be taken (e.g. grabbed while devices connected): the
        next frame taken is the first of the capture and nothing counts as dropped before it. No
        effect on a video file."""
        if not self.is_camera:
            return
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _SENTINEL:  # the camera already stopped: keep the end marker
                self._queue.put(item)
                break
        self.dropped = 0
        self.skipped_base = self.skipped

    def _put(self, frame: Frame) -> None:
        if self.is_camera:
            while True:
                try:
                    self._queue.put_nowait(frame)
                    return
                except queue.Full:
                    try:
                        self._queue.get_nowait()  # drop the oldest: stay live
                        self.dropped += 1
                    except queue.Empty:
                        pass
        else:
            while not self._stop.is_set():
                try:
                    self._queue.put(frame, timeout=0.1)
                    return
                except queue.Full:
                    continue

    def _inline(self) -> Iterator[Frame]:
        yield self._first
        index = self._first.index + 1
        while not self._stop.is_set():
            try:
                frame = self._read(index)
            except Exception as exc:  # noqa: BLE001 (a decoder error mid-file: keep what we have)
                self.read_error = f"{type(exc).__name__}: {exc}"
                return
            if frame is None:
                return
            index = frame.index + 1
            yield frame

    def _queued(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _SENTINEL:
                return
            yield item

    def __iter__(self) -> Iterator[Frame]:
        for item in self._queued() if self.threaded else self._inline():
            self.last_index = item.index  # also of a frame skipped below
            self.last_rate_skipped = item.rate_skipped
            if self.realtime and not self.is_camera:
                if self.offset_s is None:
                    self.offset_s = self.clock.now() - item.t_s
                item.t_s += self.offset_s
                if self.drop_late and self.clock.now() - item.t_s > self._interval_s:
                    self.dropped += 1  # behind by more than a frame: skipped, as a camera would drop it
                    continue
                self.clock.sleep_until(item.t_s)
            yield item

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._cap.release()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict:
        return {
            "source": f"camera:{self.source}" if self.is_camera else str(self.source),
            "is_camera": self.is_camera,
            "width_px": self.width_px,
            "height_px": self.height_px,
            "nominal_fps": self.fps,
            "max_fps": self.max_fps,
            "analysed_fps": self.analysed_fps,
            "frame_count": self.frame_count,
        }

    def skipped_total(self, ended: bool) -> int:
        """Frames skipped by the rate limit since the capture started: all of them when the source
        ended, else those before the last frame taken (the decoder reads a few frames ahead)."""
        return (self.skipped if ended else self.last_rate_skipped) - self.skipped_base
