"""Frames from a webcam or a video file, timestamped on the session clock.

A video file's frames carry the container's presentation times; a camera's carry a
monotonic clock started when the source opens. Frames are decoded in a background
thread so the next frame is ready while the pose model runs on this one. A camera
that delivers late or drops frames shows it as gaps in the timestamps; when the
consumer falls behind a camera, the oldest waiting frames are dropped (and counted)
rather than building up latency.
"""

from __future__ import annotations

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


@dataclass
class Frame:
    """One decoded frame: ``index`` counts frames read from the source (gaps = dropped).

    ``image_rgb`` is the same image in RGB order (read-only), as the pose model takes it. It is
    converted where the frame is decoded, in the source's background thread, so that the model
    does not wait for the conversion (about 1.5 ms for a 1768x994 frame, 7 % of the model's time
    on 2 cores: docs/benchmarks.md).
    """

    index: int
    t_s: float
    image_bgr: np.ndarray
    image_rgb: np.ndarray | None = None


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
    ) -> None:
        import cv2

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
        else:
            if not os.access(self.source, os.R_OK):
                raise MovekitError(f"cannot read video file {self.source}")
            cap = cv2.VideoCapture(str(self.source), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1] if threaded else [])
            if not cap.isOpened():
                cap = cv2.VideoCapture(str(self.source))  # another backend (e.g. GStreamer)
            if not cap.isOpened():
                raise MovekitError(f"{self.source} is not a video OpenCV can decode")
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or float("nan")
        self._interval_s = 1.0 / self.fps if self.fps > 0 else 1 / 30
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
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        if self.is_camera:
            t = self.clock.now()
        else:
            t = self._cap.get(self._cv2.CAP_PROP_POS_MSEC) / 1000.0
        rgb = self._cv2.cvtColor(image, self._cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        return Frame(index, float(t), image, rgb)

    def _run(self) -> None:
        self._put(self._first)
        index = 1
        try:
            while not self._stop.is_set():
                frame = self._read(index)
                if frame is None:
                    break
                index += 1
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
        index = 1
        while not self._stop.is_set():
            try:
                frame = self._read(index)
            except Exception as exc:  # noqa: BLE001 (a decoder error mid-file: keep what we have)
                self.read_error = f"{type(exc).__name__}: {exc}"
                return
            if frame is None:
                return
            index += 1
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
            "frame_count": self.frame_count,
        }
