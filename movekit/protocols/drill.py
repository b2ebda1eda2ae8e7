"""A guided drill as a library object: what the CLI (``movekit drill``) and the studio both call.

:class:`Drill` takes plain typed arguments (a protocol, EMG channel roles, MVC values, a
:class:`~movekit.feedback.audio.CueAudio`, sources) and runs the drill

- on a recording or EMG files (:meth:`Drill.replay`: as fast as possible, the same events and
  cues a live run gave, the live run's start/pause/resume/stop controls applied),
- live inside a capture (:meth:`Drill.observer`: a :class:`movekit.capture.pipeline.CaptureObserver`
  for ``capture(observer=...)``; :meth:`Drill.run_capture` does that call), or
- live on devices only (:meth:`Drill.run_devices`: BLE EMG and/or EMG files played in real time).

Controls :meth:`Drill.start` (with ``autostart=False``), :meth:`Drill.pause`, :meth:`Drill.resume`,
:meth:`Drill.stop` may be called from any thread (a web handler); they are recorded as events, so
a replay reproduces them. :meth:`Drill.state` is a :class:`DrillState` for a screen: phase, set i
of n, reps, hold time and its remainder, countdown, the measured value against its target band,
the last cue and the last thing said, and live each BLE device's state (connecting, connected,
no signal, reconnecting, lost: :class:`DeviceTracker`, from the transport's events). A live drill
waits for its devices before it starts, pauses while one reconnects or sends nothing (saying so:
"Thigh sensor lost. Paused.", then "Thigh sensor back." and "Resuming." when it is back) and ends
when one is away for :data:`DEVICE_LOST_AFTER_S`. ``on_event`` gets every event as it happens.
When the drill ends the run is logged in the client's home program (``client`` and ``db``), once:
a replay of a recorded live run is checked against it and not logged again.

Sounds go through the one-voice scheduler (:mod:`movekit.feedback.schedule`): never two at once,
by priority, stale ones dropped, a spoken summary after every set and at the end.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from movekit.errors import MovekitError
from movekit.protocols.feeder import (
    DrillFeeder,
    EMGSourceSpec,
    LiveDrill,
    compare_cues,
    replay_feeder,
    stored_drill_settings,
)
from movekit.protocols.runner import Protocol, load_protocol

log = logging.getLogger(__name__)

__all__ = [
    "Drill",
    "DEVICE_LOST_AFTER_S",
    "DOWN_STATES",
    "DeviceState",
    "DeviceTracker",
    "DrillObserver",
    "DrillResult",
    "DrillState",
    "TargetBand",
    "check_channel_roles",
    "emg_files_recording",
    "mvc_from_file",
]


# ------------------------------------------------------------------------------------ value types
@dataclass(frozen=True)
class TargetBand:
    """One target condition as a screen shows it.

    Attributes
    ----------
    metric : str
        Metric name with its unit suffix (e.g. ``core_emg_pct_mvc``, ``left_knee_flexion_deg``).
    condition : str
        As written in the protocol, e.g. ``core_emg_pct_mvc in [10, 30]``.
    lo, hi : float
        The band in the metric's unit (``-inf``/``inf`` for a one-sided threshold).
    value : float
        Latest measured value (NaN before the first one).
    met : bool
        Whether the condition holds now (with its hysteresis while engaged).
    """

    metric: str
    condition: str
    op: str
    lo: float
    hi: float
    value: float
    met: bool


@dataclass(frozen=True)
class DeviceState:
    """One BLE device of a live drill as a screen shows it.

    Attributes
    ----------
    label : str
        The device's label (where it is worn, e.g. ``thigh``).
    state : str
        ``connecting`` (not streamed yet), ``connected``, ``no signal`` (the link is up but no
        sample came for :func:`~movekit.capture.ble.transport.silence_after_s`: a frozen sensor, a
        flat front-end battery), ``reconnecting`` (link lost, being retried) or ``lost`` (gave up:
        the drill ended).
    since_sample_s : float or None
        Seconds (session clock) since its last sample; None before the first.
    down_s : float or None
        Seconds it has been connecting, silent or reconnecting (None while connected).
    message : str
        The transport's last word about it (e.g. not found, retrying).
    """

    label: str
    state: str
    since_sample_s: float | None = None
    down_s: float | None = None
    message: str = ""


@dataclass(frozen=True)
class DrillState:
    """A snapshot of a running drill for a screen (all times in s on the session clock).

    ``control``: ready (waiting for start), running, paused, stopped (by :meth:`Drill.stop`) or
    done. ``mode``: init (no sample yet), step (an instruction or rest step), active (a set runs),
    rest (between sets), done. ``countdown_s``: time left in the instruction, the rest, or the set
    before its timeout. ``targets``: for a hold its target band(s), for reps the start and end
    thresholds. ``last_cue``: the last cue event (``id``, ``say``, ``t_s``...); ``last_said``: the
    last sound started (``text``, ``t_s``, ``source``). ``devices``: each BLE device's
    :class:`DeviceState` (empty without BLE devices); ``device_hold``: the drill is paused because
    a device is reconnecting or silent (it resumes by itself when the device is back);
    ``ended_by``: why a drill ended early (e.g. a device lost), else None.
    """

    control: str
    mode: str
    t_s: float
    drill: str
    title: str
    step: str | None = None
    step_kind: str | None = None
    phase: str | None = None
    step_index: int = 0
    step_count: int = 0
    set_index: int | None = None
    set_count: int | None = None
    rep_count: int | None = None
    reps_target: int | None = None
    hold_s: float | None = None
    hold_target_s: float | None = None
    hold_remaining_s: float | None = None
    countdown_s: float | None = None
    targets: tuple[TargetBand, ...] = ()
    last_cue: dict | None = None
    last_said: dict | None = None
    devices: tuple[DeviceState, ...] = ()
    device_hold: bool = False
    ended_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite numbers become None)."""

        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v

        return clean(asdict(self))


