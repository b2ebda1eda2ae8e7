"""Simulated BLE devices that speak the real devices' bytes, fed from real recordings.

They sit *under* the transport: each is a :class:`~movekit.capture.ble.mock_bluez.MockPeripheral`
served by the mock BlueZ, so movekit reaches them through the unmodified bleak stack exactly as it
reaches hardware. Nothing above the transport knows they are simulated.

* :class:`SimulatedWitMotion` -- 0x55 0x61 packets at the rate set by ``FF AA 03 code 00`` (10 Hz
  until told otherwise, like the device).
* :class:`SimulatedGanglion` -- waits for ``b``, sends a raw (ID 0) packet then 19-bit delta packets
  (IDs 101..200), 100 packets/s, two samples each; ``s`` stops.
* :class:`SimulatedGenericEMG` -- the ``generic_emg.toml`` layout (counter + two int16 channels).

Data sources (all real, from pinned PyPI wheels via :func:`movekit.datasets.fetch`, MIT-licensed PLUX
recordings shipped in ``biosignalsnotebooks==0.6.14``): :func:`plux_emg_uv` (biceps EMG bursts),
:func:`plux_acc_g` (3-axis accelerometer), :func:`elbow_pair_from_plux_goniometer` (two IMUs on
upper arm and forearm moved by the shape of a real goniometer trace; its ADC counts have no
published transfer function, so the range is rescaled to 0..110 deg for the demo -- the *motion* is
real, the degrees are not calibrated). Arrays from a movekit recording work the same way.

Failure modes for tests and demos: ``mode = "garbage"`` (random bytes), ``"silent"`` (connected but
sends nothing), ``drift_ppm`` (device clock error), ``burst`` (packets held and sent together); for
the WitMotion also ``records_per_notification`` (coalesced records) and ``faults`` (chosen samples
sent malformed: wrong header, truncated, old 11-byte format, random bytes). With
``record_send_times``, ``sample_times`` is when each sample was measured on the device's own
schedule (the truth the clock mapping is tested against).
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable

import numpy as np

from movekit.capture.ble.mock_bluez import MockCharacteristic, MockPeripheral, MockService
from movekit.capture.ble.profiles import ganglion as gp
from movekit.capture.ble.profiles import witmotion as wm


class SimulatedDevice(MockPeripheral):
    """Paced packet source: ``make_packet(k)`` gives the k-th notification."""

    def __init__(
        self,
        *a,
        notify_uuid: str,
        packet_rate_hz: float,
        drift_ppm: float = 0.0,
        burst: int = 1,
        loop: bool = True,
        **kw,
    ) -> None:
        super().__init__(*a, **kw)
        self.notify_uuid = notify_uuid
        self.packet_rate_hz = packet_rate_hz
        self.drift_ppm = drift_ppm
        self.burst = max(1, int(burst))
        self.loop_data = loop
        self.mode = "normal"  # normal | garbage | silent
        self.streaming_requested = True  # devices that need a start command set this False
        self._task: asyncio.Task | None = None
        self.sent = 0
        self.send_times: list[float] = []  # perf_counter at each notify (for latency benches)
        self.sample_times: list[float] = []  # perf_counter when each sent sample was "measured"
        self.record_send_times = False
        self._rng = np.random.default_rng(0)

    def make_packet(self, k: int) -> bytes | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _record_truth(self, t_last: float) -> None:
        """Note when the samples of the notification just sent were measured (its last one at ``t_last``)."""
        self.sample_times.append(t_last)

    def on_notify_changed(self, char_uuid: str, enabled: bool) -> None:
        if char_uuid != self.notify_uuid:
            return
        if enabled:
            self._start()
        else:
            self._stop()

    def on_disconnect(self) -> None:
        self._stop()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def restart_stream(self) -> None:
        """Called when a command changes the rate: re-pace from now."""
        if self._task is not None:
            self._stop()
            self._start()

    def notification_rate_hz(self) -> float:
        return self.packet_rate_hz

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = (1.0 + self.drift_ppm * 1e-6) / self.notification_rate_hz()
        t0 = loop.time()
        to_perf = time.perf_counter() - loop.time()  # the device's schedule on the perf_counter clock
        k = 0
        try:
            while True:
                due = t0 + (k + self.burst) * period
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                for _j in range(self.burst):
                    if self.streaming_requested and self.mode != "silent":
                        pkt = (
                            bytes(self._rng.integers(0, 256, 20, dtype=np.uint8))
                            if self.mode == "garbage"
                            else self.make_packet(self.sent)
                        )
                        if pkt is None:
                            return
                        t_send = time.perf_counter()
                        if self.notify(self.notify_uuid, pkt):
                            self.sent += 1
                            if self.record_send_times:
                                self.send_times.append(t_send)
                                # when the sample was measured: on the device's schedule, however
                                # late it was sent (a burst holds earlier samples back, a busy host
                                # delays the send)
                                self._record_truth(t0 + (k + 1) * period + to_perf)
                    k += 1
        except asyncio.CancelledError:
            pass


MALFORMED = ("header", "truncated", "old", "garbage")  #: the faults :class:`SimulatedWitMotion` can send


class SimulatedWitMotion(SimulatedDevice):
    """A WT901BLE: give it acc (g), gyro (deg/s), angle (deg) arrays sampled at ``source_rate_hz``.

    ``records_per_notification`` (1-3) coalesces that many 20-byte records in one notification (real
    units do this at high rates), sent ``rate / records`` times a second. ``faults`` maps a sample
    number to one of :data:`MALFORMED`: that sample's record is replaced by a malformed one (wrong
    header, cut to 12 bytes, an old-protocol 11-byte ``0x55 0x51`` packet, random bytes) and is
    lost. With ``record_send_times``, :attr:`sample_times` holds when each sample was measured
    and :attr:`sample_whole` whether it was sent whole.
    """

    def __init__(
        self,
        address: str,
        acc_g: np.ndarray,
        gyro_dps: np.ndarray,
        angle_deg: np.ndarray,
        source_rate_hz: float,
        name: str = "WT901BLE68",
        rate_hz: float = 10.0,
        **kw,
    ) -> None:
        services = [
            MockService(
                wm.SERVICE_UUID,
                [
                    MockCharacteristic(wm.NOTIFY_UUID, ("notify",)),
                    MockCharacteristic(wm.WRITE_UUID, ("write-without-response", "write")),
                ],
            )
        ]
        super().__init__(address, name, services, notify_uuid=wm.NOTIFY_UUID, packet_rate_hz=rate_hz, **kw)
        self.acc = np.asarray(acc_g, dtype=np.float64).reshape(-1, 3)
        self.gyro = np.asarray(gyro_dps, dtype=np.float64).reshape(-1, 3)
        self.angle = np.asarray(angle_deg, dtype=np.float64).reshape(-1, 3)
        self.source_rate_hz = float(source_rate_hz)
        self.records_per_notification = 1
        self.faults: dict[int, str] = {}
        self.sample_whole: list[bool] = []
        self._sample = 0  # samples made so far
        self._last_whole: list[bool] = []  # per record of the notification being sent

    def on_write(self, char_uuid: str, data: bytes) -> None:
        rate = wm.parse_rate_command(data)
        if rate is not None:
            self.packet_rate_hz = rate
            self.restart_stream()

    def notification_rate_hz(self) -> float:
        return self.packet_rate_hz / self.records_per_notification

    def _record_truth(self, t_last: float) -> None:
        n = len(self._last_whole)
        for j, whole in enumerate(self._last_whole):
            self.sample_times.append(t_last - (n - 1 - j) / self.packet_rate_hz)
            self.sample_whole.append(whole)

    def _malformed(self, good: bytes, kind: str) -> bytes:
        if kind == "header":
            return b"\xaa" + good[1:]
        if kind == "truncated":
            return good[:12]
        if kind == "old":  # WitMotion's serial / BLE 4.0 acceleration packet, with its checksum
            body = b"\x55\x51" + good[2:10]
            return body + bytes([sum(body) & 0xFF])
        return bytes(self._rng.integers(0, 256, len(good), dtype=np.uint8)).replace(b"\x55", b"\x54")

    def make_packet(self, k: int) -> bytes | None:
        out, self._last_whole = b"", []
        n = len(self.acc)
        for _ in range(self.records_per_notification):
            i = int(self._sample * self.source_rate_hz / self.packet_rate_hz)
            if i >= n:
                if not self.loop_data:
                    break
                i %= n
            rec = wm.encode_packet(self.acc[i], self.gyro[i], self.angle[i])
            fault = self.faults.get(self._sample)
            out += rec if fault is None else self._malformed(rec, fault)
            self._last_whole.append(fault is None)
            self._sample += 1
        return out or None


class SimulatedGanglion(SimulatedDevice):
    """An OpenBCI Ganglion streaming ``emg_uv`` (N, <=4) resampled to 200 Hz, 19-bit deltas."""

    def __init__(self, address: str, emg_uv: np.ndarray, source_rate_hz: float, name: str = "Ganglion-1a2b", **kw):
        services = [
            MockService(
                gp.SERVICE_UUID,
                [
                    MockCharacteristic(gp.RECEIVE_UUID, ("notify",)),
                    MockCharacteristic(gp.SEND_UUID, ("write-without-response", "write")),
                    MockCharacteristic(gp.DISCONNECT_UUID, ("write-without-response", "write")),
                ],
            )
        ]
        super().__init__(
            address, name, services, notify_uuid=gp.RECEIVE_UUID, packet_rate_hz=100.0, address_type="random", **kw
        )
        x = np.asarray(emg_uv, dtype=np.float64)
        x = x.reshape(len(x), -1)
        t_src = np.arange(len(x)) / source_rate_hz
        t_out = np.arange(0, t_src[-1], 1.0 / gp.RATE_HZ)
        cols = [np.interp(t_out, t_src, x[:, min(c, x.shape[1] - 1)]) for c in range(4)]
        self.counts = np.rint(np.column_stack(cols) / gp.UV_PER_COUNT).astype(np.int64)
        self.streaming_requested = False
        self._prev: np.ndarray | None = None
        self._pos = 0
        self._pid = 100

    def on_write(self, char_uuid: str, data: bytes) -> None:
        if char_uuid == gp.SEND_UUID and data[:1] == b"b":
            self.streaming_requested = True
            self._prev = None
        elif char_uuid == gp.SEND_UUID and data[:1] == b"s":
            self.streaming_requested = False

    def on_connect(self) -> None:
        self.streaming_requested = False  # the board resets on connection (OpenBCI docs)
        self._prev = None

    def _next(self) -> np.ndarray:
        i = self._pos % len(self.counts)
        self._pos += 1
        return self.counts[i]

    def make_packet(self, k: int) -> bytes:
        if self._prev is None:
            s = self._next()
            self._prev = s.copy()
            self._pid = 100
            return b"\x00" + b"".join(int(v & 0xFFFFFF).to_bytes(3, "big") for v in s) + bytes(7)
        deltas = []
        prev = self._prev
        for _ in range(2):
            target = self._next()
            d = prev - target
            d = np.where(d < 0, d | 1, d & ~1)  # the sign rule the decoder undoes
            d = np.clip(d, -(1 << 18) + 1, (1 << 18) - 2)
            prev = prev - d
            deltas.append(d)
        self._prev = prev
        self._pid = 101 if self._pid >= 200 else self._pid + 1
        return bytes([self._pid]) + gp.encode_deltas(np.concatenate(deltas), 19)


class SimulatedGenericEMG(SimulatedDevice):
    """The ``generic_emg.toml`` device: 3 records of <uint16 counter, int16, int16> per notification."""

    RECORDS = 3

    def __init__(self, address: str, emg_uv: np.ndarray, source_rate_hz: float, name: str = "MK-EMG-01", **kw):
        from movekit.capture.ble.profiles import get_profile

        p = get_profile("generic_emg")
        services = [
            MockService(
                p.service_uuid,
                [MockCharacteristic(p.notify_uuid, ("notify",)), MockCharacteristic(p.write_uuid, ("write",))],
            )
        ]
        super().__init__(
            address, name, services, notify_uuid=p.notify_uuid, packet_rate_hz=p.rate_hz / self.RECORDS, **kw
        )
        self.write_uuid = p.write_uuid
        x = np.asarray(emg_uv, dtype=np.float64).reshape(len(emg_uv), -1)
        t_src = np.arange(len(x)) / source_rate_hz
        t_out = np.arange(0, t_src[-1], 1.0 / p.rate_hz)
        cols = [np.interp(t_out, t_src, x[:, min(c, x.shape[1] - 1)]) for c in range(2)]
        self.counts = np.clip(np.rint(np.column_stack(cols) / 0.5), -32768, 32767).astype(int)
        self.streaming_requested = False
        self._n = 0

    def on_write(self, char_uuid: str, data: bytes) -> None:
        if char_uuid == self.write_uuid:
            self.streaming_requested = data[:1] == b"\x01"

    def make_packet(self, k: int) -> bytes:
        out = b""
        for _ in range(self.RECORDS):
            c = self.counts[self._n % len(self.counts)]
            out += struct.pack("<Hhh", self._n & 0xFFFF, int(c[0]), int(c[1]))
            self._n += 1
        return out


# ---------------------------------------------------------------------------------------------
# real data
def _plux(name: str) -> tuple[float, dict[str, np.ndarray], str]:
    import h5py

    from movekit.datasets import fetch

    path = fetch(name)
    with h5py.File(path, "r") as f:
        dev = next(iter(f))
        rate = float(f[dev].attrs["sampling rate"])
        device = str(f[dev].attrs.get("device", ""))
        raw = {k: f[dev]["raw"][k][:, 0].astype(np.float64) for k in f[dev]["raw"] if k != "nSeq"}
    return rate, raw, device


def plux_emg_uv(name: str = "plux_emg_bursts") -> tuple[np.ndarray, float]:
    """Real surface EMG in uV (N, 1) and its rate, by the biosignalsnotebooks transfer function
    ``mV = (raw * 3.0 / 2**16 - 1.5) / 1.008`` (biosignalsplux / channeller, 16-bit)."""
    rate, raw, _ = _plux(name)
    x = next(iter(raw.values()))
    return ((x * 3.0 / 2**16 - 1.5) / 1.008 * 1000.0)[:, None], rate


def plux_acc_g(name: str = "plux_acc_sync_1") -> tuple[np.ndarray, float]:
    """Real 3-axis acceleration in g, ``g = 2 (raw - 28000) / (38000 - 28000) - 1`` (biosignalsnotebooks)."""
    rate, raw, _ = _plux(name)
    acc = np.column_stack([2.0 * (raw[k] - 28000.0) / 10000.0 - 1.0 for k in sorted(raw)])
    return acc, rate


def elbow_pair_from_plux_goniometer(rate_out: float = 100.0, max_deg: float = 110.0):
    """Two IMUs (upper arm still, forearm flexing) moved by a real goniometer trace (see module doc).

    Returns ``(upper, forearm, angle_deg, rate)`` where upper/forearm are dicts of acc/gyro/angle arrays.
    """
    from scipy.signal import butter, sosfiltfilt
    from scipy.spatial.transform import Rotation

    from movekit.analysis import imu_orientation as io

    rate, raw, _ = _plux("plux_gonio_arm_flex")
    x = raw["channel_1"]
    sos = butter(2, 5.0, fs=rate, output="sos")
    x = sosfiltfilt(sos, x)
    lo, hi = np.percentile(x, [1, 99])
    theta_src = np.clip((x - lo) / (hi - lo), 0, 1) * max_deg
    t_src = np.arange(len(x)) / rate
    t = np.arange(0, t_src[-1], 1.0 / rate_out)
    theta = np.interp(t, t_src, theta_src)
    upper = Rotation.from_euler("y", 180, degrees=True)  # arm hanging: sensor z points down the arm
    fore = upper * Rotation.from_rotvec(np.radians(theta)[:, None] * np.array([[0.0, 1.0, 0.0]]))

    def imu(r: Rotation) -> dict:
        q = io._quat(r)
        n = len(q)
        acc = r.inv().apply(np.tile([0.0, 0.0, 1.0], (n, 1)) if n > 1 else [0.0, 0.0, 1.0]).reshape(-1, 3)
        rv = (r[:-1].inv() * r[1:]).as_rotvec() * rate_out if n > 1 else np.zeros((1, 3))
        gyro = np.degrees(np.vstack([rv, rv[-1:]]))
        return {"acc": acc, "gyro": gyro, "angle": io.quat_to_euler_zyx_deg(q)}

    upper_r = Rotation.from_quat(np.tile(upper.as_quat(), (len(t), 1)))
    return imu(upper_r), imu(fore), theta, rate_out


def demo_devices(kind: str = "all", base_address: str = "C0:FF:EE:00:00:0") -> list[SimulatedDevice]:
    """The demo set for ``movekit devices simulate``: two WitMotion IMUs on an elbow, a Ganglion, a generic EMG."""
    devs: list[SimulatedDevice] = []
    if kind in ("all", "witmotion", "goniometer"):
        up, fo, _, r = elbow_pair_from_plux_goniometer()
        devs.append(SimulatedWitMotion(base_address + "1", up["acc"], up["gyro"], up["angle"], r, name="WT901BLE68-UA"))
        devs.append(SimulatedWitMotion(base_address + "2", fo["acc"], fo["gyro"], fo["angle"], r, name="WT901BLE68-FA"))
    if kind in ("all", "ganglion", "emg"):
        emg, r = plux_emg_uv()
        devs.append(SimulatedGanglion(base_address + "3", emg, r))
    if kind in ("all", "generic_emg", "emg"):
        emg, r = plux_emg_uv()
        devs.append(SimulatedGenericEMG(base_address + "4", emg, r))
    return devs


async def serve(
    devices: list[SimulatedDevice], stop: asyncio.Event | None = None, on_ready: Callable[[str], None] | None = None
) -> None:
    """Start a private bus + mock BlueZ with ``devices`` and serve until ``stop`` is set."""
    from movekit.capture.ble.mock_bluez import MockBlueZ, PrivateSystemBus

    bus = PrivateSystemBus()
    addr = bus.start()
    try:
        mock = await MockBlueZ(addr).start()
        for d in devices:
            mock.add(d)
        if on_ready:
            on_ready(addr)
        await (stop or asyncio.Event()).wait()
        await mock.stop()
    finally:
        bus.stop()


__all__ = [
    "MALFORMED",
    "SimulatedDevice",
    "SimulatedWitMotion",
    "SimulatedGanglion",
    "SimulatedGenericEMG",
    "plux_emg_uv",
    "plux_acc_g",
    "elbow_pair_from_plux_goniometer",
    "demo_devices",
    "serve",
]
