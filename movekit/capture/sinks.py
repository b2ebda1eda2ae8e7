"""Frame sinks: what a capture does with each recorded frame besides storing it.

A capture (:class:`movekit.capture.pipeline.CaptureRun`) records every frame's pose and live
angles, then hands a :class:`movekit.capture.pipeline.FrameResult` to each of its sinks in
order. The command line's options are sinks (overlay video, live window, raw video, terminal
keys, progress bar, Lab Streaming Layer, a drill observer, a callback); the studio adds its own.
A sink's ``frame`` returns True to stop the capture.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from movekit.capture.pipeline import CaptureObserver, CaptureRun, CaptureSummary, FrameResult

log = logging.getLogger(__name__)

#: Keys that store an event during capture (window, terminal or studio).
EVENT_KEYS = {"p": "pain", "r": "pain_resolved", "m": "marker", " ": "marker"}
#: Keys that stop a capture.
STOP_KEYS = ("q", "\x1b")


def handle_key(run: CaptureRun, key: str, t_s: float) -> bool:
    """Store the key's event (:data:`EVENT_KEYS`) at ``t_s``; True means stop (:data:`STOP_KEYS`)."""
    if key in STOP_KEYS:
        run.request_stop("q key")
        return True
    kind = EVENT_KEYS.get(key.lower())
    if kind:
        run.mark(t_s, kind, source="key", key=key)
    return False


class Sink:
    """Base class: a sink that ignores what it does not need."""

    def open(self, run: CaptureRun) -> None:
        self.run = run

    def frame(self, result: FrameResult) -> bool | None:
        return None

    def close(self, summary: CaptureSummary) -> None:
        return None


class RawVideoSink(Sink):
    """The frames as read, into ``path`` (Matroska: a killed capture keeps all but its last second)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._video = None

    def open(self, run: CaptureRun) -> None:
        super().open(run)
        self._video = run.open_video(self.path)

    def frame(self, result: FrameResult) -> None:
        self._video.write(result.image_bgr)

    def close(self, summary: CaptureSummary) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None


class OverlaySink(Sink):
    """Skeleton and live angles drawn on each frame, into a video file and/or a live window.

    The window (OpenCV HighGUI) takes the event keys of :data:`EVENT_KEYS` and ``q``.
    """

    WINDOW_TITLE = "movekit (p pain, r pain gone, m marker, q stop)"

    def __init__(self, video_path: str | Path | None = None, window: bool = False) -> None:
        self.video_path = Path(video_path) if video_path else None
        self.window = window
        self._video = None

    def open(self, run: CaptureRun) -> None:
        super().open(run)
        if self.video_path is not None:
            self._video = run.open_video(self.video_path)
            run.summary.annotated = self.video_path
            if not self._video.crash_safe:
                run.summary.notices.append(
                    f"{self.video_path}: an .mp4 is unreadable if the capture is killed before it "
                    "ends; use .mkv for a video that survives a crash"
                )

    def frame(self, result: FrameResult) -> bool:
        from movekit.capture.annotate import draw_pose

        drawn = result.image_bgr.copy()
        est = result.estimate
        draw_pose(drawn, est.image_px, est.visibility, result.angles_deg, result.t_s, errors=result.errors_deg)
        if self._video is not None:
            self._video.write(drawn)
        if self.window:
            import cv2

            cv2.imshow(self.WINDOW_TITLE, drawn)
            k = cv2.waitKey(1) & 0xFF
            if k != 255:
                return handle_key(self.run, chr(k), result.t_s)
        return False

    def close(self, summary: CaptureSummary) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None
        if self.window:
            import cv2

            cv2.destroyAllWindows()


class TerminalKeySink(Sink):
    """Single key presses from the terminal (cbreak mode) when stdin is a terminal; off otherwise."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._lock = threading.Lock()
        self._old = None
        self.active = False

    def open(self, run: CaptureRun) -> None:
        super().open(run)
        if not sys.stdin.isatty():
            return
        try:
            import termios
            import tty

            fd = sys.stdin.fileno()
            self._old = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except Exception:  # noqa: BLE001 (no terminal: key presses are off)
            return
        self.active = True
        threading.Thread(target=self._read, daemon=True, name="movekit-keys").start()

    def _read(self) -> None:
        while self.active:
            ch = sys.stdin.read(1)
            if not ch:
                return
            with self._lock:
                self.keys.append(ch)

    def take(self) -> list[str]:
        with self._lock:
            keys, self.keys = self.keys, []
        return keys

    def frame(self, result: FrameResult) -> bool:
        return any(handle_key(self.run, k, result.t_s) for k in self.take())

    def close(self, summary: CaptureSummary) -> None:
        self.active = False
        if self._old is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._old)
            self._old = None


