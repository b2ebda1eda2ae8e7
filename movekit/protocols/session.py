"""Running a drill live (samples pushed as they arrive) or on a recording, with audio and logging.

Live: :class:`DrillSession` takes raw EMG chunks and pose frames from the capture code, writes them
to a recording, turns them into metrics, releases them in time order (watermark over sources) to a
:class:`~movekit.protocols.runner.DrillRunner`, writes every drill event (cues included) into the
recording with ``writer.event`` and plays cues. Replay: :func:`replay_drill` reads a recording's raw
streams, recomputes the same metrics and feeds them in the same order, so it issues the same cues
at the same times; :func:`compare_cues` checks that against the cues the live run stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from movekit.errors import MovekitError
from movekit.protocols.metrics import EMGMetrics, PoseMetrics, TimeOrderedMerger, recording_samples
from movekit.protocols.runner import DrillRunner, Protocol

_AUDIBLE = ("cue", "step_start", "set_start", "rep", "hold_start", "hold_complete", "rest_start", "drill_end")


def play_event(audio, ev: Mapping, live: bool = True) -> None:
    """Send one runner event to a :class:`~movekit.feedback.audio.CueAudio` (if it makes a sound)."""
    if audio is None or ev.get("kind") not in _AUDIBLE:
        return
    say, tone_hz = ev.get("say"), float(ev.get("tone_hz") or 0.0)
    kind = ev.get("cue_kind") or "prompt"
    if not say and not tone_hz and kind != "confirm":
        return
    audio.cue(ev["t_s"], say=say, tone_hz=tone_hz, tone_s=float(ev.get("tone_s") or 0.15), kind=kind, live=live)


def prepare_audio(audio, protocol: Protocol) -> None:
    """Synthesise every phrase and tone of a drill before it starts (no speech delay mid-drill)."""
    if audio is None:
        return
    for text in protocol.sayings():
        audio.prepare(say=text)
    for c in protocol.cues:
        audio.prepare(say=c.say, tone_hz=c.tone_hz, tone_s=c.tone_s, kind=c.kind)
    audio.prepare(kind="confirm")
    audio.prepare(say="Well done.", kind="confirm")  # hold_complete


@dataclass
class EMGSourceSpec:
    """One live EMG device stream: recording stream name, rate (Hz), channel names as metrics use them."""

    stream: str
    rate_hz: float
    channel_names: Sequence[str]
    device_channel_names: Sequence[str] | None = None


@dataclass
class DrillSession:
    """A drill fed live. Sources: the EMG streams in ``emg`` (sorted by stream name), then pose.

    Parameters
    ----------
    protocol : Protocol
    emg : list of EMGSourceSpec
    pose : bool
        A camera pose source is present.
    mvc_uv : mapping channel -> uV, optional
    writer : RecordingWriter, optional
        Raw EMG streams are added to it; drill events are written with ``writer.event``.
    audio : CueAudio, optional
    on_event : callable, optional
        Called with each runner event (e.g. to print it).
    """

    protocol: Protocol
    emg: list[EMGSourceSpec] = field(default_factory=list)
    pose: bool = False
    mvc_uv: Mapping[str, float] | None = None
    writer: object | None = None
    audio: object | None = None
    on_event: Callable[[dict], None] | None = None
    emg_config: object | None = None
    record_emg: bool = True
    max_wait_s: float = 0.25

    def __post_init__(self) -> None:
        import threading

        from movekit.recording import StreamSpec

        self._lock = threading.RLock()  # BLE chunks arrive on another thread than camera frames
        self._t_fed = -np.inf
        self.late_dropped = 0
        self.emg = sorted(self.emg, key=lambda s: s.stream)
        self._emg = [EMGMetrics(s.rate_hz, s.channel_names, self.mvc_uv, self.emg_config) for s in self.emg]
        self._pose = PoseMetrics() if self.pose else None
        names = [n for m in self._emg for n in m.names] + (self._pose.names if self._pose else [])
        self.runner = DrillRunner(self.protocol, available=names)
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
            for ev in self.runner.feed(t, d):
                if ev["kind"] == "cue":
                    self.latencies_s.append(time.perf_counter() - arrived)
                play_event(self.audio, ev, live=True)
                out.append(self._log(ev))
        return out

    def close(self, t_end_s: float) -> list[dict]:
        with self._lock:
            for i in range(len(self.merger.done)):
                self.merger.finish(i)
            out = self._release()
            for ev in self.runner.finish(max(t_end_s, self._t_fed if np.isfinite(self._t_fed) else t_end_s)):
                play_event(self.audio, ev, live=True)
                out.append(self._log(ev))
            return out


def replay_drill(
    rec,
    protocol: Protocol,
    mvc_uv: Mapping[str, float] | None = None,
    rename: Mapping[str, str] | None = None,
    audio=None,
    on_event=None,
    emg_config=None,
) -> DrillRunner:
    """Run ``protocol`` on a recording's raw streams (as fast as possible); returns the runner."""
    names, samples = recording_samples(rec, mvc_uv, rename, emg_config)
    if not names:
        raise MovekitError(f"{rec.path} has no EMG or pose streams to run a drill on")
    runner = DrillRunner(protocol, available=names)
    prepare_audio(audio, protocol)
    t_last = None
    for t, _src, d in samples:
        t_last = t
        if "kind" in d:  # an EMG onset/offset event: logged by the live run, not needed here
            continue
        for ev in runner.feed(t, d):
            play_event(audio, ev, live=False)
            if on_event:
                on_event(ev)
    if t_last is not None:
        for ev in runner.finish(t_last):
            play_event(audio, ev, live=False)
            if on_event:
                on_event(ev)
    return runner


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
