"""The session clock: seconds since the session started, from a monotonic clock.

Every live source (camera frames, BLE notifications, key presses) stamps its data with
the same :class:`SessionClock`, so streams from different devices line up. A video file
is the exception: its frames carry the container's presentation times, which are the
session clock only when the file is played in real time (``realtime=True`` in
:class:`movekit.capture.frames.FrameSource`).
"""

from __future__ import annotations

import time


class SessionClock:
    """Monotonic seconds since construction (``time.perf_counter`` based)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.started_unix_s = time.time()

    def now(self) -> float:
        """Seconds on the session clock."""
        return time.perf_counter() - self.t0

    def __call__(self) -> float:
        return self.now()

    def sleep_until(self, t_s: float) -> None:
        delay = t_s - self.now()
        if delay > 0:
            time.sleep(delay)
