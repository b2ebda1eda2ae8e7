"""Crash-safe, append-only session recordings.

Format
------
A recording is a directory (``*.mkrec`` by convention)::

    meta.json               session metadata, rewritten atomically (write + fsync + rename)
    streams/<name>.arrows   one Arrow IPC *stream* per data stream, a record batch appended
                            at least every second, then flushed and fsync'ed
    events.jsonl            one JSON object per line, flushed as each event happens

Why this format: the Arrow IPC streaming format is append-only by design (a schema
message, then self-delimiting record batches), so a process killed mid-write leaves
every complete batch readable and loses only the batch being written: at most the
last second. Parquet and HDF5 write their index at close, so a killed writer leaves
a file their readers refuse (HDF5's SWMR mode helps but still corrupts on SIGKILL
during a metadata flush). Arrow streams are read without movekit by pyarrow,
pandas (through pyarrow), polars and R's arrow package; JSON and JSON Lines by
anything. Each stream has a ``t_s`` column (float64 seconds on the session clock)
and one float32 column per channel with its unit in the name, so
``pyarrow.ipc.open_stream(f).read_pandas()`` gives a readable table.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from movekit.errors import MovekitError
from movekit.outputs import DIR_MODE, FILE_MODE, RECORDING, check_output, strict_json

FORMAT_VERSION = 1
META_FILE = "meta.json"
EVENTS_FILE = "events.jsonl"
STREAMS_DIR = "streams"
STREAM_SUFFIX = ".arrows"
_SPEC_KEY = b"movekit.stream"
#: meta.json keys written by movekit itself: ``--meta`` may not set them
RESERVED_META_KEYS = frozenset(
    {
        "format",
        "format_version",
        "movekit_version",
        "created_unix_s",
        "closed",
        "closed_unix_s",
        "samples",
        "n_events",
        "source",
        "video",
        "clock",
        "pose_model",
        "raw_video_saved",
        "person_selection",
        "calibration",
        "session_clock",
        "ble",
        "devices",
        "drill",
        "assess",
    }
)


def unit_suffix(unit: str) -> str:
    """Column-name suffix for a unit: ``'uV' -> 'uv'``, ``'deg/s' -> 'deg_per_s'``, ``'1' -> ''``."""
    if unit in ("", "1"):
        return ""
    s = unit.replace("/", "_per_").replace("%", "pct_").replace("^2", "2").replace("µ", "u")
    return re.sub(r"[^0-9a-zA-Z_]+", "_", s).strip("_").lower()


@dataclass(frozen=True)
class StreamSpec:
    """What one stream holds.

    Parameters
    ----------
    name : str
        File-safe stream name, e.g. ``"pose_image_px"`` or ``"emg"``.
    shape : tuple of int
        Shape of one sample, e.g. ``(33, 3)`` for landmarks, ``(2,)`` for two EMG channels.
    unit : str
        Unit of every value (``"px"``, ``"m"``, ``"uV"``, ``"deg"``, ``"1"`` for dimensionless).
    rate_hz : float or None
        Nominal sampling rate; ``None`` when samples arrive irregularly (a webcam).
    channel_names : tuple of str, optional
        Names along the first axis of ``shape`` (landmark or channel names).
    component_names : tuple of str, optional
        Names along the second axis (default ``x, y, z`` for three components).
    kind : str
        What produced it (``"pose_image"``, ``"pose_world"``, ``"imu"``, ``"emg"``, ...).
    attrs : dict
        Anything else worth keeping (device address, profile, calibration).
    """

    name: str
    shape: tuple[int, ...]
    unit: str
    rate_hz: float | None = None
    channel_names: tuple[str, ...] | None = None
    component_names: tuple[str, ...] | None = None
    kind: str = "generic"
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise ValueError(f"stream name {self.name!r} must be file-safe")
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        if len(self.shape) not in (1, 2):
            raise ValueError("a sample is a vector (channels,) or a matrix (channels, components)")
        if self.channel_names is not None:
            object.__setattr__(self, "channel_names", tuple(self.channel_names))
            if len(self.channel_names) != self.shape[0]:
                raise ValueError("channel_names must match shape[0]")
        if self.component_names is not None:
            object.__setattr__(self, "component_names", tuple(self.component_names))

    def columns(self) -> list[str]:
        """Flat column names, unit last: ``left_hip_x_px``, ``vmo_uv``."""
        channels = self.channel_names or tuple(f"ch{i}" for i in range(self.shape[0]))
        suffix = unit_suffix(self.unit)
        tail = f"_{suffix}" if suffix else ""
        if len(self.shape) == 1:
            return [f"{c}{tail}" for c in channels]
        comps = self.component_names or (
            ("x", "y", "z") if self.shape[1] == 3 else tuple(f"c{j}" for j in range(self.shape[1]))
        )
        return [f"{c}_{k}{tail}" for c in channels for k in comps]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> StreamSpec:
        d = json.loads(text)
        for key in ("shape", "channel_names", "component_names"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)

    def schema(self) -> pa.Schema:
        fields = [pa.field("t_s", pa.float64())] + [pa.field(c, pa.float32()) for c in self.columns()]
        return pa.schema(fields, metadata={_SPEC_KEY: self.to_json().encode()})


def _private_open(path: Path, mode: str):
    """Open a new file created 0600 whatever the umask (``mode`` "x", "xb" or "w")."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if "x" in mode else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, FILE_MODE), mode.replace("x", "w"))


