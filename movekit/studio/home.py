"""The client's home drills in the studio (issue 18, "Client (home)"): no addresses, no files to type.

What the therapist sets up once is kept per client in the clinic database
(:class:`movekit.clinic.store.Store`, schema v8):

- the paired Bluetooth LE devices (address, profile, label, and which muscle each EMG channel is
  on: channel name -> role the drills use, e.g. ``ch1 -> vmo``): :func:`load_devices`,
  :func:`save_device`, :func:`remove_device`;
- the MVC recordings from the guided MVC step (per muscle in uV, when, the trial's recording):
  :func:`load_mvc`, :func:`record_mvc`.

Earlier versions kept them in ``studio/devices.json`` (one set of devices for the whole studio) and
``studio/mvc.json`` (per client) in the user's movekit data folder (``$MOVEKIT_DATA_DIR`` when set):
:func:`import_legacy_files` moves them into the database on first use (the devices to every client
then in it, as the file applied to all of them) and renames each file ``*.imported``.

Custom drills (TOML, as ``movekit drill`` reads) may be put in ``protocols/`` of the data folder;
a home-program item's ``drill_id`` is looked up there when it is not a shipped drill.

:class:`DrillRun` runs one :class:`movekit.protocols.drill.Drill` in a worker thread on the paired
devices (:meth:`Drill.run_devices`) and pushes :meth:`Drill.state` (with each device's state:
connecting, connected, reconnecting, lost) to the drill page through a
:class:`movekit.studio.live.Hub` about 10 times a second. The drill logs itself in the client's
home program when it ends (``client`` and ``db`` given to the Drill). Nothing clinical is
computed here: the MVC amplitude is :func:`movekit.analysis.emg.mvc_reference`.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from movekit.errors import MovekitError

log = logging.getLogger(__name__)

#: How often (s) the drill page gets a state message (~10 per second).
PUSH_EVERY_S = 0.1
#: Seconds of maximal contraction the guided MVC step records.
MVC_RECORD_S = 5.0
#: Seconds of signal the pairing page's test view records.
TEST_SIGNAL_S = 1.5
#: Seconds to wait for the paired devices to stream before giving up.
CONNECT_TIMEOUT_S = 10.0
_IMPORT_LOCK = threading.Lock()
_SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


# ------------------------------------------------------------------------------------------ files
def data_dir() -> Path:
    """The user's movekit data folder (``$MOVEKIT_DATA_DIR`` when set)."""
    from platformdirs import user_data_dir

    return Path(os.environ.get("MOVEKIT_DATA_DIR") or user_data_dir("movekit"))


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MovekitError(f"{path} is not readable JSON ({exc}); fix or remove it") from None
    if not isinstance(data, dict):
        raise MovekitError(f"{path} does not hold a JSON object; fix or remove it")
    return data


# ------------------------------------------------------------------------------------------ devices
@dataclass(frozen=True)
class PairedDevice:
    """One device remembered by the therapist's setup.

    Attributes
    ----------
    address : str
        Bluetooth address (``C0:FF:EE:00:00:04``).
    profile : str
        Decoding profile (``generic_emg``, ``ganglion``, ``witmotion``).
    label : str
        Where it is worn (``thigh``); names its streams (``thigh_emg``).
    roles : dict
        EMG channel name of the device -> role the drills use (``{"ch1": "vmo"}``).
    name : str
        Advertised name seen at pairing.
    """

    address: str
    profile: str
    label: str
    roles: dict[str, str] = field(default_factory=dict)
    name: str = ""

    @property
    def spec(self) -> str:
        """The ``ADDRESS:PROFILE@LABEL`` text :class:`movekit.capture.ble.transport.DeviceSpec` parses."""
        return f"{self.address}:{self.profile}@{self.label}"

    @classmethod
    def from_store(cls, row: Mapping[str, Any]) -> PairedDevice:
        """From a :meth:`movekit.clinic.store.Store.paired_devices` row."""
        return cls(row["address"], row["profile"], row["label"], dict(row["channels"]), row.get("name") or "")


def load_devices(store, client: str) -> list[PairedDevice]:
    """The client's paired devices (empty before the first pairing)."""
    return [PairedDevice.from_store(r) for r in store.paired_devices(client)]