@dataclass
class DrillResult:
    """What a finished run gives back.

    Attributes
    ----------
    events : list of dict
        The drill runner's events on the session clock (what ``--log`` writes).
    all_events : list of dict
        Every event: the runner's, ``drill_control`` and ``speech``/``speech_dropped``.
    sets : list of dict
        The ``set_summary`` records.
    completed : bool
    notices : list of str
    replay_check : (bool, str) or None
        A replay of a recorded live run of the same drill: whether its cues came back exactly.
    program_log : movekit.clinic.program.DrillLog or None
        The home-program logging (None without a client).
    t_end_s : float
        Session time of the end (s).
    late_dropped : int
        Live: samples that arrived too late to be fed in time order.
    cue_latency_ms : dict or None
        Live: arrival-to-cue latency percentiles (p50, p95, n).
    ended_by : str or None
        Live: why the drill ended early (a BLE device lost), else None.
    """

    events: list[dict]
    all_events: list[dict]
    sets: list[dict]
    completed: bool
    notices: list[str] = field(default_factory=list)
    replay_check: tuple[bool, str] | None = None
    program_log: Any = None
    t_end_s: float = 0.0
    late_dropped: int = 0
    cue_latency_ms: dict | None = None
    ended_by: str | None = None


# ------------------------------------------------------------------------------------ helpers
def check_channel_roles(roles: dict[str, str], available: Sequence[str], where: str) -> None:
    """Every device channel NAME in ``roles`` (NAME -> role) must be an EMG channel of the sources.

    In place: a NAME given with its unit suffix (as in a CSV header like ``emg3_uv``) is matched
    without it. Raises :class:`MovekitError` naming the channels there are.
    """
    for name in list(roles):
        if name in available:
            continue
        bare = name.lower().removesuffix("_uv").removesuffix("_mv")
        if bare in available:
            roles[bare] = roles.pop(name)
            continue
        raise MovekitError(
            f"--channel {roles[name]}={name}: no EMG channel named {name!r} in {where} "
            f"(its channels: {', '.join(available) or 'none'})"
        )


def mvc_from_file(path: str | Path, roles: Mapping[str, str], rate_hz: float | None = None) -> dict[str, float]:
    """MVC reference amplitudes (uV) by role or channel name from an MVC trial (CSV/HDF5/recording)."""
    from movekit.analysis.emg import mvc_reference
    from movekit.emg_io import read_emg

    m = read_emg(path, rate_hz)
    ref = mvc_reference(m.data_uv, m.rate_hz)
    return {roles.get(c, c): float(v) for c, v in zip(m.channel_names, ref)}


def emg_files_recording(paths: Sequence[str | Path], rate_hz: float | None = None):
    """EMG files as an in-memory :class:`~movekit.recording.Recording` (one stream per file)."""
    from movekit.emg_io import read_emg
    from movekit.recording import Recording, Stream, StreamSpec

    streams = {}
    for i, p in enumerate(paths):
        s = read_emg(p, rate_hz)
        name = f"emg{i}" if len(paths) > 1 else "emg"
        spec = StreamSpec(name, (len(s.channel_names),), "uV", s.rate_hz, s.channel_names, kind="emg")
        streams[name] = Stream(spec, s.t_s, s.data_uv.astype(np.float32))
    return Recording(Path(paths[0]), {}, streams, [], [])


def _emg_channels(rec) -> list[str]:
    return [c for st in rec.streams.values() if st.spec.kind == "emg" for c in (st.spec.channel_names or ())]