def _atomic_write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with _private_open(tmp, "w") as f:
        json.dump(strict_json(obj), f, indent=2, default=_json_default, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _disk_error(exc: OSError, path: Path) -> MovekitError:
    if exc.errno == errno.ENOSPC:
        return MovekitError(f"disk full while writing {path}; everything flushed before this is kept")
    return MovekitError(f"cannot write {path}: {exc.strerror or exc}")


class _StreamWriter:
    def __init__(self, path: Path, spec: StreamSpec) -> None:
        self.path = path
        self.spec = spec
        self.file = _private_open(path, "xb")
        self.schema = spec.schema()
        self.writer = pa.ipc.new_stream(self.file, self.schema)
        # pyarrow writes the schema with the first batch: an empty batch now, synced, so a process
        # killed before its first second of data still leaves a stream every reader opens
        # (built from empty arrays: ``RecordBatch.from_pylist`` would import pandas, 0.3 s per capture)
        empty = [pa.nulls(0, f.type) for f in self.schema]
        self.writer.write_batch(pa.RecordBatch.from_arrays(empty, schema=self.schema))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.pending_t: list[np.ndarray] = []
        self.pending_x: list[np.ndarray] = []
        self.n_written = 0
        self.last_flush = time.monotonic()

    def add(self, t_s: np.ndarray, data: np.ndarray) -> None:
        self.pending_t.append(t_s)
        self.pending_x.append(data)

    def due(self, interval_s: float) -> bool:
        """Pending data is older than ``interval_s`` of wall time, or spans it in session time."""
        if time.monotonic() - self.last_flush >= interval_s:
            return True
        return bool(self.pending_t) and float(self.pending_t[-1][-1] - self.pending_t[0][0]) >= interval_s

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.pending_t:
            return
        t = np.concatenate(self.pending_t)
        x = np.concatenate(self.pending_x).reshape(len(t), -1)
        self.pending_t.clear()
        self.pending_x.clear()
        arrays = [_arrow(t, np.float64)] + [_arrow(x[:, j], np.float32) for j in range(x.shape[1])]
        self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.n_written += len(t)

    def close(self) -> None:
        self.flush()
        self.writer.close()
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()


def _arrow(values: np.ndarray, dtype) -> pa.Array:
    """A numpy column as an Arrow array without nulls (NaN stays NaN), as ``pa.array`` gives it, but
    without ``pa.array``'s look for pandas (importing pandas costs each capture 0.3 s)."""
    v = np.ascontiguousarray(values, dtype=dtype)
    return pa.Array.from_buffers(pa.from_numpy_dtype(v.dtype), len(v), [None, pa.py_buffer(v)])


class RecordingWriter:
    """Append-only writer for one session recording. Thread-safe.

    Parameters
    ----------
    path : str or Path
        Directory to create.
    metadata : dict
        Session metadata (source, model settings, client, protocol, calibration).
    overwrite : bool
        Replace an existing recording at ``path``. Without it an existing path is refused.
    flush_interval_s : float
        Longest time data waits in memory before it is written and fsync'ed (s): of wall
        time, and of session time (a video file is processed faster than real time), so a
        killed process loses at most this much of the session.

    Examples
    --------
    >>> with RecordingWriter("s.mkrec", {"client": "c01"}) as rec:  # doctest: +SKIP
    ...     rec.add_stream(StreamSpec("emg", (2,), "uV", 1000.0, ("vmo", "vl"), kind="emg"))
    ...     rec.append("emg", t_s, samples)
    ...     rec.event(1.5, "pain", source="key")
    """

    def __init__(
        self, path: str | Path, metadata: dict | None = None, *, overwrite: bool = False, flush_interval_s: float = 1.0
    ) -> None:
        from movekit import __version__

        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self._lock = threading.RLock()
        self._streams: dict[str, _StreamWriter] = {}
        self._n_events = 0
        self._closed = False
        # the output policy: only an existing recording (or an empty folder) is ever replaced
        check_output(self.path, RECORDING, overwrite=overwrite, flag="recording")
        if self.path.is_dir():
            shutil.rmtree(self.path)
        try:
            self.path.mkdir(mode=DIR_MODE)
            (self.path / STREAMS_DIR).mkdir(mode=DIR_MODE)
            os.chmod(self.path, DIR_MODE)  # whatever the umask
            os.chmod(self.path / STREAMS_DIR, DIR_MODE)
            self.meta: dict[str, Any] = {
                "format": "movekit-recording",
                "format_version": FORMAT_VERSION,
                "movekit_version": __version__,
                "created_unix_s": time.time(),
                "closed": False,
                **(metadata or {}),
            }
            _atomic_write_json(self.path / META_FILE, self.meta)
            self._events = _private_open(self.path / EVENTS_FILE, "x")
        except OSError as exc:
            raise _disk_error(exc, self.path) from exc

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------
    def add_stream(self, spec: StreamSpec) -> None:
        """Declare a stream before appending to it."""
        with self._lock:
            if spec.name in self._streams:
                raise ValueError(f"stream {spec.name!r} already added")
            path = self.path / STREAMS_DIR / f"{spec.name}{STREAM_SUFFIX}"
            try:
                self._streams[spec.name] = _StreamWriter(path, spec)
            except OSError as exc:
                raise _disk_error(exc, path) from exc

    def append(self, name: str, t_s: np.ndarray, data: np.ndarray) -> None:
        """Append samples: ``t_s`` (N,) seconds, ``data`` (N, *shape)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        with self._lock:
            sw = self._streams[name]
            x = np.asarray(data, dtype=np.float32).reshape((len(t),) + sw.spec.shape)
            sw.add(t.copy(), x.copy())
            if len(t) and sw.due(self.flush_interval_s):
                self._flush_stream(sw)

    def event(self, t_s: float, kind: str, **data: Any) -> dict:
        """Write one timestamped event now (pain report, marker, cue, device gap, ...)."""
        record = {"t_s": float(t_s), "kind": kind, **data}
        line = json.dumps(strict_json(record), default=_json_default, allow_nan=False)
        with self._lock:
            try:
                self._events.write(line + "\n")
                self._events.flush()
            except OSError as exc:
                raise _disk_error(exc, self.path / EVENTS_FILE) from exc
            self._n_events += 1
        return record

    def update_metadata(self, **fields: Any) -> None:
        """Merge fields into meta.json (atomic rewrite)."""
        with self._lock:
            self.meta.update(fields)
            try:
                _atomic_write_json(self.path / META_FILE, self.meta)
            except OSError as exc:
                raise _disk_error(exc, self.path / META_FILE) from exc

    def flush(self) -> None:
        """Write and fsync everything buffered."""
        with self._lock:
            for sw in self._streams.values():
                self._flush_stream(sw)
            try:
                os.fsync(self._events.fileno())
            except OSError as exc:
                raise _disk_error(exc, self.path / EVENTS_FILE) from exc

    def _flush_stream(self, sw: _StreamWriter) -> None:
        try:
            sw.flush()
        except OSError as exc:
            raise _disk_error(exc, sw.path) from exc

    def close(self) -> None:
        """Flush, end every stream cleanly and mark the recording closed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                for sw in self._streams.values():
                    sw.close()
                self._events.close()
            except OSError as exc:
                raise _disk_error(exc, self.path) from exc
            self.update_metadata(
                closed=True,
                closed_unix_s=time.time(),
                samples={n: sw.n_written for n, sw in self._streams.items()},
                n_events=self._n_events,
            )


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------
@dataclass
class Stream:
    """One stream read back: ``t_s`` (N,) float64 and ``data`` (N, *shape) float32."""

    spec: StreamSpec
    t_s: np.ndarray
    data: np.ndarray

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def channels(self) -> np.ndarray:
        """``data`` as (N, channels) float32, one column per value of a sample (N may be 0)."""
        return self.data.reshape(len(self.t_s), int(np.prod(self.spec.shape, dtype=np.int64)))

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if len(self.t_s) > 1 else 0.0


@dataclass
class PoseSeries:
    """Pose over time, as captured.

    Attributes
    ----------
    t_s : (frames,) float64, seconds on the session clock
    image_px : (frames, 33, 3) float32, x right / y down in pixels, z scaled by frame width
    world_m : (frames, 33, 3) float32, metres, origin between the hips
    visibility, presence : (frames, 33) float32 in 0..1; :meth:`Recording.pose` gives a landmark
        outside the image a visibility of 0 (the model's guess there is no measurement,
        :func:`movekit.analysis.filters.visibility_in_frame`)
    frame_size_px : (width, height)
    """

    t_s: np.ndarray
    image_px: np.ndarray
    world_m: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    frame_size_px: tuple[int, int]
    #: the recording's ``calibration`` metadata (camera profile, static offsets, camera tilt)
    calibration: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def detected(self) -> np.ndarray:
        """(frames,) bool: a person was found in the frame."""
        return ~np.isnan(self.image_px[:, :, 0]).all(axis=1)


POSE_STREAMS = ("pose_image_px", "pose_world_m", "pose_visibility", "pose_presence")


@dataclass
class Recording:
    """A recording opened for reading. ``problems`` lists what could not be read."""

    path: Path
    metadata: dict[str, Any]
    streams: dict[str, Stream]
    events: list[dict[str, Any]]
    problems: list[str]

    @property
    def closed(self) -> bool:
        """True when the writer finished cleanly and what it wrote is all there (False after a crash)."""
        return _closed_intact(self.metadata, self.streams, self.path, self.events) is None

    def pose(self) -> PoseSeries:
        """The pose streams as a :class:`PoseSeries`, cut to the shortest (a crash can cut one
        short). A landmark outside the image gets visibility 0: there the model guesses."""
        missing = [n for n in POSE_STREAMS if n not in self.streams]
        if len(missing) == len(POSE_STREAMS):
            raise MovekitError(f"{self.path} has no pose streams ({', '.join(missing)} missing)")
        if missing:
            raise MovekitError(f"{self.path}: its pose streams are incomplete ({', '.join(missing)} missing)")
        n = min(len(self.streams[name]) for name in POSE_STREAMS)  # a crash can cut one short
        s = {name: self.streams[name] for name in POSE_STREAMS}
        video = self.metadata.get("video", {})
        size = (int(video.get("width_px", 0)), int(video.get("height_px", 0)))
        from movekit.analysis.filters import visibility_in_frame

        image = s["pose_image_px"].data[:n]
        visibility = visibility_in_frame(image, s["pose_visibility"].data[:n], size).astype(np.float32)
        return PoseSeries(
            t_s=s["pose_image_px"].t_s[:n],
            image_px=image,
            world_m=s["pose_world_m"].data[:n],
            visibility=visibility,
            presence=s["pose_presence"].data[:n],
            frame_size_px=size,
            calibration=cal if isinstance(cal := self.metadata.get("calibration"), dict) else {},
        )


def _read_stream(path: Path) -> tuple[Stream, str | None]:
    """Read every complete record batch; on a cut or corrupt tail say what was kept."""
    size = path.stat().st_size
    try:
        reader = pa.ipc.open_stream(pa.memory_map(str(path)))
    except (pa.ArrowInvalid, OSError) as exc:
        raise MovekitError(f"{path}: not a readable Arrow stream ({size} bytes): {exc}") from None
    meta = reader.schema.metadata or {}
    if _SPEC_KEY not in meta:
        raise MovekitError(f"{path}: Arrow stream without a movekit stream spec")
    try:
        spec = StreamSpec.from_json(meta[_SPEC_KEY])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MovekitError(f"{path}: unreadable movekit stream spec ({exc})") from None
    batches: list[pa.RecordBatch] = []
    problem = None
    while True:
        try:
            batches.append(reader.read_next_batch())
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError) as exc:
            n = sum(b.num_rows for b in batches)
            problem = (
                f"{path} is cut short or corrupt after {len(batches)} complete batches: "
                f"recovered {n} samples; the rest is lost ({exc})"
            )
            break
    if batches:
        table = pa.Table.from_batches(batches, schema=reader.schema)
        t = table.column(0).to_numpy().astype(np.float64, copy=False)
        x = np.column_stack([table.column(j).to_numpy() for j in range(1, table.num_columns)])
        try:
            data = x.astype(np.float32, copy=False).reshape((len(t),) + spec.shape)
        except ValueError:
            raise MovekitError(
                f"{path}: {x.shape[1]} data columns do not fit the stream's declared shape {spec.shape}"
            ) from None
    else:
        t = np.zeros(0, np.float64)
        data = np.zeros((0,) + spec.shape, np.float32)
    if not (ok := np.isfinite(t)).all():  # a sample without a time cannot be placed on the session clock
        t, data = t[ok], data[ok]
        dropped = f"{path}: {int((~ok).sum())} samples without a finite time (s) left out"
        problem = dropped if problem is None else f"{problem}; {dropped}"
    if t.size > 1 and not (ok := t >= np.maximum.accumulate(t)).all():  # the session clock never goes back
        t, data = t[ok], data[ok]
        dropped = f"{path}: {int((~ok).sum())} samples earlier than one before them left out (time going back)"
        problem = dropped if problem is None else f"{problem}; {dropped}"
    if spec.kind.startswith("pose") and np.isinf(data).any():  # no pose value is infinite: a damaged file
        n_inf = int(np.isinf(data).sum())
        data = np.where(np.isinf(data), np.float32(np.nan), data)
        dropped = f"{path}: {n_inf} infinite values read as missing"
        problem = dropped if problem is None else f"{problem}; {dropped}"
    return Stream(spec, t, data), problem