def save_device(store, client: str, device: PairedDevice) -> list[PairedDevice]:
    """Add or replace (same label) a client's paired device; refuses a clash of address, label or
    muscle (the store says which)."""
    from movekit.capture.ble.transport import DeviceSpec

    if not _SAFE_ID.match(device.label):
        raise MovekitError("a device label is one short word such as thigh or belly (letters, digits, _ - .)")
    DeviceSpec.parse(device.spec)  # a clear message for a bad address or profile
    for role in device.roles.values():
        if not _SAFE_ID.match(role):
            raise MovekitError(f"muscle name {role!r}: one short word such as vmo, vl or core")
    store.add_paired_device(client, device.address, device.profile, device.label, device.roles, device.name)
    return load_devices(store, client)


def remove_device(store, client: str, label: str) -> None:
    store.remove_paired_device(client, label)


def import_legacy_files(store) -> list[str]:
    """Move the studio's old ``devices.json`` and ``mvc.json`` into the database (once).

    The devices were the whole studio's: each client in the database without paired devices gets
    them. MVC entries go to their client (entries of clients not in the database are reported
    and left in the renamed file). Each file is renamed ``<name>.imported`` afterwards (never
    deleted, never overwritten). Returns what was done, one line per file.
    """
    done = []
    folder = data_dir() / "studio"
    devices, mvc = folder / "devices.json", folder / "mvc.json"
    with _IMPORT_LOCK:  # two pages opened at once import once
        if devices.is_file():
            done.append(_import_devices(store, devices))
        if mvc.is_file():
            done.append(_import_mvc(store, mvc))
    for line in done:
        log.info("%s", line)
    return done


def _import_devices(store, path: Path) -> str:
    raw = _read_json(path).get("devices", [])
    try:
        devices = [PairedDevice(**d) for d in raw]
    except TypeError as exc:
        raise MovekitError(f"{path}: a device entry has unknown fields ({exc}); fix or remove it") from None
    clients = [c["code"] for c in store.clients() if not store.paired_devices(c["code"])]
    for code in clients:
        for d in devices:
            store.add_paired_device(code, d.address, d.profile, d.label, d.roles, d.name)
    _retire(path)
    return f"{path}: {len(devices)} device(s) imported for {len(clients)} client(s)"


def _import_mvc(store, path: Path) -> str:
    data = _read_json(path)
    known = {c["code"] for c in store.clients()}
    done, unknown = 0, []
    for code, entry in data.items():
        if code not in known:
            unknown.append(code)
            continue
        values = {k: float(v) for k, v in (entry.get("mvc_uv") or {}).items()}
        if values:
            store.add_mvc(code, values, recorded_utc=entry.get("recorded_utc"),
                          duration_s=entry.get("seconds"), source="mvc.json")  # fmt: skip
            done += 1
    _retire(path)
    rest = f"; not in the database (kept in the renamed file): {', '.join(unknown)}" if unknown else ""
    return f"{path}: MVC of {done} client(s) imported{rest}"


def _retire(path: Path) -> None:
    """Rename an imported file ``<name>.imported`` (``.imported-2``... if taken): kept, not reread."""
    target, k = path.with_name(path.name + ".imported"), 1
    while target.exists():
        k += 1
        target = path.with_name(f"{path.name}.imported-{k}")
    os.replace(path, target)


def profile_channels(profile: str) -> list[str]:
    """EMG channel names of a device profile (empty for a non-EMG device)."""
    from movekit.capture.ble.profiles import get_profile

    try:
        p = get_profile(profile)
    except (MovekitError, KeyError, FileNotFoundError):
        return []
    out = []
    for s in getattr(p, "streams", ()):
        if getattr(s, "kind", None) == "emg":
            out += list(getattr(s, "channel_names", ()) or ())
    return out