# ------------------------------------------------------------------------------------ devices
#: A device still connecting, silent ("no signal"), or reconnecting after a drop, this long (s) is
#: lost and the drill ends. A movekit choice, not a clinical threshold: long enough for the
#: transport's backoff (0.2 s doubling to 5 s, :class:`movekit.capture.ble.transport.ReconnectPolicy`)
#: to retry several times, short enough that a client is not left waiting in front of a frozen screen.
DEVICE_LOST_AFTER_S = 30.0

#: The BLE transport's event kinds that change a device's state (``BleEvent.kind`` -> state).
_EVENT_STATE = {
    "device_connected": "connected",
    "device_reconnected": "connected",
    "device_stalled": "no signal",
    "device_resumed": "connected",
    "device_disconnected": "reconnecting",
    "device_gave_up": "lost",
}
#: The states in which a device is away: the drill waits (before it starts) or is paused.
DOWN_STATES = ("connecting", "no signal", "reconnecting")
#: What is said when a device goes away (``{sensor}``: "Thigh sensor"), and when it is back.
_SAY_DOWN = {"reconnecting": "{sensor} lost. Paused.", "no signal": "{sensor} has no signal. Paused."}
_SAY_BACK = "{sensor} back."


def _sensor(label: str) -> str:
    """How a device is named aloud: ``left_thigh`` -> ``Left thigh sensor``."""
    return f"{label.replace('_', ' ').strip().capitalize()} sensor"


