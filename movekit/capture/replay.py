"""Replay a recording through the same per-frame code as a live capture.

:func:`iter_samples` emits every stored stream's samples in session-time order, at
real-time pace or as fast as possible, as a live source would; :func:`replay_pose`
feeds the pose through :class:`movekit.live.FrameProcessor` and checks the result
against what the live run stored, bit for bit.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from movekit.errors import MovekitError
from movekit.live import LIVE_ERROR_STREAM, LIVE_STREAM, FrameProcessor
from movekit.recording import Recording


def _pace(t_s: float, t_first: float, wall0: float, speed: float | None) -> None:
    if speed:
        delay = (t_s - t_first) / speed - (time.monotonic() - wall0)
        if delay > 0:
            time.sleep(delay)


def iter_samples(
    rec: Recording, speed: float | None = None, streams: tuple[str, ...] | None = None
) -> Iterator[tuple[str, float, np.ndarray]]:
    """Yield ``(stream, t_s, sample)`` across streams in time order (ties: stream name order).

    ``speed`` 1.0 is real time, 2.0 twice as fast, None as fast as possible.
    """
    names = [n for n in sorted(rec.streams) if streams is None or n in streams]
    heads = [(float(rec.streams[n].t_s[0]), n, 0) for n in names if len(rec.streams[n])]
    heapq.heapify(heads)
    t_first = heads[0][0] if heads else 0.0
    wall0 = time.monotonic()
    while heads:
        t, name, i = heapq.heappop(heads)
        s = rec.streams[name]
        _pace(t, t_first, wall0, speed)
        yield name, t, s.data[i]
        if i + 1 < len(s):
            heapq.heappush(heads, (float(s.t_s[i + 1]), name, i + 1))


@dataclass
class ReplayResult:
    names: tuple[str, ...]
    t_s: np.ndarray
    angles_deg: np.ndarray  #: (frames, angles) float32, recomputed
    stored: np.ndarray | None  #: what the live run stored, if any
    code_changed: bool = False  #: the live-angle code differs from the one that made the recording
    errors_deg: np.ndarray | None = None  #: (frames, angles) float32, each angle's expected error, recomputed
    stored_errors: np.ndarray | None = None  #: the live run's errors (recordings made before 2026-12-06 have none)

    @property
    def identical(self) -> bool | None:
        """True when the replay reproduced the live run bit for bit, angles and (where stored)
        their errors (None: nothing stored)."""
        if self.stored is None:
            return None
        same = _same_bits(self.stored, self.angles_deg)
        if self.stored_errors is not None:
            same = same and _same_bits(self.stored_errors, self.errors_deg)
        return same

    @property
    def compared(self) -> dict[str, int]:
        """How many stored values were compared: ``angles``, of them ``angle_numbers`` (a shown
        angle; the rest are refusals, NaN), and ``errors`` (0 when the recording has none)."""
        n_err = 0 if self.stored_errors is None else int(self.stored_errors.size)
        stored = self.stored if self.stored is not None else np.zeros(0, np.float32)
        return {"angles": int(stored.size), "angle_numbers": int(np.isfinite(stored).sum()), "errors": n_err}


def _same_bits(a: np.ndarray, b: np.ndarray | None) -> bool:
    return b is not None and a.shape == b.shape and a.tobytes() == b.tobytes()


def replay_pose(
    rec: Recording, speed: float | None = None, on_frame: Callable[[int, float, np.ndarray], None] | None = None
) -> ReplayResult:
    """Recompute the live per-frame outputs from the stored pose."""
    from contextlib import nullcontext

    from movekit.analysis.error_model import ungated

    live = rec.streams.get(LIVE_STREAM)
    research = live is not None and live.spec.attrs.get("gated", True) is False
    with ungated() if research else nullcontext():  # replayed the way it was recorded
        return _replay_pose(rec, live, speed, on_frame)


def _replay_pose(rec: Recording, live, speed: float | None, on_frame) -> ReplayResult:
    pose = rec.pose()
    processor = FrameProcessor(
        live.spec.attrs.get("fs_hz", 30.0) if live is not None else 30.0,
        calibration=rec.metadata.get("calibration"),
        frame_size_px=tuple(pose.frame_size_px) if all(pose.frame_size_px) else None,
    )
    out = np.empty((len(pose), len(processor.names)), np.float32)
    err = np.empty_like(out)
    t_first = float(pose.t_s[0]) if len(pose) else 0.0
    wall0 = time.monotonic()
    for i in range(len(pose)):
        _pace(float(pose.t_s[i]), t_first, wall0, speed)
        out[i] = processor.step(float(pose.t_s[i]), pose.image_px[i], pose.visibility[i])
        err[i] = processor.errors_deg()
        if on_frame is not None:
            on_frame(i, float(pose.t_s[i]), out[i])
    stored = None
    if LIVE_STREAM in rec.streams:
        s = rec.streams[LIVE_STREAM]
        stored_names = tuple(f"{c}_deg" for c in (s.spec.channel_names or ()))
        if stored_names != processor.names:
            raise MovekitError(
                f"{rec.path}: live angles were stored by another movekit version "
                f"({len(stored_names)} vs {len(processor.names)} angles); cannot compare"
            )
        stored = s.data[: len(pose)]
    from movekit.live import live_code_fingerprint

    recorded = live.spec.attrs.get("code_fingerprint") if live is not None else None
    changed = recorded is not None and recorded != live_code_fingerprint()
    stored_err = rec.streams[LIVE_ERROR_STREAM].data[: len(pose)] if LIVE_ERROR_STREAM in rec.streams else None
    return ReplayResult(processor.names, pose.t_s, out, stored, changed, err, stored_err)