def scan_devices(timeout_s: float = 3.0) -> list[dict]:
    """Devices in range (through :func:`movekit.capture.ble.transport.scan`), as dicts for a page."""
    from movekit.capture.ble.transport import scan

    found = asyncio.run(scan(timeout_s))
    return [
        {"name": r.name or "", "address": r.address, "rssi": r.rssi, "profile": r.profile or "",
         "channels": profile_channels(r.profile) if r.profile else []}
        for r in found
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------ signals
class _MemoryWriter:
    """The part of a RecordingWriter :class:`BleRecorder` uses, kept in memory (no file)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.specs: dict[str, Any] = {}
        self.chunks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.events: list[dict] = []

    def add_stream(self, spec) -> None:
        self.specs[spec.name] = spec

    def append(self, name: str, t_s: np.ndarray, data: np.ndarray) -> None:
        self.chunks.setdefault(name, []).append((np.asarray(t_s), np.asarray(data)))

    def event(self, t_s: float, kind: str, **data) -> None:
        self.events.append({"t_s": t_s, "kind": kind, **data})


def record_emg(
    devices: list[PairedDevice], seconds: float, output: Path | None = None
) -> dict[str, tuple[Any, np.ndarray]]:
    """``seconds`` of every EMG stream of ``devices``: stream name -> (StreamSpec, samples (N, C) uV).

    ``output``: also write them as a recording there (0600, refused if it exists); None: in memory.
    Raises MovekitError when a device does not stream (switched off, out of range).
    """

    if not devices:
        raise MovekitError("no EMG sensor is paired yet: the therapist pairs it on the Devices page")
    writer = _MemoryWriter()
    if output is not None:
        from movekit.recording import RecordingWriter

        with RecordingWriter(output, {"purpose": "mvc", "devices": [d.spec for d in devices]}) as file_writer:
            _record(devices, seconds, _Tee(writer, file_writer))
    else:
        _record(devices, seconds, writer)
    out = {}
    for name, spec in writer.specs.items():
        chunks = writer.chunks.get(name, [])
        if spec.kind == "emg" and chunks:
            out[name] = (spec, np.concatenate([c[1] for c in chunks]).astype(np.float64))
    if not out:
        raise MovekitError("the paired devices sent no EMG")
    return out


def _record(devices: list[PairedDevice], seconds: float, writer) -> None:
    from movekit.capture.ble.transport import BleRecorder

    rec = BleRecorder([d.spec for d in devices], writer, console=None)
    rec.start()
    try:
        missing = rec.wait_streaming(CONNECT_TIMEOUT_S)
        if missing:
            raise MovekitError(f"no signal from {', '.join(missing)}: switch the sensor on and keep it near")
        time.sleep(seconds)
    finally:
        rec.stop()


class _Tee:
    """A writer that passes every call to a :class:`_MemoryWriter` and a RecordingWriter."""

    def __init__(self, memory: _MemoryWriter, file_writer) -> None:
        self.memory, self.file = memory, file_writer
        self.lock = memory.lock

    def add_stream(self, spec) -> None:
        self.memory.add_stream(spec)
        self.file.add_stream(spec)

    def append(self, name: str, t_s: np.ndarray, data: np.ndarray) -> None:
        self.memory.append(name, t_s, data)
        self.file.append(name, t_s, data)

    def event(self, t_s: float, kind: str, **data) -> None:
        self.memory.event(t_s, kind, **data)
        self.file.event(t_s, kind, **data)


def test_signal(device: PairedDevice, seconds: float = TEST_SIGNAL_S) -> dict:
    """A short test of one device: per channel its RMS (uV) and a 60-point envelope for a sparkline."""
    streams = record_emg([device], seconds)
    out = {"label": device.label, "seconds": seconds, "channels": []}
    for spec, x in streams.values():
        names = list(spec.channel_names or [f"ch{i + 1}" for i in range(x.shape[1])])
        for i, ch in enumerate(names):
            v = x[:, i] - np.nanmean(x[:, i])
            parts = np.array_split(np.abs(v), min(60, len(v)))
            out["channels"].append({
                "channel": ch,
                "role": device.roles.get(ch, ""),
                "samples": int(len(v)),
                "rms_uv": round(float(np.sqrt(np.nanmean(v**2))), 1),
                "envelope_uv": [round(float(p.mean()), 1) for p in parts],
            })  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------ MVC
def load_mvc(store, client: str) -> dict | None:
    """The client's newest MVC (:meth:`movekit.clinic.store.Store.latest_mvc`): ``mvc_uv``
    (muscle -> uV), ``recorded_utc``, ``duration_s``, ``recording_path``; None before the first."""
    return store.latest_mvc(client)


def record_mvc(store, client: str, devices: list[PairedDevice], output: Path, seconds: float = MVC_RECORD_S) -> dict:
    """Record a maximal contraction on every paired EMG channel that has a muscle into the
    recording ``output``, store the MVC reference per muscle for ``client`` with that recording,
    and return the stored entry.

    The reference is the peak 500 ms mean of the envelope (:func:`movekit.analysis.emg.mvc_reference`,
    as ``movekit emg --mvc`` and ``movekit drill --mvc``; Burden 2010, J Electromyogr Kinesiol 20:1023).
    """
    from movekit.analysis.emg import mvc_reference

    emg_devices = [d for d in devices if d.roles]
    if not emg_devices:
        raise MovekitError("no paired EMG channel has a muscle yet: the therapist sets it on the Devices page")
    roles = {ch: role for d in emg_devices for ch, role in d.roles.items()}
    mvc: dict[str, float] = {}
    for spec, x in record_emg(emg_devices, seconds, output).values():
        names = list(spec.channel_names or [])
        ref = mvc_reference(x, float(spec.rate_hz))
        mvc.update({roles[c]: round(float(v), 2) for c, v in zip(names, ref) if c in roles and np.isfinite(v)})
    if not mvc or min(mvc.values()) <= 0:
        raise MovekitError("the MVC recording had no usable signal; check the electrodes and record again")
    channels = {role: ch for ch, role in roles.items() if role in mvc}
    return store.add_mvc(client, mvc, channels=channels, duration_s=seconds, recording_path=output)


# ------------------------------------------------------------------------------------------ drills
def resolve_protocol(drill_id: str):
    """The :class:`~movekit.protocols.runner.Protocol` of a program item's ``drill_id``: a shipped
    drill, or ``protocols/<drill_id>.toml`` in the data folder."""
    from movekit.protocols.runner import load_protocol, shipped_drills

    if not drill_id or not _SAFE_ID.match(drill_id):
        raise MovekitError(f"drill id {drill_id!r} is not a drill name")
    if drill_id in shipped_drills():
        return load_protocol(drill_id)
    custom = data_dir() / "protocols" / f"{drill_id}.toml"
    if custom.is_file():
        return load_protocol(custom)
    raise MovekitError(f"no drill {drill_id!r}: not shipped and not in {custom.parent}")


def todays_items(store, client: str, today: _dt.date | None = None) -> list[dict]:
    """The client's home-program items active today, each with ``done_today`` (a log today)."""
    d = (today or _dt.date.today()).isoformat()
    done = {lg["item_id"] for lg in store.program_logs(client) if lg["log_date"] == d and lg["done"]}
    return [{**it, "done_today": it["id"] in done} for it in store.program_items(client, active_on=d)]


def readiness(protocol, devices: list[PairedDevice], mvc: dict | None) -> list[str]:
    """What is missing before ``protocol`` can run (plain words; empty: ready)."""
    roles = {r for d in devices for r in d.roles.values()}
    missing = [r for r in protocol.emg_channels if r not in roles]
    out = [f"no sensor is paired for {r}: ask your therapist" for r in missing]
    if protocol.emg_channels and not missing:
        have = (mvc or {}).get("mvc_uv", {})
        if any(r not in have for r in protocol.emg_channels):
            out.append("record your maximal contraction first (MVC step)")
    return out


@dataclass
class RunInfo:
    """What the drill page and the result page need of a run (besides the Drill)."""

    client: str
    item_id: int
    item_name: str
    recording: Path
    wav: Path
    started_utc: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))