class DeviceTracker:
    """Each BLE device's connection state, from the transport's events and samples (thread-safe).

    connecting -> connected (``device_connected`` or its first sample) -> no signal
    (``device_stalled``: connected, nothing sent) or reconnecting (``device_disconnected``) ->
    connected (``device_resumed``, ``device_reconnected`` or a sample) ...; lost at
    ``device_gave_up`` or after ``lost_after_s`` (s) in one of :data:`DOWN_STATES` (:meth:`check`).
    The transport itself is not changed: this only listens to its
    :class:`~movekit.capture.ble.transport.BleEvent` stream.
    """

    def __init__(self, labels: Sequence[str], lost_after_s: float = DEVICE_LOST_AFTER_S, t0_s: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.lost_after_s = float(lost_after_s)
        self._d = {lb: {"state": "connecting", "since_s": t0_s, "last_s": None, "message": ""} for lb in labels}

    def _set(self, d: dict, state: str, t_s: float, message: str) -> str | None:
        if state == d["state"] or d["state"] == "lost":
            return None
        d["state"], d["since_s"], d["message"] = state, float(t_s), message
        return state

    def on_event(self, ev) -> str | None:
        """Apply one ``BleEvent``; the device's new state when it changed, else None."""
        with self._lock:
            d = self._d.get(ev.device)
            if d is None:
                return None
            if ev.kind in ("device_not_found", "device_error") and d["state"] != "connected":
                d["message"] = ev.message
            new = _EVENT_STATE.get(ev.kind)
            if new is None or (new in ("reconnecting", "no signal") and d["state"] == "connecting"):
                return None
            return self._set(d, new, ev.t_s, "" if new == "connected" else ev.message)

    def on_sample(self, label: str, t_s: float) -> str | None:
        """A sample of ``label`` at session time ``t_s`` (s): connected, if it was not."""
        with self._lock:
            d = self._d.get(label)
            if d is None:
                return None
            d["last_s"] = float(t_s)
            return self._set(d, "connected", t_s, "") if d["state"] != "lost" else None

    def check(self, now_s: float) -> list[str]:
        """Devices that have been down (:data:`DOWN_STATES`) over ``lost_after_s`` by session time
        ``now_s``: marked lost, their labels returned (once)."""
        whats = {"connecting": "was not found", "no signal": "sent no signal", "reconnecting": "did not come back"}
        out = []
        with self._lock:
            for label, d in self._d.items():
                if d["state"] in DOWN_STATES and now_s - d["since_s"] > self.lost_after_s:
                    self._set(d, "lost", now_s, f"{whats[d['state']]} within {self.lost_after_s:g} s")
                    out.append(label)
        return out

    def labels_in(self, *states: str) -> list[str]:
        with self._lock:
            return [lb for lb, d in self._d.items() if d["state"] in states]

    def all_connected(self) -> bool:
        return not self.labels_in(*DOWN_STATES, "lost")

    def snapshot(self, now_s: float) -> tuple[DeviceState, ...]:
        """Every device's :class:`DeviceState` at session time ``now_s`` (s)."""

        def ago(t: float | None) -> float | None:
            return None if t is None or not math.isfinite(now_s) else round(max(0.0, now_s - t), 3)

        with self._lock:
            return tuple(
                DeviceState(
                    label,
                    d["state"],
                    ago(d["last_s"]),
                    ago(d["since_s"]) if d["state"] in DOWN_STATES else None,
                    d["message"],
                )
                for label, d in self._d.items()
            )


# ------------------------------------------------------------------------------------ the drill
class Drill:
    """A guided drill (see the module docstring).

    Parameters
    ----------
    protocol : Protocol, or a shipped drill name / .toml path
    side : {"left", "right"}, optional
        Fills the protocol's ``{side}`` when it is given by name.
    channel_roles : mapping, optional
        Device EMG channel name -> role the protocol uses (``vmo``, ``vl``, ``core``).
    mvc_uv : mapping, optional
        MVC reference (uV) by role, for ``%MVC`` metrics.
    audio : CueAudio, optional
        Where sounds go (device and/or WAV timeline); None = silent.
    on_event : callable, optional
        Called with every event dict as it happens (from the thread that feeds the drill).
    on_notice : callable, optional
        Called with one-line notices (inactive cues, late samples); default: ``logging``.
    client : str, optional
        Log the run in this client's home program when it ends (if the drill is assigned).
    db : path, optional
        The clinic database for ``client`` (default: the store's default).
    autostart : bool
        Live: run from the first frame (default); False: frames are recorded but the drill waits
        for :meth:`start`. With BLE devices the drill starts (by itself or by :meth:`start`) only
        once every device streams.
    device_lost_after_s : float
        Live with BLE devices: a device connecting or reconnecting this long (s) is lost and the
        drill ends (:data:`DEVICE_LOST_AFTER_S`).

    While a device reconnects the drill is paused (its holds, rests and timeouts stop counting:
    the runner's pause, recorded as a ``drill_control`` event so a replay does the same) and it
    resumes by itself at the reconnection, unless the client had paused it first. A rep in
    progress stays in progress: samples missing in the gap are simply not there.
    """

    def __init__(
        self,
        protocol: Protocol | str | Path,
        *,
        side: str | None = None,
        channel_roles: Mapping[str, str] | None = None,
        mvc_uv: Mapping[str, float] | None = None,
        audio=None,
        on_event: Callable[[dict], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        client: str | None = None,
        db: str | Path | None = None,
        autostart: bool = True,
        emg_config=None,
        device_lost_after_s: float = DEVICE_LOST_AFTER_S,
    ) -> None:
        self.protocol = protocol if isinstance(protocol, Protocol) else load_protocol(protocol, side=side)
        self.channel_roles = dict(channel_roles or {})
        self.mvc_uv = dict(mvc_uv) if mvc_uv else None
        self.audio, self.user_on_event = audio, on_event
        self.on_notice = on_notice or (lambda msg: log.info("%s", msg))
        self.client, self.db, self.autostart, self.emg_config = client, db, autostart, emg_config
        self.notices: list[str] = []
        self.last_cue: dict | None = None
        self.session: LiveDrill | None = None
        self.feeder: DrillFeeder | None = None
        self._stop_requested = False
        self._lock = threading.RLock()
        self.device_lost_after_s = float(device_lost_after_s)
        self.tracker: DeviceTracker | None = None
        self._clock: Callable[[], float] | None = None
        self._device_paused = False  # paused by a device drop (resumed when it is back)
        self._pending_start = False  # autostart waiting for the devices
        self.ended_by: str | None = None

    # -- events, notices -----------------------------------------------------------------
    def _on_event(self, ev: dict) -> None:
        if ev.get("kind") == "cue":
            self.last_cue = ev
        if self.user_on_event is not None:
            self.user_on_event(ev)

    def notice(self, msg: str) -> None:
        self.notices.append(msg)
        self.on_notice(msg)

    # -- controls ------------------------------------------------------------------------
    def _control(self, action: str) -> dict | None:
        with self._lock:
            if action == "stop":
                self._stop_requested = True
            if self.session is not None:
                return self.session.control(action)
            return None

    def start(self) -> dict | None:
        """Start a drill made with ``autostart=False`` (live); the control event, or None (not
        startable now, e.g. a device is not connected yet: a notice says which)."""
        waiting = self.tracker.labels_in(*DOWN_STATES) if self.tracker else []
        if waiting:
            self.notice(f"waiting for {', '.join(waiting)} to connect and stream before starting")
            return None
        return self._control("start")

    def pause(self) -> dict | None:
        """Pause (live): holds, rests and timeouts stop counting; "Paused." is said."""
        with self._lock:
            ev = self._control("pause")
            if ev is not None:
                self._device_paused = False  # the client's own pause: it stays paused
            return ev

    def resume(self) -> dict | None:
        """Resume a paused drill (live); None while a device is reconnecting or silent."""
        down = self.tracker.labels_in("reconnecting", "no signal") if self.tracker else []
        if down:
            self.notice(f"{', '.join(down)} is away: the drill goes on when it is back")
            return None
        return self._control("resume")

    def stop(self) -> dict | None:
        """Stop: the current set is summarised, the drill ends (and the live capture with it)."""
        return self._control("stop")

    @property
    def finished(self) -> bool:
        f = self.feeder
        return f is not None and f.state in ("stopped", "done")

    def state(self) -> DrillState:
        """A :class:`DrillState` snapshot (thread-safe)."""
        with self._lock:
            if self.session is not None:
                snap = self.session.snapshot()
            elif self.feeder is not None:
                snap = self.feeder.snapshot()
            else:
                snap = {"control": "ready" if not self.autostart else "running", "mode": "init", "t_s": math.nan}
                snap["step_count"] = len(self.protocol.steps)
            if self.tracker is not None:
                snap["devices"] = self.tracker.snapshot(self._clock() if self._clock else math.nan)
            snap["device_hold"], snap["ended_by"] = self._device_paused, self.ended_by
        return _state(self.protocol, snap, self.last_cue)

    # -- devices -------------------------------------------------------------------------
    def watch_devices(self, labels: Sequence[str], clock: Callable[[], float]) -> None:
        """Follow the BLE devices ``labels`` on the session ``clock`` (called by the observer)."""
        with self._lock:
            self._clock = clock
            self.tracker = DeviceTracker(labels, self.device_lost_after_s, clock())
            self._pending_start = self.autostart and bool(labels)
        if self.audio is not None:  # synthesised now, not when the sensor drops
            for label in labels:
                for text in [*_SAY_DOWN.values(), _SAY_BACK]:
                    self.audio.prepare(say=text.format(sensor=_sensor(label)))

    def on_ble_event(self, ev) -> None:
        """A :class:`~movekit.capture.ble.transport.BleEvent` (BLE thread)."""
        if self.tracker is not None:
            new = self.tracker.on_event(ev)
            if new is not None:
                self._device_changed(ev.device, new, float(ev.t_s))

    def on_ble_sample(self, label: str, t_s: float) -> None:
        """The last sample time (s) of a chunk of device ``label`` (BLE thread)."""
        if self.tracker is not None:
            new = self.tracker.on_sample(label, t_s)
            if new is not None:
                self._device_changed(label, new, t_s)

    def _device_changed(self, label: str, new: str, t_s: float) -> None:
        """React to device ``label`` entering state ``new`` at session time ``t_s`` (s)."""
        with self._lock:
            if new in ("reconnecting", "no signal"):
                self._device_down(label, new, t_s)
            elif new == "connected" and self._device_paused and self.session is not None:
                self._device_back(label, t_s)
            elif new == "lost":
                why = next((d.message for d in self.tracker.snapshot(t_s) if d.label == label), "")
                self.ended_by = f"{label} sensor lost ({why or 'gave up'}): the drill ended"
                self.notice(self.ended_by)
                self._control("stop")

    def _device_down(self, label: str, state: str, t_s: float) -> None:
        """A device dropped its link or went silent: pause a running drill, saying why.

        The pause takes effect just after the last sample fed (the gap is not counted); what is
        said is asked for at ``t_s``, when the drop was noticed. Both are recorded in the control
        event, so a replay pauses and speaks the same.
        """
        s = self.session
        self.notice(f"{label} sensor {'lost: reconnecting' if state == 'reconnecting' else 'has no signal'}")
        if s is None or s.feeder.state != "running":
            return
        say = [_SAY_DOWN[state].format(sensor=_sensor(label))]
        fields = {"cause": "device", "device": label, "device_state": state, "say": say, "cue_t_s": float(t_s)}
        if s.control("pause", **fields) is not None:
            self._device_paused = True

    def _device_back(self, label: str, t_s: float) -> None:
        """A device streams again: resume the drill it paused once no device is away."""
        if self.tracker.labels_in("reconnecting", "no signal"):
            return
        s = self.session
        with s._lock:  # the same lock the samples are fed under
            f = s.feeder
            if f.state == "paused":  # resumed at the reconnection: the gap is not counted
                say = [_SAY_BACK.format(sensor=_sensor(label)), "Resuming."]
                fields = {"cause": "device", "device": label, "device_state": "connected", "say": say}
                f.control("resume", max(f.control_time(), t_s), **fields)
        self._device_paused = False
        self.notice(f"{label} sensor back: the drill goes on")

    def tick(self, now_s: float) -> None:
        """Live housekeeping (s, session clock): devices lost by timeout end the drill; an
        autostart drill starts once every device streams."""
        tr = self.tracker
        if tr is None:
            return
        for label in tr.check(now_s):
            self._device_changed(label, "lost", now_s)
        if self._pending_start and tr.all_connected() and self.session is not None:
            self._pending_start = False
            self._control("start")

    # -- replay --------------------------------------------------------------------------
    @classmethod
    def for_recording(
        cls,
        rec,
        protocol: str | Path,
        *,
        side: str | None = None,
        channel_roles: Mapping[str, str] | None = None,
        mvc_uv: Mapping[str, float] | None = None,
        **kwargs,
    ) -> Drill:
        """A drill to replay ``rec``, with the side, MVC and channel roles its live run stored
        where not given (explicit arguments win)."""
        stored = stored_drill_settings(rec)
        roles = dict(channel_roles or {})
        check_channel_roles(roles, _emg_channels(rec), str(rec.path))
        if mvc_uv is None and stored.get("mvc_uv"):
            mvc_uv = {k: float(v) for k, v in stored["mvc_uv"].items()}
        if not roles and stored.get("emg_channels"):
            for sname, names in stored["emg_channels"].items():
                s = rec.streams.get(sname)
                if s is not None and s.spec.channel_names:
                    roles.update({d: r for d, r in zip(s.spec.channel_names, names)})
        side = side or stored.get("side")
        return cls(protocol, side=side, channel_roles=roles, mvc_uv=mvc_uv, **kwargs)

    def replay(self, rec) -> DrillResult:
        """Run on a recording (or :func:`emg_files_recording`) as fast as possible.

        A recording of this drill's own live run (same drill and side in its metadata) is checked
        against it (``replay_check``) and not logged to the home program again.
        """
        p = self.protocol
        self.feeder = replay_feeder(
            rec,
            p,
            self.mvc_uv,
            self.channel_roles,
            audio=self.audio,
            on_event=self._on_event,
            emg_config=self.emg_config,
            should_stop=lambda: self._stop_requested,
        )
        for n in self.feeder.runner.notices:
            self.notice(n)
        stored = stored_drill_settings(rec)
        res = self._result()
        if stored.get("drill") == p.name and stored.get("side") == p.side:
            res.replay_check = compare_cues(res.events, rec.events)
        else:
            res.program_log = self._log_program(res.sets)
        return res

    # -- live ----------------------------------------------------------------------------
    def observer(self, emg: Sequence[Any] = (), pose: bool = True) -> DrillObserver:
        """A capture observer running this drill (``capture(observer=..., ble_options={"on_chunk":
        obs.on_chunk})``). ``emg``: EMG signals (:func:`movekit.emg_io.read_emg`) played in real time."""
        return DrillObserver(self, list(emg), pose)

    def run_capture(
        self, source: str, output: str | Path, *, emg: Sequence[Any] = (), ble: Sequence[str] = (), **capture_options
    ) -> DrillResult:
        """Live on a webcam index or video file through :func:`movekit.capture.pipeline.capture`
        (pose), with BLE devices and EMG files; ``capture_options`` go to ``capture``."""
        from movekit.capture.pipeline import capture

        obs = self.observer(emg, pose=True)
        if not ble:
            obs.check()
        meta = dict(capture_options.pop("metadata", None) or {})
        meta.setdefault("drill", self.protocol.name)
        capture(
            source,
            output,
            metadata=meta,
            keys=False,
            ble=list(ble),
            ble_options={"on_chunk": obs.on_chunk, "on_event": obs.on_ble_event},
            observer=obs,
            realtime=True,
            **capture_options,
        )
        return self.finish(obs.t_now_s)

    def run_devices(
        self,
        output: str | Path,
        *,
        emg: Sequence[Any] = (),
        ble: Sequence[str] = (),
        duration_s: float | None = None,
        overwrite: bool = False,
        lsl=None,
        metadata: Mapping[str, Any] | None = None,
    ) -> DrillResult:
        """Live without a camera: BLE EMG devices (``ADDRESS:PROFILE[@LABEL]``) and/or EMG signals
        played in real time, recorded to ``output``; ends with the drill, the files, ``duration_s``,
        :meth:`stop` or Ctrl-C."""
        from movekit.capture.clock import SessionClock
        from movekit.recording import RecordingWriter

        obs = self.observer(emg, pose=False)
        if not ble:
            obs.check()
        clock = SessionClock()
        meta = dict(metadata or {})
        meta.setdefault("drill", self.protocol.name)
        with RecordingWriter(output, meta, overwrite=overwrite) as writer:
            if lsl is not None:  # devices, EMG and cues go out through the writer
                lsl.anchor(clock.now())
                writer = lsl.tee(writer)
            recorder = None
            if ble:
                from movekit.capture.ble.transport import BleRecorder

                recorder = BleRecorder(list(ble), writer, clock=clock, on_chunk=obs.on_chunk, on_event=obs.on_ble_event)
            obs.start(writer, clock, recorder)
            if recorder is not None:
                recorder.start()
            try:
                _device_loop(obs, clock, duration_s)
            except KeyboardInterrupt:
                self.notice("drill stopped")
            finally:
                if recorder is not None:
                    recorder.stop()
                obs.stop(obs.t_now_s)
        return self.finish(obs.t_now_s)

    def finish(self, t_end_s: float) -> DrillResult:
        """After a live run: the :class:`DrillResult`, logged to the home program."""
        res = self._result(t_end_s)
        res.program_log = self._log_program(res.sets)
        return res

    def _result(self, t_end_s: float | None = None) -> DrillResult:
        f = self.feeder
        if f is None:
            raise MovekitError("the drill has not run")
        s = self.session
        lat = None
        if s is not None and s.latencies_s:
            ms = np.array(s.latencies_s) * 1e3
            lat = {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "n": len(ms)}
        ends = [e for e in f.runner.events if e["kind"] == "drill_end"]
        t_end = t_end_s if t_end_s is not None else (ends[-1]["t_s"] if ends else f.t_seen_s)
        return DrillResult(
            events=f.runner.events,
            all_events=f.events,
            sets=list(f.runner.sets),
            completed=bool(ends and ends[-1].get("completed")),
            notices=list(self.notices),
            t_end_s=float(t_end) if math.isfinite(t_end) else 0.0,
            late_dropped=s.late_dropped if s is not None else 0,
            cue_latency_ms=lat,
            ended_by=self.ended_by,
        )

    def _log_program(self, sets: list[dict]):
        if not self.client:
            return None
        from movekit.clinic.program import log_drill_run
        from movekit.clinic.store import Store

        if not sets:
            return log_drill_run(None, self.client, self.protocol.name, sets)
        with Store(self.db) as store:
            return log_drill_run(store, self.client, self.protocol.name, sets)


def _device_loop(obs: DrillObserver, clock, duration_s: float | None) -> None:
    """Pump EMG files in real time until they end, the drill ends, ``duration_s`` or a stop."""
    end = max([float(s.t_s[-1]) for s in obs.emg], default=np.inf)
    t_now = 0.0
    while t_now < end and not obs.drill.finished:
        time.sleep(0.01)
        t_now = clock.now()
        if duration_s and t_now > duration_s:
            break
        obs.t_now_s = t_now
        obs.drill.tick(t_now)
        obs.pump_files(t_now)


def _state(protocol: Protocol, snap: Mapping[str, Any], last_cue: dict | None) -> DrillState:
    bands = tuple(TargetBand(**b) for b in snap.get("targets", ()))
    return DrillState(
        control=snap["control"],
        mode=snap["mode"],
        t_s=float(snap["t_s"]),
        drill=protocol.name,
        title=protocol.title,
        step=snap.get("step"),
        step_kind=snap.get("step_kind"),
        phase=snap.get("phase"),
        step_index=int(snap.get("step_index") or 0),
        step_count=int(snap.get("step_count") or len(protocol.steps)),
        set_index=snap.get("set"),
        set_count=snap.get("set_count"),
        rep_count=snap.get("reps"),
        reps_target=snap.get("reps_target"),
        hold_s=snap.get("hold_s"),
        hold_target_s=snap.get("hold_target_s"),
        hold_remaining_s=snap.get("hold_remaining_s"),
        countdown_s=snap.get("countdown_s"),
        targets=bands,
        last_cue=last_cue,
        last_said=snap.get("last_said"),
        devices=tuple(snap.get("devices", ())),
        device_hold=bool(snap.get("device_hold")),
        ended_by=snap.get("ended_by"),
    )


# ------------------------------------------------------------------------------------ live observer
class DrillObserver:
    """A :class:`Drill` inside a capture (:class:`movekit.capture.pipeline.CaptureObserver`): pose
    frames from the capture, EMG from BLE devices (``on_chunk``) or from files played in real time.

    Protocol: ``start(writer, clock, ble)``, ``frame(t_s, estimate) -> bool`` (True: the drill has
    ended, stop the capture), ``stop(t_s)``.
    """

    def __init__(self, drill: Drill, emg: list, pose: bool) -> None:
        self.drill, self.emg, self.pose = drill, emg, pose
        roles = drill.channel_roles
        self.specs = [
            EMGSourceSpec(f"emgfile{i}", s.rate_hz, [roles.get(c, c) for c in s.channel_names], s.channel_names)
            for i, s in enumerate(emg)
        ]
        self.session: LiveDrill | None = None
        self.writer = None
        self.ble_index: dict[str, int] = {}
        self.pos = [0] * len(emg)
        self.order: list[str] = []
        self.t_now_s = 0.0

    def check(self) -> None:
        """Before anything is recorded: MovekitError when a step of the drill cannot be measured
        from these sources (not with BLE devices, whose streams are known only once connected)."""
        d = self.drill
        LiveDrill(d.protocol, list(self.specs), pose=self.pose, mvc_uv=d.mvc_uv, emg_config=d.emg_config)

    def on_chunk(self, ch) -> None:  # BLE thread
        k = self.ble_index.get(ch.stream)
        if k is not None and self.session is not None:
            self.session.push_emg(k, ch.t_s, ch.data)
        if len(ch.t_s):
            self.drill.on_ble_sample(ch.device, float(ch.t_s[-1]))

    def on_ble_event(self, ev) -> None:  # BLE thread
        self.drill.on_ble_event(ev)

    def start(self, writer, clock, ble) -> None:
        from movekit.recording import StreamSpec

        d = self.drill
        self.writer = writer
        writer.update_metadata(drill=d.protocol.name)
        for sp in ble.stream_specs() if ble is not None else []:
            if sp.kind == "emg":
                chans = sp.channel_names or tuple(f"ch{i}" for i in range(sp.shape[0]))
                roles = [d.channel_roles.get(c, c) for c in chans]
                self.specs.append(EMGSourceSpec(sp.name, float(sp.rate_hz), roles, chans))
        labels = sorted({sp.attrs.get("device", sp.name) for sp in ble.stream_specs()}) if ble is not None else []
        if labels:  # the drill waits for its devices (tick starts an autostart drill)
            d.watch_devices(labels, clock)
        video = getattr(writer, "meta", {}).get("video") or {}  # the camera's size, as a replay reads it
        session = LiveDrill(
            d.protocol,
            self.specs,
            pose=self.pose,
            frame_size_px=(int(video.get("width_px", 0)), int(video.get("height_px", 0))),
            mvc_uv=d.mvc_uv,
            writer=writer,
            audio=d.audio,
            on_event=d._on_event,
            emg_config=d.emg_config,
            record_emg=False,
            autostart=d.autostart and not labels,
        )
        self.order = [sp.stream for sp in session.emg]
        for sp in session.emg:  # file streams are recorded here; BLE streams by the BleRecorder
            if sp.stream.startswith("emgfile"):
                chans = tuple(sp.device_channel_names)
                writer.add_stream(StreamSpec(sp.stream, (len(chans),), "uV", sp.rate_hz, chans, kind="emg"))
            else:
                self.ble_index[sp.stream] = self.order.index(sp.stream)
        for n in session.runner.notices:
            d.notice(n)
        with d._lock:
            d.session, d.feeder = session, session.feeder
            self.session = session
            if d._stop_requested:
                session.control("stop")

    def pump_files(self, until_s: float) -> None:
        """Feed the EMG file samples up to session time ``until_s`` (s)."""
        for i, s in enumerate(self.emg):
            k = self.order.index(f"emgfile{i}")
            j = int(np.searchsorted(s.t_s, until_s, side="right"))
            if j > self.pos[i]:
                x32 = s.data_uv[self.pos[i] : j].astype(np.float32)
                self.writer.append(f"emgfile{i}", s.t_s[self.pos[i] : j], x32)
                self.session.push_emg(k, s.t_s[self.pos[i] : j], x32)
                self.pos[i] = j
                if j >= len(s.t_s):
                    self.session.finish_source(k)

    def frame(self, t_s: float, est) -> bool:
        self.t_now_s = t_s
        self.drill.tick(t_s)
        self.pump_files(t_s)
        self.session.push_pose(t_s, est.image_px, est.visibility)
        return self.drill.finished

    def stop(self, t_s: float) -> None:
        s = self.session
        if s is None:
            return
        self.t_now_s = max(self.t_now_s, t_s) if t_s == t_s else self.t_now_s
        s.close(self.t_now_s)
        if self.drill.audio is not None:
            self.drill.audio.close()
        if s.late_dropped:
            self.drill.notice(
                f"{s.late_dropped} samples arrived too late to feed in time order "
                "(a device stalled); a replay may differ there"
            )
        if s.latencies_s:
            lat = np.array(s.latencies_s) * 1e3
            self.writer.update_metadata(
                drill_cue_latency_ms={
                    "p50": float(np.percentile(lat, 50)),
                    "p95": float(np.percentile(lat, 95)),
                    "n": len(lat),
                }
            )