def read_events(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    events: list[dict[str, Any]] = []
    if not path.exists():
        return events, f"{path} is missing: no events"
    problem = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if (
                not isinstance(event, dict)
                or not isinstance(event.get("kind"), str)
                or not isinstance(event.get("t_s"), (int, float))
            ):
                problem = f"{path} line {lineno} is cut short or corrupt; kept {len(events)} events before it"
                break
            events.append(event)
    return events, problem


def open_recording(path: str | Path, *, strict: bool = False) -> Recording:
    """Open a recording, recovering what a crash or a cut left readable.

    Parameters
    ----------
    path : str or Path
        The recording directory.
    strict : bool
        Raise on any problem instead of recovering.

    Raises
    ------
    MovekitError
        The path is missing or not a recording, or nothing at all could be read
        (the message names the file and how much was recoverable).
    """
    path = Path(path)
    if not path.exists():
        raise MovekitError(f"no recording at {path}")
    if not path.is_dir() or not (path / META_FILE).exists():
        raise MovekitError(f"{path} is not a movekit recording (no {META_FILE})")
    try:
        metadata = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise MovekitError(f"{path / META_FILE} is unreadable: {exc}") from None
    problems: list[str] = []
    streams: dict[str, Stream] = {}
    for f in sorted((path / STREAMS_DIR).glob(f"*{STREAM_SUFFIX}")):
        try:
            stream, problem = _read_stream(f)
        except MovekitError as exc:
            problems.append(str(exc))
            continue
        streams[stream.spec.name] = stream
        if problem:
            problems.append(problem)
    events, problem = read_events(path / EVENTS_FILE)
    if problem:
        problems.append(problem)
    if not isinstance(metadata, dict):
        raise MovekitError(f"{path / META_FILE} is not a JSON object")
    if not metadata.get("closed"):
        ends = [float(s.t_s[-1]) for s in streams.values() if len(s)]
        if not ends:
            recovered = "no data had been written yet (the streams are empty but readable)"
        elif max(ends) - min(ends) < 1e-9:
            recovered = f"recovered data up to t = {min(ends):.2f} s"
        else:  # streams flushed at different moments: what every stream holds, and the longest
            recovered = f"every stream recovered up to t = {min(ends):.2f} s (the longest to {max(ends):.2f} s)"
        problems.insert(0, f"{path} was not closed cleanly (the capture stopped or crashed); {recovered}")
    elif (why := _closed_intact(metadata, streams, path, events)) is not None:
        problems.append(f"{path} is marked closed but {why}")
    if strict and problems:
        raise MovekitError("; ".join(problems))
    if not streams and not events and problems:
        raise MovekitError(f"nothing recoverable in {path}: " + "; ".join(problems))
    return Recording(path, metadata, streams, events, problems)


def _closed_intact(metadata: dict, streams: dict[str, Stream], path: Path, events: list) -> str | None:
    """None when the recording was closed by its writer and holds what the writer counted; else why not."""
    if metadata.get("closed") is not True:
        return "its meta.json does not say closed"
    if not isinstance(metadata.get("closed_unix_s"), (int, float)) or not isinstance(metadata.get("samples"), dict):
        return f"{META_FILE} lacks the counts written at close (edited by hand or by another tool?)"
    if metadata["samples"] and not (path / STREAMS_DIR).is_dir():
        return f"its {STREAMS_DIR}/ folder is missing"
    for name, n in metadata["samples"].items():
        if name not in streams:
            return f"stream {name} is missing"
        if not isinstance(n, int) or len(streams[name]) != n:
            return f"stream {name} holds {len(streams[name])} samples, not the {n} written at close"
    n_events = metadata.get("n_events")
    if isinstance(n_events, int) and len(events) != n_events:
        return f"{EVENTS_FILE} holds {len(events)} readable events, not the {n_events} written at close"
    return None
