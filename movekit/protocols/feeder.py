"""Running a drill live (samples pushed as they arrive) or on a recording, with audio and logging.

Live: :class:`LiveDrill` takes raw EMG chunks and pose frames from the capture code, writes them
to a recording, turns them into metrics, releases them in time order (watermark over sources) to a
:class:`~movekit.protocols.runner.DrillRunner`, writes every drill event (cues included) into the
recording with ``writer.event`` and plays cues. Replay: :func:`replay_feeder` reads a recording's raw
streams, recomputes the same metrics and feeds them in the same order, so it issues the same cues
at the same times; :func:`compare_cues` checks that against the cues the live run stored.

Both go through one :class:`DrillFeeder`: start/pause/resume/stop controls (recorded as
``drill_control`` events and re-applied on replay), the runner, and the sounds: every event is
voiced by :func:`sound_policy` through the one-voice scheduler of the audio output, whose
decisions come back as ``speech`` / ``speech_dropped`` events. The library object the CLI and the
studio use is :class:`movekit.protocols.drill.Drill`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from movekit.errors import MovekitError
from movekit.protocols.metrics import EMGMetrics, PoseMetrics, TimeOrderedMerger, recording_samples
from movekit.protocols.runner import DrillRunner, Protocol

#: Priorities of drill sounds for the one-voice scheduler (:mod:`movekit.feedback.schedule`):
#: the drill's structure (instructions, set progress, holds, summaries) first, in the order it
#: happens; then rep counts; then cue rules (``10 + rule priority``).
PRIORITY_DEVICE = 95  #: a sensor lost / silent / back: outranks everything else that waits
PRIORITY_STRUCTURE = 90
PRIORITY_COUNT = 50
PRIORITY_CUE_BASE = 10

#: Longest delays (s) after which a waiting sound is dropped instead of said late. A corrective
#: cue or a count refers to the movement of that moment; sound feedback reads as caused by the
#: movement only when close in time (Maki-Patola & Hamalainen 2004: 20-30 ms noticed, ~100 ms
#: tolerated), so these bounds are movekit choices that keep a cue relevant, not clinical
#: thresholds. Instructions, set progress and summaries are never dropped.
MAX_WAIT_CUE_S = 1.5
MAX_WAIT_CONFIRM_S = 1.0
MAX_WAIT_COUNT_S = 1.0
MAX_WAIT_HOLD_S = 3.0

_STRUCTURE = ("step_start", "set_start", "hold_complete", "rest_start", "set_summary", "drill_end")


def runner_for(protocol: Protocol, names: list[str], pose_notice: str | None) -> DrillRunner:
    """A :class:`DrillRunner` on the metrics ``names`` the sources give; ``pose_notice`` (the camera
    angles one camera cannot give, :func:`movekit.protocols.metrics.camera_angles_shown`) comes
    first among its notices, and ends the error of a step none of whose options can be measured."""
    try:
        runner = DrillRunner(protocol, available=names)
    except MovekitError as exc:
        raise MovekitError(f"{exc}. {pose_notice[:1].upper()}{pose_notice[1:]}" if pose_notice else str(exc)) from None
    if pose_notice:
        runner.notices.insert(0, pose_notice)
    return runner


def sound_policy(ev: Mapping) -> dict | None:
    """How a runner event is voiced: ``priority``, ``group``, ``max_wait_s`` (None: silent).

    Rules: structure events (:data:`_STRUCTURE`) at :data:`PRIORITY_STRUCTURE`, never stale, in
    the order they happen; "Hold." likewise but dropped when it could start only more than
    :data:`MAX_WAIT_HOLD_S` late, or once the hold broke or the set ended (group ``hold``); rep
    counts at :data:`PRIORITY_COUNT`, a newer count replacing a waiting one (group ``count``);
    cue rules at ``PRIORITY_CUE_BASE + priority``, a newer cue of the same rule replacing a
    waiting one.
    """
    kind = ev.get("kind")
    if kind in _STRUCTURE:
        return {"priority": PRIORITY_STRUCTURE, "group": None, "max_wait_s": math.inf}
    if kind == "hold_start":
        return {"priority": PRIORITY_STRUCTURE, "group": "hold", "max_wait_s": MAX_WAIT_HOLD_S}
    if kind == "rep":
        return {"priority": PRIORITY_COUNT, "group": "count", "max_wait_s": MAX_WAIT_COUNT_S}
    if kind == "cue":
        wait = MAX_WAIT_CONFIRM_S if ev.get("cue_kind") == "confirm" else MAX_WAIT_CUE_S
        prio = PRIORITY_CUE_BASE + int(ev.get("priority") or 0)
        return {"priority": prio, "group": f"cue:{ev.get('id')}", "max_wait_s": wait}
    return None


def play_event(audio, ev: Mapping, live: bool = True) -> list:
    """Queue one runner event's sound on a :class:`~movekit.feedback.audio.CueAudio` (see
    :func:`sound_policy`); returns the scheduler's placements decided meanwhile. The caller
    calls ``audio.advance(t)`` once all events of an instant are queued."""
    if audio is None:
        return []
    out = []
    if ev.get("kind") in ("hold_break", "set_summary"):
        out = audio.cancel("hold", ev["t_s"], reason=f"{ev['kind'].replace('_', ' ')} before it was said")
    policy = sound_policy(ev)
    if policy is None:
        return out
    say, tone_hz = ev.get("say"), float(ev.get("tone_hz") or 0.0)
    kind = ev.get("cue_kind") or "prompt"
    if not say and not tone_hz and kind != "confirm":
        return out
    source = ev.get("id") or ev["kind"]
    tone_s = float(ev.get("tone_s") or 0.15)
    return out + audio.request(ev["t_s"], say, tone_hz, tone_s, kind, source=source, live=live, **policy)


def prepare_audio(audio, protocol: Protocol) -> None:
    """Synthesise every phrase and tone of a drill before it starts (no speech delay mid-drill).

    Set and drill summaries hold the numbers reached and are synthesised when said (espeak-ng,
    ~0.1-0.3 s once, at the end of a set).
    """
    if audio is None:
        return
    for text in [*protocol.sayings(), "Paused.", "Resuming.", "Stopped."]:
        audio.prepare(say=text)
    for c in protocol.cues:
        audio.prepare(say=c.say, tone_hz=c.tone_hz, tone_s=c.tone_s, kind=c.kind)
    audio.prepare(kind="confirm")
    audio.prepare(say="Well done.", kind="confirm")  # hold_complete


# ------------------------------------------------------------------------------ controls and feeding
CONTROL_EVENT = "drill_control"  #: recorded kind of start/pause/resume/stop (replayed as such)
_CONTROL_SAY = {"pause": "Paused.", "resume": "Resuming."}
#: Fields a control event may carry beyond its action and time, re-applied on replay: ``cause``
#: (``device`` for a pause or resume the drill made itself), ``device`` and ``device_state``,
#: ``say`` (the phrases said, in order, instead of "Paused." / "Resuming.") and ``cue_t_s`` (when
#: they were asked for, s: the moment the drop was noticed, after the control's own time).
CONTROL_FIELDS = ("cause", "device", "device_state", "say", "cue_t_s")


def control_fields(ev: Mapping) -> dict:
    """The :data:`CONTROL_FIELDS` a recorded control event holds (to apply it again on replay)."""
    return {k: ev[k] for k in CONTROL_FIELDS if ev.get(k) is not None}


class DrillFeeder:
    """Feeds time-ordered metric samples to a :class:`DrillRunner` under start/pause/resume/stop.

    The same object runs live (:class:`LiveDrill`) and on replay (:func:`replay_feeder`), so
    both see the same samples, controls and sounds in the same order.

    Controls take effect at a session time ``t`` (s): a sample at a later time is fed only while
    the drill runs. Paused time does not count: the runner sees session time minus the time spent
    paused (holds, rests and timeouts stop), and its events are stamped back on the session clock.
    A control is an event ``{"kind": "drill_control", "action": ..., "t_s": ...}``; a replay
    applies the recorded ones, so it gives the live run's events.

    Parameters
    ----------
    runner : DrillRunner
    audio : CueAudio, optional
    on_event : callable, optional
        Called with every event: the runner's, controls, and ``speech`` / ``speech_dropped``
        records of the sound scheduler.
    live : bool
        Sounds go to the sound device too (not only the WAV timeline).
    autostart : bool
        Run from the first sample; False: wait for a ``start`` control.
    """

    def __init__(self, runner: DrillRunner, audio=None, on_event=None, live: bool = True, autostart: bool = True):
        self.runner, self.audio, self.on_event, self.live = runner, audio, on_event, live
        self.state = "running" if autostart else "ready"  # ready, running, paused, stopped, done
        self.offset_s = 0.0  # session time minus runner time (time spent paused, s)
        self._t_paused = math.nan
        self.t_seen_s = -math.inf  # latest sample time seen (fed or not)
        self.events: list[dict] = []
        self.last_said: dict | None = None

    # -- controls ------------------------------------------------------------------------
    def control(self, action: str, t_s: float, **fields) -> dict | None:
        """Apply ``action`` (start, pause, resume, stop) at session time ``t_s``; the control event,
        or None when it does not apply in the current state.

        ``fields`` (:data:`CONTROL_FIELDS`) are recorded with it; ``say`` replaces the usual
        "Paused." / "Resuming." (said from ``cue_t_s`` if given, else from ``t_s``). With ``cause``
        ``device`` they are said at :data:`PRIORITY_DEVICE` and the first phrase (the device's
        news: lost, no signal, back) replaces that device's earlier one if it is still waiting.
        """
        allowed = {"start": ("ready",), "pause": ("running",), "resume": ("paused",)}
        allowed["stop"] = ("ready", "running", "paused")
        if self.state not in allowed.get(action, ()):
            return None
        unknown = set(fields) - set(CONTROL_FIELDS)
        if unknown:
            raise MovekitError(f"drill control {action}: unknown field(s) {', '.join(sorted(unknown))}")
        t = float(t_s)
        ev = self._out({"t_s": t, "kind": CONTROL_EVENT, "action": action, **fields})
        if action == "start":
            self.state = "running"
        elif action == "pause":
            self.state, self._t_paused = "paused", t
        elif action == "resume":
            self.offset_s += t - self._t_paused
            self.state = "running"
        self._say_control(action, t, fields)
        if action == "stop":
            self._stop(t)
        return ev

    def _say_control(self, action: str, t: float, fields: Mapping) -> None:
        """Queue what a control says (see :meth:`control`) and start what is due."""
        say = list(fields.get("say") or ([_CONTROL_SAY[action]] if action in _CONTROL_SAY else []))
        if self.audio is None or not say:
            return
        t_cue = max(t, float(fields.get("cue_t_s", t)))
        device = fields.get("cause") == "device"
        prio, source = (PRIORITY_DEVICE, f"device_{action}") if device else (PRIORITY_STRUCTURE, action)
        for i, text in enumerate(say):
            # the device's own phrase (the first) supersedes its previous one still waiting: a
            # sensor back before "lost" could be said is only said to be back
            group = f"device:{fields.get('device')}" if device and i == 0 else None
            self._placed(self.audio.request(t_cue, text, priority=prio, group=group, source=source, live=self.live))
        self._placed(self.audio.advance(t_cue))

    def _stop(self, t: float) -> None:
        t_run = t - self.offset_s if self.state != "paused" else self._t_paused - self.offset_s
        self.state = "stopped"
        if self.runner._mode != "init":
            self._run_events(self.runner.finish(max(t_run, self.runner.t_last_s), "the drill was stopped"))

    # -- samples -------------------------------------------------------------------------
    def feed(self, t_s: float, metrics: Mapping[str, float], on_cue=None) -> list[dict]:
        """One sample at session time ``t_s``; the events it produced (on the session clock)."""
        self.t_seen_s = max(self.t_seen_s, float(t_s))
        out: list[dict] = []
        if self.state == "running":
            out = self.runner.feed(t_s - self.offset_s, metrics)
            if on_cue is not None and any(e["kind"] == "cue" for e in out):
                on_cue()
            self._run_events(out)
            if self.runner.done:
                self.state = "done"
        self.advance_audio(t_s)
        return out

    def control_time(self) -> float:
        """When a control given now takes effect: just after the last sample seen (s). Tied to the
        data, not a wall clock, so a replay applies it between the same two samples."""
        return self.t_seen_s + 1e-6 if math.isfinite(self.t_seen_s) else 0.0

    def finish(self, t_s: float) -> list[dict]:
        """End of the sources at session time ``t_s``: close the drill and say what is waiting."""
        out = []
        if self.state in ("running", "paused"):
            t_run = (t_s if self.state == "running" else self._t_paused) - self.offset_s
            t_run = max(t_run, self.runner.t_last_s) if math.isfinite(self.runner.t_last_s) else t_run
            out = self._run_events(self.runner.finish(t_run))
            self.state = "done"
        if self.audio is not None:
            self._placed(self.audio.flush())
        return out

    def _run_events(self, new: list[dict]) -> list[dict]:
        for ev in new:
            ev["t_s"] += self.offset_s  # in place: the runner's own list holds the same dicts
            if self.audio is not None:
                self._placed(play_event(self.audio, ev, live=self.live))
            self._out(ev)
        if self.audio is not None and new:
            self._placed(self.audio.advance(max(e["t_s"] for e in new)))
        return new

    def advance_audio(self, t_s: float) -> None:
        """Start the sounds due by session time ``t_s`` (between events, e.g. every frame)."""
        if self.audio is not None:
            self._placed(self.audio.advance(t_s))

    def _placed(self, placements) -> None:
        for p in placements:
            kind = "speech" if p.status == "spoken" else "speech_dropped"
            t = p.t_decided_s
            ev = self._out({"t_s": float(t), "kind": kind, **p.record()})
            if kind == "speech":
                self.last_said = ev

    def _out(self, ev: dict) -> dict:
        self.events.append(ev)
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    def snapshot(self) -> dict:
        """The runner's :func:`~movekit.protocols.runner.runner_snapshot` on the session clock,
        with ``control`` (ready, running, paused, stopped, done) and ``last_said``."""
        from movekit.protocols.runner import runner_snapshot

        snap = runner_snapshot(self.runner)
        if snap["t_s"] == snap["t_s"]:
            snap["t_s"] += self.offset_s
        snap["control"] = self.state
        snap["last_said"] = self.last_said
        return snap


@dataclass
class EMGSourceSpec:
    """One live EMG device stream: recording stream name, rate (Hz), channel names as metrics use them."""

    stream: str
    rate_hz: float
    channel_names: Sequence[str]
    device_channel_names: Sequence[str] | None = None


@dataclass
class LiveDrill:
    """A drill fed live. Sources: the EMG streams in ``emg`` (sorted by stream name), then pose.

    Parameters
    ----------
    protocol : Protocol
    emg : list of EMGSourceSpec
    pose : bool
        A camera pose source is present.
    frame_size_px : (width, height), optional
        Its image size (px): landmarks outside it count as unseen, as on replay.
    mvc_uv : mapping channel -> uV, optional
    writer : RecordingWriter, optional
        Raw EMG streams are added to it; drill events are written with ``writer.event``.
    audio : CueAudio, optional
    on_event : callable, optional
        Called with each event (runner events, controls, speech; e.g. to print it). Every one is
        also written to ``writer``.
    autostart : bool
        Run from the first sample (default); False: wait for :meth:`control` ("start").

    Controls (:meth:`control`) may come from another thread than the samples.
    """

    protocol: Protocol
    emg: list[EMGSourceSpec] = field(default_factory=list)
    pose: bool = False
    frame_size_px: tuple[int, int] | None = None
    mvc_uv: Mapping[str, float] | None = None
    writer: object | None = None
    audio: object | None = None
    on_event: Callable[[dict], None] | None = None
    emg_config: object | None = None
    record_emg: bool = True
    max_wait_s: float = 0.25
    autostart: bool = True

    def __post_init__(self) -> None:
        import threading

        from movekit.recording import StreamSpec

        self._lock = threading.RLock()  # BLE chunks arrive on another thread than camera frames
        self._t_fed = -np.inf
        self.late_dropped = 0
        self.emg = sorted(self.emg, key=lambda s: s.stream)
        self._emg = [EMGMetrics(s.rate_hz, s.channel_names, self.mvc_uv, self.emg_config) for s in self.emg]
        self._pose = PoseMetrics(self.frame_size_px) if self.pose else None
        names = [n for m in self._emg for n in m.names] + (self._pose.names if self._pose else [])
        self.runner = runner_for(self.protocol, names, self._pose.notice if self._pose is not None else None)
        self.merger = TimeOrderedMerger(len(self._emg) + (1 if self.pose else 0), self.max_wait_s)
        self.latencies_s: list[float] = []  # arrival (push) to cue event, per cue
        if self.writer is not None:
            if self.record_emg:
                for s in self.emg:
                    chans = tuple(s.device_channel_names or s.channel_names)
                    self.writer.add_stream(
                        StreamSpec(s.stream, (len(chans),), "uV", float(s.rate_hz), chans, kind="emg")
                    )
            # what a replay needs to recompute the same metrics
            self.writer.update_metadata(
                protocol={
                    "drill": self.protocol.name,
                    "side": self.protocol.side,
                    "mvc_uv": dict(self.mvc_uv or {}),
                    "emg_channels": {s.stream: list(s.channel_names) for s in self.emg},
                }
            )
        prepare_audio(self.audio, self.protocol)
        self.feeder = DrillFeeder(self.runner, self.audio, self._log, live=True, autostart=self.autostart)

    def control(self, action: str, **fields) -> dict | None:
        """start / pause / resume / stop, effective just after the last sample fed (recorded);
        ``fields``: see :meth:`DrillFeeder.control`."""
        with self._lock:
            return self.feeder.control(action, self.feeder.control_time(), **fields)

    def snapshot(self) -> dict:
        """The state a drill screen shows (:meth:`DrillFeeder.snapshot`)."""
        with self._lock:
            return self.feeder.snapshot()

    def push_emg(self, index: int, t_s: np.ndarray, x_uv: np.ndarray) -> list[dict]:
        """A raw EMG chunk from source ``index`` (in ``emg`` order, sorted by stream name)."""
        arrived = time.perf_counter()
        t_s = np.asarray(t_s, np.float64)
        # the recording stores float32: process exactly what a replay will read
        x32 = np.asarray(x_uv, np.float32).reshape(len(t_s), -1)
        with self._lock:
            if self.writer is not None and self.record_emg:
                self.writer.append(self.emg[index].stream, t_s, x32)
            samples, events = self._emg[index].process(t_s, x32.astype(np.float64))
            for t, d in samples:
                self.merger.push(index, t, (arrived, d))
            out = [self._log(ev) for ev in events]
            return out + self._release()

    def push_pose(self, t_s: float, image_px: np.ndarray, visibility: np.ndarray) -> list[dict]:
        """One frame's image landmarks (the capture code records the pose streams itself)."""
        if self._pose is None:
            raise MovekitError("this drill session was started without a pose source")
        arrived = time.perf_counter()
        with self._lock:
            d = self._pose.process(t_s, image_px, visibility)
            self.merger.push(len(self._emg), float(t_s), (arrived, d))
            return self._release()

    def finish_source(self, index: int) -> list[dict]:
        with self._lock:
            self.merger.finish(index)
            return self._release()

    def _log(self, ev: dict) -> dict:
        if self.writer is not None:
            fields = {k: v for k, v in ev.items() if k not in ("t_s", "kind")}
            self.writer.event(ev["t_s"], ev["kind"], **fields)
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    def _release(self) -> list[dict]:
        out = []
        for t, _src, (arrived, d) in self.merger.ready():
            if t < self._t_fed:  # behind a stalled source's watermark: cannot be fed in order
                self.late_dropped += 1
                continue
            self._t_fed = t
            out += self.feeder.feed(t, d, on_cue=lambda a=arrived: self.latencies_s.append(time.perf_counter() - a))
        return out

    def close(self, t_end_s: float) -> list[dict]:
        """End of the sources: release what is buffered, close the drill, place waiting sounds."""
        with self._lock:
            for i in range(len(self.merger.done)):
                self.merger.finish(i)
            out = self._release()
            return out + self.feeder.finish(max(t_end_s, self._t_fed if np.isfinite(self._t_fed) else t_end_s))


