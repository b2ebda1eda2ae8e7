"""Helpers the Bluetooth LE tests share (imported by the tests): wait for a condition in asyncio,
collect a recorder's chunks and events, and the simulated EMG sensors served by a mock BlueZ on a
private D-Bus (:func:`emg_sensors`, the set-up the drill and studio tests share)."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

import numpy as np

#: The simulated generic EMG sensor's address (its advertised name is MK-EMG-01).
EMG_ADDRESS = "C0:FF:EE:00:00:04"


def emg_bursts(seconds: float = 6.0, rate_hz: float = 1000.0, seed: int = 3) -> np.ndarray:
    """Two EMG channels (uV): noise (3 uV) with 0.4-s bursts (150 uV, 40-200 Hz) every 0.9 s from 1 s."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3.0, (int(seconds * rate_hz), 2))
    sos = signal.butter(4, [40, 200], "bandpass", fs=rate_hz, output="sos")
    for t0 in np.arange(1.0, seconds, 0.9):
        i0 = int(t0 * rate_hz)
        b = signal.sosfilt(sos, rng.normal(0, 1, (600, 2)), axis=0)[200:]
        x[i0 : i0 + 400] += 150.0 * b / b.std(axis=0)
    return x


async def _cancel_tasks() -> None:
    """Cancel the mock loop's other tasks (the sensors' streaming) before it closes."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class MockSensors:
    """The running mock (``mock``), its simulated sensors by address (``sensors``) and link drops."""

    def __init__(self, mock, loop: asyncio.AbstractEventLoop, sensors: dict) -> None:
        self.mock, self.loop, self.sensors = mock, loop, sensors

    def drop(self, address: str = EMG_ADDRESS, away_s: float | None = 1.0) -> None:
        """Drop the sensor's link if connected (as out of range) and keep it away (not advertising,
        refusing connections) for ``away_s`` seconds; None: it never comes back. Safe from any thread."""
        p = self.sensors[address]

        def back() -> None:
            p.advertising = p.connectable = True

        def drop() -> None:
            p.advertising = p.connectable = False
            p.drop_link()
            if away_s is not None:
                self.loop.call_later(away_s, back)

        self.loop.call_soon_threadsafe(drop)

    def silence(self, address: str = EMG_ADDRESS, for_s: float | None = 1.0) -> None:
        """Keep the sensor's link up but stop its notifications (a frozen sensor, a flat front-end
        battery) for ``for_s`` seconds; None: it never sends again. Safe from any thread."""
        p = self.sensors[address]

        def back() -> None:
            p.mode = "normal"

        def mute() -> None:
            p.mode = "silent"
            if for_s is not None:
                self.loop.call_later(for_s, back)

        self.loop.call_soon_threadsafe(mute)


@contextmanager
def emg_sensors(sensors: dict | None = None, rate_hz: float = 1000.0):
    """A private system D-Bus (``$DBUS_SYSTEM_BUS_ADDRESS`` set for this process and its children)
    and a mock BlueZ in its own thread serving simulated generic EMG sensors: ``{address: samples
    (N, 2) uV}`` at ``rate_hz``, looped (default: :func:`emg_bursts` at :data:`EMG_ADDRESS`).
    Yields a :class:`MockSensors`; the real bleak stack reaches them as real devices."""
    from movekit.capture.ble.mock_bluez import PrivateSystemBus, start_mock
    from movekit.capture.ble.simulate import SimulatedGenericEMG

    sensors = sensors if sensors is not None else {EMG_ADDRESS: emg_bursts()}
    devices = {a: SimulatedGenericEMG(a, x, rate_hz) for a, x in sensors.items()}
    with PrivateSystemBus(set_env=True):
        loop = asyncio.new_event_loop()
        th = threading.Thread(target=loop.run_forever, name="mock-bluez", daemon=True)
        th.start()
        try:
            mock = asyncio.run_coroutine_threadsafe(start_mock(list(devices.values())), loop).result(5.0)
            try:
                yield MockSensors(mock, loop, devices)
            finally:
                asyncio.run_coroutine_threadsafe(mock.stop(), loop).result(5.0)
                asyncio.run_coroutine_threadsafe(_cancel_tasks(), loop).result(5.0)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            th.join(5.0)
            loop.close()


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
    """Write ``dst`` (mp4v): the frames of ``src`` repeated until ``seconds`` of video at its own rate
    (frames read by ``scripts/benchlib.read_frames``, the benchmarks' reader)."""
    import cv2

    frames, fps = _benchlib().read_frames(src)
    n = int(round(seconds * fps))
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(n):
        out.write(frames[i % len(frames)])
    out.release()
    return dst


def _benchlib():
    """``scripts/benchlib.py`` (the scripts folder is not a package)."""
    import importlib.util
    import sys
    from pathlib import Path

    if "benchlib" not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "scripts" / "benchlib.py"
        spec = importlib.util.spec_from_file_location("benchlib", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["benchlib"] = module
    return sys.modules["benchlib"]


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
