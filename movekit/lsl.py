"""Lab Streaming Layer outlets for a live session or a replay (``--lsl``; needs ``pip install movekit[lsl]``).

One :class:`LslPublisher` per session opens these outlets (names prefixed ``movekit_``):

* ``pose`` (type ``MoCap``): 33 landmarks x (x, y, z, visibility) in image pixels (z: relative depth
  scaled by the frame width; visibility 0..1), at the video's frame rate (0, irregular, for a webcam);
* ``live_angles`` (type ``Angles``): one channel per live joint angle (deg, NaN where the error
  model refuses it), then one ``<angle>_err_deg`` channel per angle (its expected error, deg);
* every device stream written to the recording (BLE goniometer, IMU, EMG, ...), as its
  :class:`~movekit.recording.StreamSpec` says: name, rate, unit, channel names;
* ``<emg stream>_envelope`` (type ``EMG``) for each EMG stream: the causal envelope of
  :class:`movekit.analysis.emg.EMGStream` (uV), one sample per raw sample;
* ``markers`` (type ``Markers``, string, irregular): every event (pain, pain_resolved, marker, cue,
  drill and device events) as one JSON object ``{"kind": ..., ...}``.

Each stream's ``desc`` follows the XDF meta-data conventions (``channels/channel/label, unit, type``).
Samples are stamped ``lsl0 + t_s``: ``lsl0`` is :func:`pylsl.local_clock` at the session start (for
a replay: at the replay start, minus the first sample's ``t_s``), so inlets line the streams up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from movekit.errors import MovekitError
from movekit.recording import POSE_STREAMS, Recording, StreamSpec

INSTALL_HINT = "--lsl needs pylsl: pip install movekit[lsl]"

#: XDF content types for movekit stream kinds (others keep their kind)
_TYPES = {"emg": "EMG", "imu": "IMU", "pose_image": "MoCap", "live_angles": "Angles"}

#: the recording streams the pose and live-angle outlets are made from (not published one by one)
_FRAME_STREAMS = frozenset(POSE_STREAMS) | {"live_angles_deg"}


def _pylsl():
    try:
        import pylsl
    except ImportError:  # pylsl missing, or its liblsl could not be loaded
        raise MovekitError(INSTALL_HINT) from None
    return pylsl


def require() -> None:
    """MovekitError (one line: ``pip install movekit[lsl]``) when pylsl cannot be imported."""
    _pylsl()


def stream_info(
    name: str,
    type_: str,
    labels: Sequence[str],
    units: Sequence[str],
    rate_hz: float | None,
    source_id: str,
    *,
    channel_types: Sequence[str] | None = None,
    fmt: str = "float32",
    meta: dict[str, Any] | None = None,
):
    """A :class:`pylsl.StreamInfo` with an XDF-style ``desc``: ``channels/channel/{label,unit,type}``,
    plus ``acquisition/manufacturer=movekit`` and any ``meta`` fields as text."""
    pylsl = _pylsl()
    info = pylsl.StreamInfo(name, type_, len(labels), float(rate_hz or 0.0), fmt, source_id)
    desc = info.desc()
    channels = desc.append_child("channels")
    for i, label in enumerate(labels):
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", units[i])
        ch.append_child_value("type", channel_types[i] if channel_types else type_)
    desc.append_child("acquisition").append_child_value("manufacturer", "movekit")
    for key, value in (meta or {}).items():
        desc.append_child_value(key, str(value))
    return info


def spec_channels(spec: StreamSpec) -> tuple[list[str], list[str]]:
    """Channel labels (``<channel>`` or ``<channel>_<component>``, flattened in row order) and units."""
    chans = spec.channel_names or tuple(f"ch{i}" for i in range(spec.shape[0]))
    if len(spec.shape) == 1:
        labels = list(chans)
    else:
        comps = spec.component_names or (
            ("x", "y", "z") if spec.shape[1] == 3 else tuple(f"c{j}" for j in range(spec.shape[1]))
        )
        labels = [f"{c}_{k}" for c in chans for k in comps]
    return labels, [spec.unit] * len(labels)


class LslPublisher:
    """LSL outlets for one session (see the module docstring). Thread-safe.

    Parameters
    ----------
    session_id : str
        Goes into every outlet's ``source_id`` (``<prefix>:<session_id>:<stream>``), so a restarted
        session is recognised by inlets.
    prefix : str
        Outlet names are ``<prefix>_<stream>``.
    lsl0 : float, optional
        LSL time of session time 0 (s); default :func:`pylsl.local_clock` now.
    """

    def __init__(self, session_id: str = "session", *, prefix: str = "movekit", lsl0: float | None = None) -> None:
        self._pylsl = _pylsl()
        self.session_id = session_id
        self.prefix = prefix
        self.lsl0 = self._pylsl.local_clock() if lsl0 is None else float(lsl0)
        self._lock = threading.Lock()
        self.outlets: dict[str, Any] = {}
        self._env: dict[str, Any] = {}  # emg stream name -> EMGStream
        self._angle_names: tuple[str, ...] = ()
        self._markers = self._open("markers", "Markers", ["event"], ["json"], None, fmt="string")

    def anchor(self, t_now_s: float) -> None:
        """Stamp session time ``t_now_s`` (the session clock now, s) as LSL's clock now."""
        self.lsl0 = self._pylsl.local_clock() - float(t_now_s)

    # -- outlets ---------------------------------------------------------------------
    def _open(self, stream: str, type_: str, labels, units, rate_hz, **kw):
        info = stream_info(
            f"{self.prefix}_{stream}", type_, labels, units, rate_hz, f"{self.prefix}:{self.session_id}:{stream}", **kw
        )
        outlet = self._pylsl.StreamOutlet(info)
        self.outlets[stream] = outlet
        return outlet

    def open_frames(self, rate_hz: float | None, angle_names: Sequence[str], t_now_s: float | None = None) -> None:
        """The ``pose`` and ``live_angles`` outlets (``angle_names`` as :class:`movekit.live.FrameProcessor`
        names them, ``*_deg``); ``rate_hz`` None for a webcam (irregular). ``t_now_s``: the session
        clock now (s), to anchor ``lsl0`` on the session start."""
        from movekit.capture.pipeline import LANDMARK_NAMES

        if "pose" in self.outlets:
            return
        if t_now_s is not None:
            self.anchor(t_now_s)

        comps = (
            ("x", "px", "PositionX"),
            ("y", "px", "PositionY"),
            ("z", "px", "PositionZ"),
            ("visibility", "1", "Visibility"),
        )
        labels = [f"{n}_{c}" for n in LANDMARK_NAMES for c, _, _ in comps]
        units = [u for _ in LANDMARK_NAMES for _, u, _ in comps]
        types = [t for _ in LANDMARK_NAMES for _, _, t in comps]
        self._open(
            "pose",
            "MoCap",
            labels,
            units,
            rate_hz,
            channel_types=types,
            meta={"axes": "x right, y down, pixels of the full frame; z relative depth x frame width"},
        )
        names = [n.removesuffix("_deg") for n in angle_names]
        self._angle_names = tuple(angle_names)
        self._open(
            "live_angles",
            "Angles",
            [f"{n}_deg" for n in names] + [f"{n}_err_deg" for n in names],
            ["deg"] * (2 * len(names)),
            rate_hz,
            channel_types=["Angle"] * len(names) + ["AngleError"] * len(names),
            meta={"refused": "NaN where the expected error is over the angle's limit"},
        )

    def add_stream(self, spec: StreamSpec) -> None:
        """An outlet for a recorded stream (a BLE device, raw EMG), plus ``<name>_envelope`` for EMG."""
        if spec.name in _FRAME_STREAMS or spec.name in self.outlets:
            return
        labels, units = spec_channels(spec)
        with self._lock:
            self._open(
                spec.name, _TYPES.get(spec.kind, spec.kind), labels, units, spec.rate_hz, meta={"kind": spec.kind}
            )
            if spec.kind == "emg" and spec.rate_hz and len(spec.shape) == 1:
                from movekit.analysis.emg import EMGStream

                self._env[spec.name] = EMGStream(float(spec.rate_hz), list(labels))
                self._open(
                    f"{spec.name}_envelope",
                    "EMG",
                    labels,
                    units,
                    spec.rate_hz,
                    channel_types=["EMGEnvelope"] * len(labels),
                    meta={"envelope": "movekit.analysis.emg.EMGStream, default EMGConfig, causal"},
                )

    # -- samples ---------------------------------------------------------------------
    def frame(
        self,
        t_s: float,
        image_px: np.ndarray,
        visibility: np.ndarray,
        angles_deg: np.ndarray,
        errors_deg: Mapping[str, float],
    ) -> None:
        """One video frame: landmarks (33, 3) px, visibility (33,), live angles (deg, in the order
        given to :meth:`open_frames`) and their expected errors (deg) by angle name (missing: NaN)."""
        ts = self.lsl0 + float(t_s)
        pose = np.concatenate(
            [np.asarray(image_px, np.float32).reshape(33, 3), np.asarray(visibility, np.float32).reshape(33, 1)], axis=1
        ).ravel()
        ang = np.concatenate(
            [
                np.asarray(angles_deg, np.float32).ravel(),
                np.array([errors_deg.get(n, np.nan) for n in self._angle_names], np.float32),
            ]
        )
        with self._lock:
            self.outlets["pose"].push_sample(pose.tolist(), ts)
            self.outlets["live_angles"].push_sample(ang.tolist(), ts)

    def append(self, name: str, t_s: np.ndarray, data: np.ndarray) -> None:
        """Samples of a stream declared with :meth:`add_stream` (others are ignored)."""
        outlet = self.outlets.get(name)
        if outlet is None:
            return
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        x = np.asarray(data, np.float32).reshape(len(t), -1)
        with self._lock:
            _push(outlet, x, self.lsl0 + t)
            env = self._env.get(name)
            if env is not None:
                res = env.process(t, x.astype(np.float64))
                _push(
                    self.outlets[f"{name}_envelope"],
                    np.asarray(res.envelope_uv, np.float32),
                    self.lsl0 + np.asarray(res.t_s, np.float64),
                )

    def event(self, record: dict) -> None:
        """One event record (``{"t_s": ..., "kind": ..., **fields}``) as a JSON marker."""
        fields = {k: v for k, v in record.items() if k != "t_s"}
        text = json.dumps({"kind": fields.pop("kind"), **fields}, default=str, allow_nan=True)
        with self._lock:
            self._markers.push_sample([text], self.lsl0 + float(record["t_s"]))

    def tee(self, writer):
        """``writer`` with every ``add_stream``, ``append`` and ``event`` also published here."""
        return _Tee(writer, self)

    def close(self) -> None:
        """Close the outlets (inlets see the streams go)."""
        with self._lock:
            self.outlets.clear()
            self._markers = None


