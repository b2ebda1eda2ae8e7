"""Helpers the Bluetooth LE tests share (imported by the tests): wait for a condition in asyncio,
and collect a recorder's chunks and events."""

from __future__ import annotations

import asyncio
import time

import numpy as np


async def until(cond, timeout=5.0):
    """Wait (polling every 10 ms) until ``cond()`` holds; AssertionError after ``timeout`` s."""
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class Collector:
    """A recorder's ``on_chunk``/``on_event`` target: ``stream(name)`` gives ``(t_s, data)`` of all
    chunks of one stream (empty: no samples, ``width`` channels)."""

    def __init__(self, width: int = 3):
        self.chunks, self.events, self.width = [], [], width

    def stream(self, name):
        cs = [c for c in self.chunks if c.stream == name]
        if not cs:
            return np.zeros(0), np.zeros((0, self.width))
        return np.concatenate([c.t_s for c in cs]), np.concatenate([c.data for c in cs])

    def kinds(self):
        return [e.kind for e in self.events]


def sine_witmotions(specs, n: int, source_rate_hz: float = 100.0) -> list:
    """Simulated WitMotion IMUs, one per ``(address, amplitude_deg)``: level (1 g on z), still, and
    rolling ``amplitude * sin(k / 50)`` deg, ``n`` samples at ``source_rate_hz``."""
    from movekit.capture.ble.simulate import SimulatedWitMotion

    k = np.arange(n)
    return [
        SimulatedWitMotion(
            addr,
            np.tile([0, 0, 1.0], (n, 1)),
            np.zeros((n, 3)),
            np.column_stack([a * np.sin(k / 50), np.zeros(n), np.zeros(n)]),
            source_rate_hz,
        )
        for addr, a in specs
    ]


def looped_video(src, dst, seconds: float):
    """Write ``dst`` (mp4v): the frames of ``src`` repeated until ``seconds`` of video at its own rate."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    n = int(round(seconds * fps))
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(n):
        out.write(frames[i % len(frames)])
    out.release()
    return dst


def one_clock_figures(rec, labels, rate_hz: float) -> dict:
    """How the video frames and each device's samples line up on the session clock (all in s).

    Per device (label of its angle stream) over the video's span [first frame, last frame]:
    ``start_lag_s`` first device sample minus first frame, ``end_gap_s`` last frame minus last
    device sample, ``span_diff_s`` device span minus video span, ``samples`` and
    ``expected_samples`` (``rate_hz * device span + 1``), ``largest_gap_s`` between consecutive
    samples, ``worst_frame_offset_s`` the largest distance from a frame (after the device's first
    sample) to its nearest device sample; from the recording's events, ``connected_s`` (the
    ``device_connected`` time minus the first frame) and the clock fit of the stream
    (``fitted_rate_hz``, ``drift_ppm`` of ``device_stopped``).
    """
    pose = rec.pose()
    t0, t1 = float(pose.t_s[0]), float(pose.t_s[-1])
    out = {"frames": len(pose), "video_span_s": t1 - t0, "devices": {}}
    for label in labels:
        t = np.asarray(rec.streams[label].t_s, dtype=np.float64)
        d = t[(t >= t0) & (t <= t1)]
        frames = pose.t_s[pose.t_s >= d[0]]
        idx = np.clip(np.searchsorted(d, frames), 1, len(d) - 1)
        nearest = np.minimum(np.abs(frames - d[idx - 1]), np.abs(d[idx] - frames))
        out["devices"][label] = {
            "start_lag_s": float(d[0] - t0),
            "end_gap_s": float(t1 - d[-1]),
            "span_diff_s": float((d[-1] - d[0]) - (t1 - t0)),
            "samples": len(d),
            "expected_samples": float(rate_hz * (d[-1] - d[0]) + 1),
            "largest_gap_s": float(np.max(np.diff(d))),
            "worst_frame_offset_s": float(nearest.max()),
            **_device_events(rec.events, label.rsplit("_", 1)[0], label.rsplit("_", 1)[-1], t0),
        }
    return out


def _device_events(events, device: str, channel: str, t0: float) -> dict:
    out = {}
    for e in events:
        if e.get("device") != device:
            continue
        if e["kind"] == "device_connected" and "connected_s" not in out:
            out["connected_s"] = float(e["t_s"]) - t0
        if e["kind"] == "device_stopped":
            fit = e.get("clock", {}).get(channel, {})
            out["fitted_rate_hz"], out["drift_ppm"] = fit.get("fitted_rate_hz"), fit.get("drift_ppm")
    return out