def replay_feeder(
    rec,
    protocol: Protocol,
    mvc_uv: Mapping[str, float] | None = None,
    rename: Mapping[str, str] | None = None,
    audio=None,
    on_event=None,
    emg_config=None,
    should_stop: Callable[[], bool] | None = None,
) -> DrillFeeder:
    """Run ``protocol`` on a recording's raw streams as fast as possible, applying the controls
    (start/pause/resume/stop) the live run recorded; returns the :class:`DrillFeeder`.

    ``should_stop`` is asked between samples: True stops the drill there (as a stop control).
    """
    names, samples, pose_notice = recording_samples(rec, mvc_uv, rename, emg_config)
    if not names:
        raise MovekitError(f"{rec.path} has no EMG or pose streams to run a drill on")
    controls = sorted(
        ((float(e["t_s"]), i, e) for i, e in enumerate(rec.events) if e.get("kind") == CONTROL_EVENT),
        key=lambda c: c[:2],
    )
    starts = any(e.get("action") == "start" for _, _, e in controls)
    feeder = DrillFeeder(runner_for(protocol, names, pose_notice), audio, on_event, live=False, autostart=not starts)
    prepare_audio(audio, protocol)
    prepare_control_phrases(audio, [e for _, _, e in controls])
    t_last, k = None, 0
    for t, _src, d in samples:
        while k < len(controls) and controls[k][0] <= t:
            _replay_control(feeder, controls[k])
            k += 1
        if should_stop is not None and feeder.state in ("ready", "running", "paused") and should_stop():
            feeder.control("stop", feeder.control_time())
        t_last = t
        if "kind" in d:  # an EMG onset/offset event: logged by the live run, not needed here
            continue
        feeder.feed(t, d)
    for c in controls[k:]:
        _replay_control(feeder, c)
    if t_last is not None:
        feeder.finish(t_last)
    return feeder