def _push(outlet, x: np.ndarray, stamps: np.ndarray) -> None:
    rows = x.tolist()
    last = len(rows) - 1
    for i, (row, ts) in enumerate(zip(rows, stamps.tolist())):
        outlet.push_sample(row, ts, i == last)


class _Tee:
    """A RecordingWriter whose streams and events also go to an :class:`LslPublisher`."""

    def __init__(self, writer, lsl: LslPublisher) -> None:
        self._writer, self._lsl = writer, lsl

    def __getattr__(self, name: str):
        return getattr(self._writer, name)

    def add_stream(self, spec: StreamSpec) -> None:
        self._writer.add_stream(spec)
        self._lsl.add_stream(spec)

    def append(self, name: str, t_s, data) -> None:
        self._writer.append(name, t_s, data)
        self._lsl.append(name, t_s, data)

    def event(self, t_s: float, kind: str, **data: Any) -> dict:
        record = self._writer.event(t_s, kind, **data)
        self._lsl.event(record)
        return record


def publish_recording(
    rec: Recording,
    lsl: LslPublisher | None = None,
    *,
    speed: float | None = None,
    prefix: str = "movekit",
    linger_s: float = 0.0,
    on_open: Callable[[LslPublisher], None] | None = None,
) -> LslPublisher:
    """Publish a recording's streams and events at their recorded times.

    Parameters
    ----------
    rec : the recording
    lsl : publisher to use (default: a new one, ``lsl0`` chosen so the first sample is stamped now)
    speed : 1.0 paces the samples in real time, 2.0 twice as fast, None as fast as possible (the
        timestamps are the recorded ones either way)
    prefix : outlet name prefix for a new publisher
    linger_s : keep the outlets open this long after the last sample (s), for late inlets
    on_open : called once the outlets are open, before the first sample (e.g. to wait for inlets:
        LSL gives an inlet only the samples pushed after it connected)

    Returns
    -------
    the publisher (its outlets stay open until it is closed or garbage-collected)
    """
    from movekit.capture.replay import _pace

    frames = _frame_rows(rec)
    items: list[tuple[float, int, str, Any]] = []  # (t_s, order, stream, payload)
    if frames is not None:
        items += [(float(t), 0, "", i) for i, t in enumerate(frames["t_s"])]
    others = [n for n in sorted(rec.streams) if n not in _FRAME_STREAMS]
    for k, name in enumerate(others, start=1):
        s = rec.streams[name]
        items += [(float(t), k, name, i) for i, t in enumerate(s.t_s)]
    items += [(float(ev["t_s"]), len(others) + 1, "@", ev) for ev in rec.events if "t_s" in ev and "kind" in ev]
    items.sort(key=lambda it: (it[0], it[1]))
    t_first = items[0][0] if items else 0.0
    if lsl is None:
        lsl = LslPublisher(_session_id(rec), prefix=prefix, lsl0=_pylsl().local_clock() - t_first)
    if frames is not None:
        lsl.open_frames(frames["rate_hz"], frames["names"])
    for name in others:
        lsl.add_stream(rec.streams[name].spec)
    if on_open is not None:
        on_open(lsl)
    wall0 = time.monotonic()
    for t, _, name, payload in items:
        _pace(t, t_first, wall0, speed)
        if name == "":
            i = payload
            lsl.frame(t, frames["image_px"][i], frames["visibility"][i], frames["angles"][i], frames["errors"][i])
        elif name == "@":
            lsl.event(payload)
        else:
            s = rec.streams[name]
            lsl.append(name, s.t_s[payload : payload + 1], s.data[payload : payload + 1])
    if linger_s > 0:
        time.sleep(linger_s)
    return lsl