class DrillRun:
    """One drill running server-side for the client's drill page (see the module docstring).

    ``phase``: connecting (devices starting), running (the drill's own ``control`` says ready,
    running or paused), saving, done, error. The pusher thread posts ``{"type": "state", ...}`` to
    ``hub`` every :data:`PUSH_EVERY_S`.
    """

    def __init__(self, drill, info: RunInfo, ble: list[str], hub, result_url: str) -> None:
        self.drill, self.info, self.ble, self.hub, self.result_url = drill, info, list(ble), hub, result_url
        self.phase = "connecting"
        self.error: str | None = None
        self.result = None
        self.said: list[dict] = []  #: speech events (text, start and end on the session clock)
        self.summaries: list[dict] = []  #: set_summary events (their ``say`` is the spoken summary)
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []

    def on_event(self, ev: dict) -> None:
        """The Drill's ``on_event`` (called in the feeding thread)."""
        if ev.get("kind") == "speech":
            self.said.append(ev)
        elif ev.get("kind") == "set_summary":
            self.summaries.append(ev)

    def start(self) -> DrillRun:
        """Start the drill's thread and the state pusher."""
        for target, name in ((self._run, "movekit-drill"), (self._push_loop, "movekit-drill-push")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def _run(self) -> None:
        try:
            self.phase = "running"
            res = self.drill.run_devices(self.info.recording, ble=self.ble)
            self.phase = "saving"
            self._write_wav(res.t_end_s)
            self.result = res
            self.phase = "done"
        except MovekitError as exc:
            self.error, self.phase = str(exc), "error"
        except Exception as exc:  # noqa: BLE001 (shown on the page; the traceback goes to the log)
            log.exception("drill run failed")
            self.error, self.phase = f"the drill stopped: {type(exc).__name__}: {exc}", "error"
        finally:
            self._done.set()
            self.hub.post(self.message())

    def _write_wav(self, t_end_s: float) -> None:
        from movekit.outputs import atomic_path

        audio = self.drill.audio
        if audio is None or audio.timeline is None:
            return
        with atomic_path(self.info.wav) as tmp:
            audio.write_wav(tmp, end_s=t_end_s + 1.0)

    def _push_loop(self) -> None:
        while not self._done.wait(PUSH_EVERY_S):
            self.hub.post(self.message())

    def control(self, action: str) -> dict | None:
        """start, pause, resume or stop (from a web handler)."""
        if action not in ("start", "pause", "resume", "stop"):
            raise MovekitError(f"unknown drill control {action!r}")
        return getattr(self.drill, action)()

    def message(self) -> dict:
        """The state message the drill page draws (``phase`` connecting while a device has not
        streamed yet; ``drill.devices`` each device's state)."""
        said = [{"text": s.get("text"), "t_s": s.get("t_s"), "t_end_s": s.get("t_end_s")} for s in self.said[-4:]]
        state = self.drill.state().as_dict()
        phase = self.phase
        waiting = (self.ble and not state["devices"]) or any(d["state"] == "connecting" for d in state["devices"])
        if phase == "running" and waiting:
            phase = "connecting"
        return {
            "type": "state",
            "phase": phase,
            "error": self.error,
            "drill": state,
            "said": said,
            "result_url": self.result_url if self.phase == "done" else None,
        }

    def wait(self, timeout_s: float | None = None) -> bool:
        return self._done.wait(timeout_s)

    def close(self) -> None:
        """Stop the drill and wait for its thread (the studio is shutting down)."""
        if not self._done.is_set():
            self.drill.stop()
            self._done.wait(10.0)


def new_run(
    protocol,
    info: RunInfo,
    devices: list[PairedDevice],
    mvc_uv: Mapping[str, float] | None,
    *,
    hub,
    db: Path | None,
    result_url: str,
    audio_factory: Callable[[], Any] | None = None,
    device_lost_after_s: float | None = None,
) -> DrillRun:
    """Make and start the :class:`DrillRun` of ``protocol`` on the paired EMG devices
    (``device_lost_after_s``: see :class:`movekit.protocols.drill.Drill`; None: its default)."""
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.drill import DEVICE_LOST_AFTER_S, Drill

    used = [d for d in devices if set(d.roles.values()) & set(protocol.emg_channels)]
    if protocol.emg_channels and not used:
        raise MovekitError("no paired sensor measures this drill's muscles: ask your therapist")
    roles = {ch: role for d in used for ch, role in d.roles.items()}
    audio = audio_factory() if audio_factory else CueAudio(play=True, wav=True)
    holder: dict[str, DrillRun] = {}
    drill = Drill(
        protocol,
        channel_roles=roles,
        mvc_uv=dict(mvc_uv) if mvc_uv else None,
        audio=audio,
        on_event=lambda ev: holder["run"].on_event(ev),
        client=info.client,
        db=db,
        autostart=False,
        device_lost_after_s=device_lost_after_s or DEVICE_LOST_AFTER_S,
    )
    run = DrillRun(drill, info, [d.spec for d in used], hub, result_url)
    holder["run"] = run
    return run.start()


__all__ = [
    "DrillRun",
    "PairedDevice",
    "RunInfo",
    "load_devices",
    "load_mvc",
    "new_run",
    "readiness",
    "record_mvc",
    "resolve_protocol",
    "save_device",
    "scan_devices",
    "test_signal",
    "todays_items",
]
