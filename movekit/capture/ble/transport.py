"""BLE transport: scan, connect, subscribe, write, read battery, reconnect -- all through ``bleak``.

The rest of movekit sees a small interface:

* :func:`scan` -> list of :class:`ScanResult` (name, address, RSSI, the profile movekit would use).
* :class:`DeviceSpec` (``"AA:BB:CC:DD:EE:FF:witmotion"``, optionally ``@label`` and ``,rate=100``).
* :class:`BleDeviceGroup` / :func:`run_ble_devices`: several devices in one asyncio loop; each sample
  arrives as a :class:`BleChunk` ``(stream, t_s[N] float64 on the session clock, data[N, C] float32)``
  through ``on_chunk``; status arrives as :class:`BleEvent` through ``on_event``.
* :class:`BleRecorder`: the same, hosted in a background thread with its own event loop, writing to a
  :class:`movekit.recording.RecordingWriter` (so the camera path is never blocked by BLE).

Link loss: a ``device_disconnected`` event at once; reconnection with exponential backoff
(``ReconnectPolicy``); on success a ``device_gap`` event (``start_s`` = last sample before, ``end_s``
= reconnection) and streaming resumes: samples before and after are all kept (the clock mapping
starts a new segment, since counters may restart). A device that sends garbage (``device_bad_data``,
rate-limited, also said on the console by :class:`BleRecorder`; good records around it are kept and
later timestamps do not move), stays connected but stops sending (``device_stalled`` after
:func:`silence_after_s`, then ``device_resumed`` when samples return), is not found
(``device_not_found``) or never answers (``device_error`` with the reason) never stops the session.
Devices are looked for in one shared scan, each with its own timeout, so an absent device never
delays a present one; a stop ends a scan or connection attempt at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from movekit.capture.ble.clock_sync import ClockSync
from movekit.capture.ble.profiles import DecodeError, Profile, StreamInfo, get_profile, guess_profile
from movekit.errors import MovekitError

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"

#: A connected device is silent ("no signal") after the larger of these two without a notification:
#: :data:`SILENT_MIN_S` (s) and :data:`SILENT_INTERVALS` expected sample intervals (see
#: :func:`silence_after_s`).
SILENT_MIN_S = 0.5
SILENT_INTERVALS = 10


def silence_after_s(rate_hz: float) -> float:
    """Seconds without a notification after which a connected device counts as silent.

    ``max(SILENT_MIN_S, SILENT_INTERVALS / rate_hz)``: 0.5 s for any device at 20 Hz or more, ten
    sample intervals for slower ones (1.0 s for a WitMotion at its default 10 Hz).

    Why these figures (movekit choices, justified, not clinical thresholds): a dead radio is
    declared lost by the link layer after the LE supervision timeout, 420 ms by default on a Linux
    host (``hdev->le_supv_timeout = 0x002a`` x 10 ms in the kernel's ``hci_core.c``; the HCI
    default in other stacks too; the Core Specification allows 100 ms-32 s, Vol 6 Part B 4.5.2).
    A link that is up but silent is called silent on that same time scale, so a frozen sensor and a
    dropped one pause the drill equally soon (0.5 s is just above the 420 ms). Ten intervals: the
    link layer retransmits a missed packet at the next connection event (7.5-50 ms apart for
    streaming sensors), so a few intervals late is ordinary jitter; ten missing in a row is not,
    and for a slow sensor half a second is too short to tell.

    Parameters
    ----------
    rate_hz : float
        The device's expected sample rate (Hz): its ``rate=`` option or its profile's rate.
    """
    return max(SILENT_MIN_S, SILENT_INTERVALS / max(float(rate_hz), 1e-3))


# ------------------------------------------------------------------------------------------------
# data types
@dataclass(frozen=True)
class DeviceSpec:
    """Which device, decoded with which profile, recorded under which label."""

    address: str
    profile: str
    label: str | None = None
    rate_hz: float | None = None

    @classmethod
    def parse(cls, text: str) -> DeviceSpec:
        """``ADDRESS:PROFILE[@LABEL][,rate=HZ]``, e.g. ``C0:FF:EE:00:00:01:witmotion@thigh,rate=50``.

        ``ADDRESS`` may also be ``name=DEVICE_NAME`` to connect by advertised name.
        """
        body, *opts = text.split(",")
        rate = None
        for o in opts:
            k, _, v = o.partition("=")
            if k.strip() != "rate":
                raise MovekitError(f"--ble {text!r}: unknown option {o!r} (only rate=HZ)")
            try:
                rate = float(v)
            except ValueError:
                raise MovekitError(f"--ble {text!r}: rate must be a number") from None
        label = None
        if "@" in body:
            body, label = body.rsplit("@", 1)
        parts = body.split(":")
        if body.startswith("name="):
            if len(parts) < 2:
                raise MovekitError(f"--ble {text!r}: expected name=NAME:PROFILE")
            addr, prof = ":".join(parts[:-1]), parts[-1]
        else:
            if len(parts) != 7 or not all(len(p) == 2 for p in parts[:6]):
                raise MovekitError(
                    f"--ble {text!r}: expected ADDRESS:PROFILE with a 6-byte address like C0:FF:EE:00:00:01:witmotion"
                )
            addr, prof = ":".join(parts[:6]).upper(), parts[6]
        if not prof:
            raise MovekitError(f"--ble {text!r}: no profile given")
        return cls(addr, prof, label, rate)


@dataclass
class BleChunk:
    device: str  #: the device's label
    stream: str  #: full stream name, ``<label>_<suffix>``
    t_s: np.ndarray  #: float64 (N,), session clock
    data: np.ndarray  #: float32 (N, C)
    arrival_s: float  #: when the notification arrived (session clock)


@dataclass
class BleEvent:
    t_s: float
    kind: str
    device: str
    message: str
    data: dict = field(default_factory=dict)


@dataclass
class ReconnectPolicy:
    initial_s: float = 0.2
    factor: float = 2.0
    max_s: float = 5.0
    max_attempts: int | None = None  #: None: keep trying for the whole session

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * self.factor**attempt)


@dataclass
class ScanResult:
    name: str | None
    address: str
    rssi: int | None
    service_uuids: list[str]
    profile: str | None


# ------------------------------------------------------------------------------------------------
async def scan(
    timeout: float = 5.0, name: str | None = None, service_uuid: str | None = None, address: str | None = None
) -> list[ScanResult]:
    """Devices in range, strongest first, filtered by name (substring), service UUID or address."""
    from bleak import BleakScanner
    from bleak.exc import BleakError

    from movekit.capture.ble.mock_bluez import full_uuid

    try:
        found = await BleakScanner.discover(timeout=timeout, return_adv=True)
    except (BleakError, OSError, EOFError) as exc:
        raise MovekitError(
            f"Bluetooth scan failed: {exc or type(exc).__name__} (is a Bluetooth adapter present and powered?)"
        ) from None
    out = []
    for dev, adv in found.values():
        uuids = [full_uuid(u) for u in (adv.service_uuids or [])]
        nm = adv.local_name or dev.name
        if name and (not nm or name.lower() not in nm.lower()):
            continue
        if service_uuid and full_uuid(service_uuid) not in uuids:
            continue
        if address and dev.address.upper() != address.upper():
            continue
        out.append(ScanResult(nm, dev.address, adv.rssi, uuids, guess_profile(nm, uuids)))
    out.sort(key=lambda r: -(r.rssi if r.rssi is not None else -999))
    return out


# ------------------------------------------------------------------------------------------------
class _Discovery:
    """One shared scan per event loop, running while any device is being looked for.

    bleak issues ``StartDiscovery``/``StopDiscovery`` on one D-Bus connection for all its scanners,
    and BlueZ keeps one discovery session per D-Bus client: the first scanner to stop would end
    discovery for every other one. So every device of a session waits on one scanner, each with its
    own timeout (an absent device never delays a present one); the scanner stops when nobody waits.
    Everything it saw is remembered for later look-ups.
    """

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}  # address -> BLEDevice
        self.names: dict[str, Any] = {}  # advertised name -> BLEDevice
        self.waiters: dict[tuple[str, bool], list[asyncio.Future]] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def _seen(self, dev: Any, adv: Any) -> None:
        self.seen[dev.address.upper()] = dev
        nm = adv.local_name or dev.name
        if nm:
            self.names[nm] = dev
        for key in ((dev.address.upper(), False), (nm, True)):
            for fut in self.waiters.get(key, []):
                if not fut.done():
                    fut.set_result(dev)

    async def _scan(self) -> None:
        from bleak import BleakScanner

        try:
            while self.waiters:
                async with BleakScanner(detection_callback=self._seen):
                    while self.waiters:
                        self._changed.clear()
                        await self._changed.wait()
        except Exception as exc:  # noqa: BLE001 (no adapter, D-Bus error: every waiter hears it)
            for futs in self.waiters.values():
                for fut in futs:
                    if not fut.done():
                        fut.set_exception(exc)

    async def find(self, key: str, by_name: bool, timeout: float):
        table = self.names if by_name else self.seen
        if key in table:
            return table.pop(key)
        fut = asyncio.get_running_loop().create_future()
        self.waiters.setdefault((key, by_name), []).append(fut)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._scan())
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return None
        finally:
            futs = self.waiters.get((key, by_name), [])
            if fut in futs:
                futs.remove(fut)
            if not futs:
                self.waiters.pop((key, by_name), None)
            self._changed.set()
            if not fut.done():
                fut.cancel()
        table.pop(key, None)
        return fut.result()


_DISCOVERY: dict[asyncio.AbstractEventLoop, _Discovery] = {}


def _discovery() -> _Discovery:
    loop = asyncio.get_running_loop()
    for old in [lp for lp in _DISCOVERY if lp.is_closed()]:
        del _DISCOVERY[old]
    if loop not in _DISCOVERY:
        _DISCOVERY[loop] = _Discovery()
    return _DISCOVERY[loop]


class BleDevice:
    """One device's whole life in a session: find, connect, stream, lose, reconnect, stop."""

    def __init__(
        self,
        spec: DeviceSpec,
        on_chunk: Callable[[BleChunk], Any],
        on_event: Callable[[BleEvent], Any],
        clock: Callable[[], float] = time.perf_counter,
        policy: ReconnectPolicy | None = None,
        scan_timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        stall_timeout_s: float | None = None,
        profile: Profile | None = None,
    ) -> None:
        self.spec = spec
        self.profile = profile or get_profile(spec.profile)
        self.label = spec.label or f"{self.profile.name}_{spec.address.replace(':', '')[-4:].lower()}"
        self.on_chunk, self.on_event, self.clock = on_chunk, on_event, clock
        self.policy = policy or ReconnectPolicy()
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.rate_hz = spec.rate_hz or self.profile.rate_hz
        self.stall_timeout_s = stall_timeout_s or silence_after_s(self.rate_hz)
        self.decoder = self.profile.new_decoder()
        # one clock mapping per distinct rate: streams decoded from the same packets share it
        by_rate: dict[float, ClockSync] = {}
        self.clocks: dict[str, ClockSync] = {}
        for s in self.profile.streams:
            r = self.rate_hz if s.rate_hz == self.profile.rate_hz else s.rate_hz
            self.clocks[s.suffix] = by_rate.setdefault(
                r, ClockSync(r, self.profile.latency_s, counted=not self.profile.has_counter)
            )
        self.client = None
        self._ble_device = None
        self._disconnected = asyncio.Event()
        self.last_arrival: float | None = None
        self.last_sample_t: float | None = None
        self.stats = {
            "notifications": 0,
            "samples": 0,
            "bad_packets": 0,
            "bad_records": 0,
            "connects": 0,
            "disconnects": 0,
            "gaps": 0,
            "failed_attempts": 0,
        }
        self._lost_pending = 0  # bad records not yet handed to the clock mapping
        self._last_bad_event = -1e9
        self._stalled = False
        self._rate_warned = False
        self.connected = False

    # streams -----------------------------------------------------------------------------------
    def stream_infos(self) -> list[tuple[str, StreamInfo]]:
        out = []
        for s in self.profile.streams:
            rate = self.rate_hz if s.rate_hz == self.profile.rate_hz else s.rate_hz
            out.append((f"{self.label}_{s.suffix}", StreamInfo(s.suffix, s.channel_names, s.unit, rate, s.kind)))
        return out

    def _event(self, kind: str, message: str, t: float | None = None, **data: Any) -> None:
        ev = BleEvent(
            self.clock() if t is None else t,
            kind,
            self.label,
            message,
            {"address": self.spec.address, "profile": self.profile.name, **data},
        )
        try:
            self.on_event(ev)
        except Exception:  # noqa: BLE001 (a consumer's bug must not kill the link)
            pass

    # notifications -----------------------------------------------------------------------------
    def _bad_data(self, arrival: float, n_bad: int, why: str, data: bytes) -> None:
        """Count bad bytes (they never move the clock); a ``device_bad_data`` event at most once a second."""
        self.stats["bad_packets"] += 1
        self.stats["bad_records"] += n_bad
        self._lost_pending += n_bad
        if arrival - self._last_bad_event >= 1.0:
            self._last_bad_event = arrival
            self._event(
                "device_bad_data",
                f"{self.label} ({self.spec.address}) sent {self.stats['bad_packets']} packet(s) with "
                f"{self.stats['bad_records']} record(s) that do not fit profile {self.profile.name} "
                f"(skipped, later timestamps unaffected): {why}; first bytes {data[:8].hex()}",
                t=arrival,
                bad_packets=self.stats["bad_packets"],
                bad_records=self.stats["bad_records"],
            )

    def _on_notify(self, _char: Any, data: bytearray) -> None:
        arrival = self.clock()
        self.stats["notifications"] += 1
        data = bytes(data)
        bad_before = getattr(self.decoder, "bad_records", None)
        try:
            decoded = self.decoder.feed(data)
        except DecodeError as exc:
            n_bad = 1 if bad_before is None else max(1, self.decoder.bad_records - bad_before)
            self._bad_data(arrival, n_bad, str(exc), data)
            return
        if bad_before is not None and self.decoder.bad_records > bad_before:
            self._bad_data(arrival, self.decoder.bad_records - bad_before, self.decoder.last_problem, data)
        if self._stalled:
            self._stalled = False
            self._event(
                "device_resumed",
                f"{self.label} sends data again after {arrival - self.last_arrival:.2f} s of silence",
                t=arrival,
                start_s=self.last_arrival,
                end_s=arrival,
                duration_s=arrival - self.last_arrival,
            )
            # a new clock segment, as after a reconnection: a frozen front end may restart its
            # counter, or keep it where it stopped (then the old line would date the new samples
            # back into the silence)
            for c in set(self.clocks.values()):
                c.reset()
        self.last_arrival = arrival
        prev_idx, prev_clock, t = None, None, None
        lost, self._lost_pending = (self._lost_pending, 0) if decoded else (0, self._lost_pending)
        for d in decoded:
            clock = self.clocks[d.suffix]
            if d.index is not prev_idx or clock is not prev_clock:  # same samples: same times
                t = clock.map(d.index, arrival, lost=lost)
                prev_idx, prev_clock = d.index, clock
                if clock.rate_mismatch and not self._rate_warned:
                    self._rate_warned = True
                    self._event(
                        "device_rate_mismatch",
                        f"{self.label} sends {clock.measured_rate_hz:.1f} samples/s, not the "
                        f"{clock.rate:g} Hz its profile says: set rate=HZ in --ble, or fix the profile; "
                        "its timestamps are unreliable until then",
                        t=arrival,
                        measured_rate_hz=clock.measured_rate_hz,
                        nominal_rate_hz=clock.rate,
                    )
            if d.suffix == self.profile.streams[0].suffix:
                self.stats["samples"] += len(t)
            self.last_sample_t = float(t[-1])
            try:
                self.on_chunk(BleChunk(self.label, f"{self.label}_{d.suffix}", t, d.data, arrival))
            except Exception as exc:  # noqa: BLE001 (pragma: no cover - consumer bug: report once per second)
                if arrival - self._last_bad_event >= 1.0:
                    self._last_bad_event = arrival
                    self._event("device_error", f"chunk consumer failed: {exc!r}", t=arrival)

    def _on_disconnect(self, _client: Any) -> None:
        self._disconnected.set()

    # connection --------------------------------------------------------------------------------
    async def _find(self):
        by_name = self.spec.address.startswith("name=")
        key = self.spec.address[5:] if by_name else self.spec.address.upper()
        return await _discovery().find(key, by_name, self.scan_timeout_s)

    async def _connect_once(self) -> None:
        from bleak import BleakClient

        if self._ble_device is None:
            self._ble_device = await self._find()
            if self._ble_device is None:
                raise LookupError(
                    f"{self.spec.address} not found in a {self.scan_timeout_s:g} s scan "
                    "(is it switched on, charged and in range?)"
                )
        self._disconnected = asyncio.Event()
        client = BleakClient(
            self._ble_device, disconnected_callback=self._on_disconnect, timeout=self.connect_timeout_s
        )
        try:
            await client.connect()
        except BaseException:  # failed, or cancelled by a stop: leave no half-open link
            try:
                await asyncio.wait_for(client.disconnect(), 0.5)
            except BaseException:  # noqa: BLE001 (a boundary: reported, never re-raised)
                pass
            raise
        self.client = client
        try:
            services = client.services
            if services.get_characteristic(self.profile.notify_uuid) is None:
                raise MovekitError(
                    f"{self.spec.address} has no characteristic {self.profile.notify_uuid}: "
                    f"not a {self.profile.name} device? (services: "
                    f"{', '.join(s.uuid for s in services)})"
                )
            self.decoder.reset()
            for c in set(self.clocks.values()):
                c.reset()
            await client.start_notify(self.profile.notify_uuid, self._on_notify)
            for cmd in self.profile.start_commands(self.spec.rate_hz):
                await client.write_gatt_char(cmd.char_uuid, cmd.data, response=cmd.response)
        except Exception:
            await self._safe_disconnect()
            raise

    async def _safe_disconnect(self) -> None:
        c, self.client = self.client, None
        if c is not None:
            try:
                await asyncio.wait_for(c.disconnect(), 2.0)
            except Exception:  # noqa: BLE001 (a boundary: reported, never re-raised)
                pass

    async def read_battery(self) -> int | None:
        """Battery level in percent (standard Battery Service 0x180F/0x2A19), None if not offered."""
        c = self.client
        if c is None or c.services.get_characteristic(BATTERY_LEVEL_UUID) is None:
            return None
        v = await c.read_gatt_char(BATTERY_LEVEL_UUID)
        return int(v[0]) if v else None

    async def write(self, char_uuid: str, data: bytes, response: bool = True) -> None:
        if self.client is None:
            raise MovekitError(f"{self.label} is not connected")
        await self.client.write_gatt_char(char_uuid, data, response=response)

    async def _wait(self, stop: asyncio.Event, delay: float) -> bool:
        """Sleep ``delay`` unless stopped; True when stopped."""
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return True
        except TimeoutError:
            return stop.is_set()

    async def _unless_stopped(self, coro: Any, stop: asyncio.Event) -> bool:
        """Run ``coro`` unless ``stop`` is set first (then cancel it): True when it finished.
        Its exception, if any, is raised here."""
        task = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            stopper.cancel()
        if task.done():
            task.result()
            return True
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
        return False

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream until the link drops, reconnect by ``policy``, until ``stop`` is set."""
        attempt = 0
        gap_start: float | None = None
        while not stop.is_set():
            outcome = await self._try_connect(stop)
            if outcome == "stopped":
                break
            if outcome == "connected":
                attempt = 0
                await self._on_connected(gap_start)
                gap_start = None
                stopped = await self._stream_until_lost(stop)
                self.connected = False
                if stopped:
                    break
                gap_start = self._on_link_lost()
            if self.policy.max_attempts is not None and attempt >= self.policy.max_attempts:
                self._event("device_gave_up", f"{self.label}: giving up after {attempt} attempts")
                return
            if await self._wait(stop, self.policy.delay(attempt)):
                break
            attempt += 1
        await self._shutdown()

    async def _try_connect(self, stop: asyncio.Event) -> str:
        """One connection attempt: "connected", "stopped" (the session ended first) or "failed" (reported)."""
        from bleak.exc import BleakDeviceNotFoundError

        try:
            ok = await self._unless_stopped(self._connect_once(), stop)  # stopped: at once
        except MovekitError as exc:
            self._event("device_error", str(exc))
        except LookupError as exc:
            self._event("device_not_found", str(exc))
        except BleakDeviceNotFoundError as exc:
            self._ble_device = None  # BlueZ forgot it: scan again next time
            self._event("device_not_found", f"{self.spec.address}: {exc}")
        except TimeoutError:
            self._event(
                "device_error",
                f"{self.label} ({self.spec.address}) did not answer the connection "
                f"request within {self.connect_timeout_s:g} s; retrying",
            )
        except Exception as exc:  # noqa: BLE001 (bleak/D-Bus errors: report, back off, retry)
            self._event(
                "device_error",
                f"{self.label} ({self.spec.address}) connection failed: {type(exc).__name__}: {exc}; retrying",
            )
        else:
            if ok:
                return "connected"
            if not self.stats["connects"]:
                self._event(
                    "device_not_found",
                    f"{self.label} ({self.spec.address}) was not found or "
                    "did not connect before the session ended (is it switched on, charged "
                    "and in range?)",
                )
            return "stopped"
        self.stats["failed_attempts"] += 1
        return "failed"

    async def _on_connected(self, gap_start: float | None) -> None:
        """Count the connection, report it (with the gap since the link was lost) and the battery."""
        now = self.clock()
        self.connected = True
        self.stats["connects"] += 1
        if gap_start is not None:
            self.stats["gaps"] += 1
            self._event("device_reconnected", f"{self.label} reconnected after {now - gap_start:.2f} s", t=now)
            self._event(
                "device_gap",
                f"{self.label}: no data from {gap_start:.3f} to {now:.3f} s",
                t=gap_start,
                start_s=gap_start,
                end_s=now,
                duration_s=now - gap_start,
            )
        else:
            self._event(
                "device_connected",
                f"{self.label} ({self.spec.address}) connected, profile {self.profile.name}",
                t=now,
            )
        try:
            batt = await asyncio.wait_for(self.read_battery(), 2.0)
            if batt is not None:
                self._event("device_battery", f"{self.label} battery {batt}%", battery_percent=batt)
        except Exception:  # noqa: BLE001 (a boundary: reported, never re-raised)
            pass
        self.last_arrival = now  # the stall watchdog counts from (re)connection

    def _on_link_lost(self) -> float:
        """Report a dropped link; returns the start of the data gap (s, session clock)."""
        self.stats["disconnects"] += 1
        gap_start = self.last_sample_t if self.last_sample_t is not None else self.clock()
        self._event("device_disconnected", f"{self.label} ({self.spec.address}) link lost; reconnecting")
        self.client = None
        return gap_start

    async def _stream_until_lost(self, stop: asyncio.Event) -> bool:
        """Wait while streaming; True when stopped by the caller, False when the link dropped."""
        stop_task = asyncio.ensure_future(stop.wait())
        disc_task = asyncio.ensure_future(self._disconnected.wait())
        poll_s = min(0.1, self.stall_timeout_s / 5)  # silence seen within 20 % of its bound
        try:
            while True:
                done, _ = await asyncio.wait(
                    {stop_task, disc_task}, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED
                )
                if stop_task in done:
                    return True
                if disc_task in done:
                    return False
                # a held-up loop reads the notifications queued meanwhile before it runs this
                # timer (asyncio runs ready readers first): its own stall is not the device's
                now = self.clock()
                if (
                    not self._stalled
                    and self.last_arrival is not None
                    and now - self.last_arrival > self.stall_timeout_s
                ):
                    self._stalled = True
                    self._event(
                        "device_stalled",
                        f"{self.label} connected but sent nothing for "
                        f"{now - self.last_arrival:.2f} s (no signal); re-sending its start commands",
                        t=now,
                        last_arrival_s=self.last_arrival,
                        silent_after_s=self.stall_timeout_s,
                    )
                    try:
                        for cmd in self.profile.start_commands(self.spec.rate_hz):
                            await self.client.write_gatt_char(cmd.char_uuid, cmd.data, response=cmd.response)
                    except Exception:  # noqa: BLE001 (a boundary: reported, never re-raised)
                        pass
        finally:
            for t in (stop_task, disc_task):
                t.cancel()

    async def _shutdown(self) -> None:
        c = self.client
        if c is not None and c.is_connected:
            try:  # best effort: stop streaming, unsubscribe
                for cmd in self.profile.stop_commands():
                    await asyncio.wait_for(c.write_gatt_char(cmd.char_uuid, cmd.data, response=cmd.response), 1.0)
                await asyncio.wait_for(c.stop_notify(self.profile.notify_uuid), 1.0)
            except Exception:  # noqa: BLE001 (a boundary: reported, never re-raised)
                pass
        await self._safe_disconnect()
        summary = {k: c.summary() for k, c in self.clocks.items()}
        lost = max((c.lost_samples for c in self.clocks.values()), default=0)
        self._event(
            "device_stopped",
            f"{self.label} stopped: {self.stats['samples']} samples, "
            f"{self.stats['gaps']} gap(s), {self.stats['bad_packets']} bad packet(s)"
            + (f", {lost} sample(s) lost in transit (left as holes in time)" if lost else ""),
            stats=dict(self.stats),
            clock=summary,
        )


class BleDeviceGroup:
    """Several devices in one asyncio loop."""

    def __init__(
        self,
        specs: list[DeviceSpec | str],
        on_chunk: Callable[[BleChunk], Any],
        on_event: Callable[[BleEvent], Any],
        clock: Callable[[], float] = time.perf_counter,
        **device_kw: Any,
    ) -> None:
        specs = [DeviceSpec.parse(s) if isinstance(s, str) else s for s in specs]
        self.devices = [BleDevice(s, on_chunk, on_event, clock, **device_kw) for s in specs]
        labels = [d.label for d in self.devices]
        if len(set(labels)) != len(labels):
            raise MovekitError(f"two BLE devices share a label: {labels}; give each one with ADDRESS:PROFILE@LABEL")

    def stream_infos(self) -> list[tuple[str, StreamInfo]]:
        return [si for d in self.devices for si in d.stream_infos()]

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(d.run(stop) for d in self.devices))


async def run_ble_devices(
    specs: list[DeviceSpec | str],
    on_chunk: Callable[[BleChunk], Any],
    on_event: Callable[[BleEvent], Any],
    stop_event: asyncio.Event,
    clock: Callable[[], float] = time.perf_counter,
    **device_kw: Any,
) -> BleDeviceGroup:
    """Run ``specs`` until ``stop_event`` is set; returns the session (with per-device stats)."""
    session = BleDeviceGroup(specs, on_chunk, on_event, clock, **device_kw)
    await session.run(stop_event)
    return session


# ------------------------------------------------------------------------------------------------
CONSOLE_KINDS = ("device_bad_data", "device_rate_mismatch")  #: said on the console as they happen


def say_on_console(text: str) -> None:
    """One ``movekit: notice:`` line on stderr, above any progress bar (as capture's other notices)."""
    import sys

    line = f"movekit: notice: {text}"
    try:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        print(line, file=sys.stderr)


class BleRecorder:
    """Record BLE devices into a ``RecordingWriter`` from a background thread with its own loop.

    ``writer`` needs ``add_stream(StreamSpec)``, ``append(name, t_s, data)`` and
    ``event(t_s, kind, **data)``; calls are serialised with ``lock`` (pass the writer's lock if it has
    one). Samples are batched and appended every ``flush_s``. Streams are registered in
    :meth:`start` before any data flows. ``clock`` must be the session clock the camera uses.
    Events of :data:`CONSOLE_KINDS` are also said through ``console`` (default: a ``movekit: notice:``
    line on stderr; None: silent), at most once per ``console_every_s`` per device and kind.
    """

    def __init__(
        self,
        specs: list[DeviceSpec | str],
        writer: Any,
        clock: Callable[[], float] = time.perf_counter,
        lock: threading.Lock | None = None,
        flush_s: float = 0.2,
        on_chunk: Callable[[BleChunk], Any] | None = None,
        on_event: Callable[[BleEvent], Any] | None = None,
        console: Callable[[str], Any] | None = say_on_console,
        console_every_s: float = 10.0,
        **device_kw: Any,
    ) -> None:
        self.writer = writer
        self.console, self.console_every_s = console, console_every_s
        self._said: dict[tuple[str, str], float] = {}  # (device, kind) -> when last said
        self.lock = lock or getattr(writer, "lock", None) or threading.Lock()
        self.flush_s = flush_s
        self.user_chunk, self.user_event = on_chunk, on_event
        self._buf: dict[str, list[BleChunk]] = {}
        self._buf_lock = threading.Lock()
        self.session = BleDeviceGroup(specs, self._on_chunk, self._on_event, clock, **device_kw)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.events: list[BleEvent] = []
        self.error: BaseException | None = None
        self._streaming: set[str] = set()  # devices that delivered data
        self._given_up: set[str] = set()  # devices that failed before delivering any
        self._ready = threading.Condition()

    def _on_chunk(self, ch: BleChunk) -> None:
        with self._buf_lock:
            self._buf.setdefault(ch.stream, []).append(ch)
        if ch.device not in self._streaming:
            with self._ready:
                self._streaming.add(ch.device)
                self._ready.notify_all()
        if self.user_chunk:
            self.user_chunk(ch)

    def _on_event(self, ev: BleEvent) -> None:
        self.events.append(ev)
        if ev.kind in ("device_not_found", "device_error") and ev.device not in self._streaming:
            with self._ready:
                self._given_up.add(ev.device)
                self._ready.notify_all()
        data = {k: v for k, v in ev.data.items() if k not in ("stats", "clock")}
        if "stats" in ev.data:
            data["stats"] = ev.data["stats"]
        if "clock" in ev.data:
            data["clock"] = ev.data["clock"]
        with self.lock:
            self.writer.event(t_s=ev.t_s, kind=ev.kind, device=ev.device, message=ev.message, **data)
        key = (ev.device, ev.kind)
        if (
            self.console is not None
            and ev.kind in CONSOLE_KINDS
            and ev.t_s - self._said.get(key, -np.inf) >= self.console_every_s
        ):
            self._said[key] = ev.t_s
            try:
                self.console(f"BLE {ev.device}: {ev.message}")
            except Exception:  # noqa: BLE001 (pragma: no cover - a closed stderr must not stop the recording)
                pass
        if self.user_event:
            self.user_event(ev)

    def flush(self) -> None:
        with self._buf_lock:
            buf, self._buf = self._buf, {}
        for name, chunks in buf.items():
            t = np.concatenate([c.t_s for c in chunks])
            d = np.concatenate([c.data for c in chunks]).astype(np.float32)
            with self.lock:
                self.writer.append(name, t, d)

    def stream_specs(self) -> list[Any]:
        from movekit.recording import StreamSpec

        out = []
        for dev in self.session.devices:
            for name, si in dev.stream_infos():
                out.append(
                    StreamSpec(
                        name=name,
                        shape=si.shape,
                        unit=si.unit,
                        rate_hz=si.rate_hz,
                        channel_names=si.channel_names,
                        kind=si.kind,
                        attrs={
                            "source": "ble",
                            "device": dev.label,
                            "address": dev.spec.address,
                            "profile": dev.profile.name,
                            "profile_source": dev.profile.source,
                            "clock": "session clock via movekit.capture.ble.clock_sync",
                        },
                    )
                )
        return out

    def start(self) -> BleRecorder:
        with self.lock:
            for spec in self.stream_specs():
                self.writer.add_stream(spec)
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._stop = asyncio.Event()
            ready.set()

            async def flusher() -> None:
                while not self._stop.is_set():
                    try:
                        await asyncio.wait_for(self._stop.wait(), self.flush_s)
                    except TimeoutError:
                        pass
                    self.flush()

            async def body() -> None:
                await asyncio.gather(self.session.run(self._stop), flusher())

            try:
                loop.run_until_complete(body())
            except BaseException as exc:  # noqa: BLE001 (pragma: no cover - reported to the caller)
                self.error = exc
            finally:
                self.flush()
                loop.close()

        self._thread = threading.Thread(target=main, name="movekit-ble", daemon=True)
        self._thread.start()
        ready.wait(5.0)
        return self

    def wait_streaming(self, timeout_s: float = 10.0) -> list[str]:
        """Wait until every device delivered its first data or failed (not found, an error), at most
        ``timeout_s``; returns the labels of the devices not streaming, so a capture can start its
        first frame with every device's data flowing (connection takes 0.1-0.2 s on this machine)."""
        labels = {d.label for d in self.session.devices}
        with self._ready:
            self._ready.wait_for(lambda: labels <= self._streaming | self._given_up, timeout=timeout_s)
            return sorted(labels - self._streaming)

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # loop already closed
                pass
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> BleRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