def _frame_rows(rec: Recording) -> dict | None:
    """Pose, stored live angles and their expected errors (recomputed from the stored pose the way
    :func:`movekit.capture.replay.replay_pose` does) per frame; None without pose."""
    if not all(n in rec.streams for n in POSE_STREAMS):
        return None
    from contextlib import nullcontext

    from movekit.analysis.error_model import ungated
    from movekit.live import LIVE_STREAM, FrameProcessor

    pose = rec.pose()
    live = rec.streams.get(LIVE_STREAM)
    fs = live.spec.attrs.get("fs_hz", 30.0) if live is not None else 30.0
    research = live is not None and live.spec.attrs.get("gated", True) is False
    with ungated() if research else nullcontext():
        processor = FrameProcessor(
            fs,
            calibration=rec.metadata.get("calibration"),
            frame_size_px=tuple(pose.frame_size_px) if all(pose.frame_size_px) else None,
        )
        angles = np.empty((len(pose), len(processor.names)), np.float32)
        errors = []
        for i in range(len(pose)):
            angles[i] = processor.step(float(pose.t_s[i]), pose.image_px[i], pose.visibility[i])
            errors.append(dict(processor.errors))
    if live is not None and tuple(f"{c}_deg" for c in live.spec.channel_names or ()) == processor.names:
        angles[: min(len(live), len(pose))] = live.data[: len(pose)]  # what the live run showed
    rate = rec.streams["pose_image_px"].spec.rate_hz
    return {
        "t_s": pose.t_s,
        "image_px": pose.image_px,
        "visibility": pose.visibility,
        "angles": angles,
        "errors": errors,
        "names": processor.names,
        "rate_hz": rate,
    }


def _session_id(rec: Recording) -> str:
    started = (rec.metadata.get("session_clock") or {}).get("started_unix_s") or rec.metadata.get("created_unix_s")
    return f"{rec.path.name}@{started}"


__all__ = ["INSTALL_HINT", "LslPublisher", "publish_recording", "require", "spec_channels", "stream_info"]