def _replay_control(feeder: DrillFeeder, control: tuple[float, int, Mapping]) -> None:
    t, _i, ev = control
    feeder.control(str(ev.get("action")), t, **control_fields(ev))


def prepare_control_phrases(audio, controls: Sequence[Mapping]) -> None:
    """Synthesise the phrases recorded controls say (a device lost, back) before the replay runs."""
    if audio is None:
        return
    for text in {x for e in controls for x in (e.get("say") or ())}:
        audio.prepare(say=text)


def replay_drill(rec, protocol: Protocol, *args: Any, **kwargs: Any) -> DrillRunner:
    """:func:`replay_feeder` (same arguments), returning only its :class:`DrillRunner` (events on
    the session clock). One body: the arguments and their meaning are :func:`replay_feeder`'s."""
    return replay_feeder(rec, protocol, *args, **kwargs).runner


def stored_drill_settings(rec) -> dict:
    """The drill, side, MVC and channel roles a live run stored in the recording's metadata."""
    return dict(rec.metadata.get("protocol") or {}) if isinstance(rec.metadata.get("protocol"), dict) else {}


def compare_cues(replayed: Sequence[Mapping], stored: Sequence[Mapping], tol_s: float = 1e-9) -> tuple[bool, str]:
    """Whether two cue lists match exactly (same ids at the same times) and a one-line account."""
    a = [(e["t_s"], e.get("id")) for e in replayed if e.get("kind") == "cue"]
    b = [(e["t_s"], e.get("id")) for e in stored if e.get("kind") == "cue"]
    if len(a) == len(b) and all(x[1] == y[1] and abs(x[0] - y[0]) <= tol_s for x, y in zip(a, b)):
        return True, f"replay reproduces all {len(b)} stored cues at the same times"
    for i, (x, y) in enumerate(zip(a, b)):
        if x[1] != y[1] or abs(x[0] - y[0]) > tol_s:
            return False, f"cue {i + 1} differs: replay {x[1]} at {x[0]:.4f} s, stored {y[1]} at {y[0]:.4f} s"
    return False, f"replay issued {len(a)} cues, the recording holds {len(b)}"