class ProgressSink(Sink):
    """A tqdm bar on stderr (its length from the video's frame count and the capture's duration);
    notices during the capture are written above it."""

    def __init__(self) -> None:
        self.bar = None

    def open(self, run: CaptureRun) -> None:
        from tqdm import tqdm

        super().open(run)
        total, fps, duration_s = run.src.frame_count, run.src.fps, run.options.duration_s
        if duration_s and np.isfinite(fps):
            total = min(total or 10**9, int(duration_s * fps) + 1)
        self.bar = tqdm(total=total, unit="frame", desc="pose", file=sys.stderr, leave=False)

    def say(self, text: str) -> None:
        self.bar.write(text, file=sys.stderr)

    def frame(self, result: FrameResult) -> None:
        self.bar.update(1)

    def close(self, summary: CaptureSummary) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class LslSink(Sink):
    """Each frame's pose and live angles (with their expected errors) as Lab Streaming Layer samples.

    The recording's other streams and events reach LSL through the publisher's writer tee,
    set up by the capture when it opens the recording.
    """

    def __init__(self, publisher: Any) -> None:
        self.publisher = publisher

    def frame(self, result: FrameResult) -> None:
        est = result.estimate
        live = np.fromiter(result.angles_deg.values(), np.float32, len(result.angles_deg))
        self.publisher.frame(result.t_s, est.image_px, est.visibility, live, result.errors_deg)


class ObserverSink(Sink):
    """Runs a :class:`movekit.capture.pipeline.CaptureObserver` (e.g. a guided drill) in the capture.

    The observer's ``start`` runs before any Bluetooth device streams, its ``stop`` after they
    stopped and before the recording closes (see :class:`movekit.capture.pipeline.CaptureRun`).
    """

    def __init__(self, observer: CaptureObserver) -> None:
        self.observer = observer
        self.done = False

    def open(self, run: CaptureRun) -> None:
        super().open(run)
        self.observer.start(run.writer, run.clock, run.ble)

    def frame(self, result: FrameResult) -> bool:
        if self.done:  # the observer finished; frames still on their way are recorded only
            return True
        if self.observer.frame(result.t_s, result.estimate):
            self.run.request_stop("the observer (e.g. drill finished)")
            self.done = True
        return self.done

    def close(self, summary: CaptureSummary) -> None:
        self.observer.stop(summary.last_t_s)


class CallbackSink(Sink):
    """Calls ``fn(frames_so_far, t_s)`` after every frame (progress hooks, tests)."""

    def __init__(self, fn: Callable[[int, float], None]) -> None:
        self.fn = fn

    def frame(self, result: FrameResult) -> None:
        self.fn(self.run.summary.frames, result.t_s)


__all__ = [
    "EVENT_KEYS",
    "STOP_KEYS",
    "Sink",
    "RawVideoSink",
    "OverlaySink",
    "TerminalKeySink",
    "ProgressSink",
    "LslSink",
    "ObserverSink",
    "CallbackSink",
    "handle_key",
]
