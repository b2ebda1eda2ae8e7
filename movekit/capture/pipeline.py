"""Capture: frames -> pose -> recording (+ live angles) -> sinks (overlay, window, keys, drill, studio...).

One loop serves a webcam and a video file. Every frame read becomes a row in the
recording, NaN when nobody is found; nothing is smoothed over or dropped by movekit
(a camera's own drops show as gaps in ``t_s``, and as ``frames_dropped`` events when
movekit falls behind a camera).

The work is a pipeline of three threads so the pose model never waits: frames are decoded
(and converted to RGB) in the source's thread (:class:`movekit.capture.frames.FrameSource`),
the model and the person follower run in the calling thread, and recording, live angles and
the sinks (:mod:`movekit.capture.sinks`) run in a third, in frame order. :class:`CaptureRun`
is the library object (the studio and the CLI both use it); :func:`capture` builds one from
command-line style options.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from movekit.analysis.landmarks import NAMES as LANDMARK_ORDER
from movekit.capture import inputs
from movekit.capture.clock import SessionClock
from movekit.capture.follow import PersonFollower, parse_person, person_text
from movekit.capture.frames import Frame, FrameSource, check_max_fps
from movekit.capture.inputs import RAW_VIDEO
from movekit.capture.pose import N_LANDMARKS, MediaPipePose, PoseBackend, PoseEstimate
from movekit.capture.sinks import EVENT_KEYS
from movekit.errors import MovekitError
from movekit.live import LIVE_ERROR_STREAM, LIVE_STREAM, FrameProcessor
from movekit.recording import POSE_STREAMS, PoseSeries, RecordingWriter, StreamSpec

log = logging.getLogger(__name__)

LANDMARK_NAMES = LANDMARK_ORDER  #: MediaPipe landmark names in index order (movekit.analysis.landmarks)
assert len(LANDMARK_NAMES) == N_LANDMARKS


def pose_stream_specs(rate_hz: float | None) -> list[StreamSpec]:
    names = LANDMARK_NAMES
    return [
        StreamSpec(
            "pose_image_px",
            (33, 3),
            "px",
            rate_hz,
            names,
            kind="pose_image",
            attrs={"axes": "x right, y down, pixels of the full frame; z relative depth x frame width"},
        ),
        StreamSpec(
            "pose_world_m",
            (33, 3),
            "m",
            rate_hz,
            names,
            kind="pose_world",
            attrs={"axes": "MediaPipe world: metres, origin between the hips, y down"},
        ),
        StreamSpec("pose_visibility", (33,), "1", rate_hz, names, kind="pose_visibility"),
        StreamSpec("pose_presence", (33,), "1", rate_hz, names, kind="pose_presence"),
    ]


@dataclass(frozen=True)
class FrameResult:
    """One recorded frame, as the sinks receive it.

    Attributes
    ----------
    index : frame number in the source (0-based; gaps are frames the camera or movekit dropped, or
        the rate limit skipped: see ``rate_skipped``)
    t_s : time on the session clock, s
    image_bgr : the frame as read, (height, width, 3) uint8; shared: copy before drawing on it
    estimate : the followed person's pose (``image_px`` (33, 3) px, ``world_m``, ``visibility``,
        ``presence``, ``found``)
    angles_deg : live angles by name (deg), causally cleaned and gated: NaN where the expected
        error for this view and tilt is over the limit or the angle is not measurable
    errors_deg : expected error of each angle (deg; NaN: not measurable)
    view : the body's view label for this frame (:mod:`movekit.analysis.view`)
    rate_skipped : frames the rate limit skipped before this one since the source opened
        (``Frame.rate_skipped``): an index gap minus its change is what was dropped late
    """

    index: int
    t_s: float
    image_bgr: np.ndarray
    estimate: PoseEstimate
    angles_deg: dict[str, float]
    errors_deg: dict[str, float]
    view: str
    rate_skipped: int = 0


class FrameSink(Protocol):
    """Something that receives every recorded frame (:mod:`movekit.capture.sinks`).

    ``open`` is called once the recording is open (before any Bluetooth device streams),
    ``frame`` after each frame was recorded (return True to stop the capture; it runs in the
    capture's recording thread and must return quickly), ``close`` after the last frame.
    """

    def open(self, run: CaptureRun) -> None: ...

    def frame(self, result: FrameResult) -> bool | None: ...

    def close(self, summary: CaptureSummary) -> None: ...


class CaptureObserver(Protocol):
    """Something that runs inside a capture (a guided drill, for instance).

    ``start`` is called once the recording is open (pose streams added; BLE devices
    declared but not yet streaming), ``frame`` after every frame has been recorded
    (return True to stop the capture), ``stop`` before the recording is closed.
    """

    def start(self, writer: RecordingWriter, clock: SessionClock, ble: Any) -> None: ...

    def frame(self, t_s: float, estimate: PoseEstimate) -> bool | None: ...

    def stop(self, t_s: float) -> None: ...


#: Share of the frames with a person below which the capture's summary warns (a dark or empty
#: video recorded "person found in 0 (0%)" and exited 0 without a word)
LOW_DETECTION_RATE = 0.5


@dataclass
class CaptureSummary:
    """What a capture did."""

    path: Path | None
    frames: int = 0
    detected: int = 0
    first_t_s: float = float("nan")
    last_t_s: float = float("nan")
    dropped: int = 0
    #: frames skipped by the rate limit (``CaptureOptions.max_fps``), not counted in ``dropped``
    skipped: int = 0
    #: the source's own rate and the rate it was analysed at (frames/s; NaN: unknown)
    source_fps: float = float("nan")
    analysed_fps: float = float("nan")
    events: list[dict] = field(default_factory=list)
    annotated: Path | None = None
    stopped_by: str = "end of source"
    notices: list[str] = field(default_factory=list)
    #: wall-clock time (s, ``time.perf_counter``) when the 11th and the last frame were recorded
    steady_from_s: float = float("nan")
    steady_to_s: float = float("nan")

    @property
    def steady_fps(self) -> float:
        """Frames recorded per second of wall time after the first ten (start-up left out), or NaN."""
        span = self.steady_to_s - self.steady_from_s
        return (self.frames - 11) / span if self.frames > 20 and span > 0 else float("nan")

    @property
    def detection_rate(self) -> float:
        return self.detected / self.frames if self.frames else 0.0

    def text(self) -> str:
        lines = [
            f"{self.frames} frames over {self.last_t_s - self.first_t_s:.2f} s; person found in "
            f"{self.detected} ({100 * self.detection_rate:.0f}%); stopped by {self.stopped_by}"
        ]
        if np.isfinite(self.steady_fps):
            lines.append(f"processed {self.steady_fps:.1f} frames/s (after the first 10 frames)")
        if self.skipped:
            lines.append(
                f"analysed at {self.analysed_fps:.1f} of the source's {self.source_fps:.1f} frames/s: "
                f"{self.skipped} frames skipped by the rate limit (--max-fps)"
            )
        if self.dropped:
            lines.append(f"{self.dropped} camera frames dropped while movekit was busy (gaps in t_s)")
        if self.frames and self.detection_rate < LOW_DETECTION_RATE:
            lines.append(
                f"warning: a person was found in only {self.detected} of {self.frames} frames: nothing a screen "
                "can use (too dark, out of frame, too far, or nobody there?)"
                if self.detected == 0
                else f"warning: a person was found in only {100 * self.detection_rate:.0f}% of the frames "
                "(too dark, partly out of frame, or too far?): the screens will have little to measure"
            )
        if self.events:
            lines.append(
                f"{len(self.events)} events: " + ", ".join(f"{e['kind']} at {e['t_s']:.2f} s" for e in self.events[:8])
            )
        lines += self.notices
        if self.path:
            lines.append(f"recording: {self.path}")
        if self.annotated:
            lines.append(f"annotated video: {self.annotated}")
        return "\n".join(lines)


@dataclass
class CaptureOptions:
    """How a capture runs the model and what it records (the sinks decide what else happens).

    Attributes
    ----------
    duration_s : stop after this many seconds of source time (None: to the end / until stopped)
    model_complexity : 0, 1 or 2 (only 1 ships offline)
    model_file : a MediaPipe pose model file to use instead of the shipped one
    save_video : keep the raw frames in ``<out>/video.mkv`` (off by default: clinics often may not);
        Matroska, so a crash loses at most about the last second
    overwrite : replace an existing recording at ``out``
    metadata : client/protocol/calibration fields stored in meta.json
    ble : Bluetooth LE devices recorded beside the camera, each ``ADDRESS:PROFILE[@LABEL][,rate=HZ]``
        (:class:`movekit.capture.ble.transport.DeviceSpec`); they run in their own thread and
        event loop on the same session clock as the frames. With a video file as source the
        frames are then released in real time so the two line up.
    ble_options : keyword arguments for :class:`movekit.capture.ble.transport.BleRecorder`
        (reconnect policy, timeouts)
    ble_wait_s : the first frame is recorded once every device streams, or after this many seconds
    camera_profile, static_profile : calibration profile names (in :func:`movekit.calibration.profile_dir`)
        or paths (``movekit calibrate camera|static``). Both are stored in the metadata and applied to
        the live angles; the stored landmarks stay as the model gave them.
    realtime : release a video file's frames in real time (default: only with BLE devices)
    drop_late : with ``realtime``, skip a video's frames that are already late when the model is
        free, as a webcam drops them (:class:`movekit.capture.frames.FrameSource`): a video standing
        in for a webcam (the studio) then shows the present instead of a growing backlog
    person : whom to follow when several people are in view (:func:`movekit.capture.follow.parse_person`:
        ``largest`` (default), ``centre``, ``left``, ``right`` or ``"X,Y"`` px in the first frame with
        somebody in it). Stored in the metadata (``person_selection``); a ``people_in_view`` event
        (count, t_s) is recorded and a notice printed (stderr) when several people are in view at the
        start and whenever the number in view changes later.
    tilt : the camera's pitch and roll (:class:`movekit.analysis.camera_tilt.CameraTilt`, or text for
        :func:`movekit.calibration.load_tilt`: ``"PITCH,ROLL"``, ``"level"``, a tilt profile), or
        ``"auto"`` (default for a video file): measured from the room's vertical edges in frames of
        the video (:func:`movekit.calibration.tilt_from_scene`), unknown when that fails (a notice
        says why); ``"unknown"`` (default for a webcam). Stored in the metadata (``calibration.tilt``)
        and applied to the live angles and to every later analysis of the recording.
    lsl : :class:`movekit.lsl.LslPublisher` publishing each frame's pose and live angles, and every
        device stream and event written to the recording, as Lab Streaming Layer outlets (None: off)
    pipelined : record and run the sinks in their own thread while the model runs on the next
        frame (default); False runs everything in the calling thread (a live window needs that)
    max_fps : most frames per second analysed (None or 0: every frame, the default): a camera is
        asked for this rate and a faster camera or video is thinned evenly by timestamp
        (:class:`movekit.capture.frames.FrameSource`); the recording's metadata (``frame_rate``)
        says the source's rate, the analysed rate and the frames skipped, apart from those dropped
        late. The live angles' filters are designed for the analysed rate.
    """

    duration_s: float | None = None
    model_complexity: int = 1
    model_file: str | Path | None = None
    save_video: bool = False
    overwrite: bool = False
    metadata: dict | None = None
    ble: Sequence[str] = ()
    ble_options: dict | None = None
    ble_wait_s: float = 10.0
    camera_profile: str | Path | None = None
    static_profile: str | Path | None = None
    realtime: bool | None = None
    drop_late: bool = False
    person: str | tuple[float, float] | None = None
    tilt: Any = None
    lsl: Any = None
    pipelined: bool = True
    max_fps: float | None = None


class _RecordingStage:
    """The third stage of the pipeline: work items run in frame order in one background thread.

    An exception in a work item stops the stage and is raised again in the calling thread by the
    next :meth:`submit` or by :meth:`drain`.
    """

    def __init__(self, threaded: bool, depth: int = 8) -> None:
        self.error: BaseException | None = None
        self.threaded = threaded
        self._queue: queue.Queue | None = queue.Queue(depth) if threaded else None
        self._thread = None
        if threaded:
            self._thread = threading.Thread(target=self._work, daemon=True, name="movekit-record")
            self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    item()
                except BaseException as exc:  # noqa: BLE001 (raised again in the capture thread)
                    self.error = exc

    def submit(self, item: Callable[[], None]) -> None:
        self.raise_error()
        if self._queue is None:
            item()
        else:
            self._queue.put(item)

    def drain(self) -> None:
        """Wait for every submitted item (the stage ends), then raise its error if one occurred."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class CaptureRun:
    """One capture: the source, the pose model, the person follower, the recording and the sinks.

    ``CaptureRun(source, out, options, sinks).run()`` reads every frame of ``source``, runs the
    pose model on it, stores the pose and live angles in the recording at ``out`` (None: no
    recording) and hands each frame to the sinks. Bad options fail here, before anything opens.

    Parameters
    ----------
    source : webcam index, video path, or a recording made with ``save_video`` (its ``video.mkv``
        is captured again, following the person chosen in it unless ``options.person`` says otherwise)
    out : recording directory to create (None: no recording, e.g. for ``movekit angles VIDEO``)
    options : :class:`CaptureOptions`
    sinks : :class:`FrameSink` objects, called in order for every frame
    backend : a pose backend to use (and not close) instead of MediaPipe
    clock : the session clock to timestamp on (shared by cameras captured together; default: a new one)
    """

    def __init__(
        self,
        source: str | int | Path,
        out: str | Path | None,
        options: CaptureOptions | None = None,
        sinks: Sequence[FrameSink] = (),
        *,
        backend: PoseBackend | None = None,
        clock: SessionClock | None = None,
    ) -> None:
        self.options = opts = options or CaptureOptions()
        self._max_fps = check_max_fps(opts.max_fps)  # a bad rate fails before anything opens
        self.summary = CaptureSummary(Path(out) if out else None)
        self.out = out
        self.sinks = list(sinks)
        self.source, stored_person = inputs.recorded_video(source)
        self.choice = parse_person(opts.person if opts.person is not None else stored_person or "largest")
        if out is not None and Path(out).exists() and not opts.overwrite:
            raise MovekitError(f"{out} already exists; choose another path or pass --overwrite")
        self.ble_specs = self._parse_ble()
        self.calibration = inputs.load_calibration(opts.camera_profile, opts.static_profile)
        self._tilt = self._start_tilt()
        self.clock = clock or SessionClock()
        self.backend = backend
        self._own_backend = backend is None
        self.writer: RecordingWriter | None = None
        self.ble = None
        self.src: FrameSource | None = None
        self.follower: PersonFollower | None = None
        self.processor: FrameProcessor | None = None
        self._stage: _RecordingStage | None = None
        self._stop_reason: str | None = None
        self._opened_sinks: list[FrameSink] = []

    # -- what sinks and other threads may call -------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Stop after the frame being processed (thread-safe; the first reason given is kept)."""
        if self._stop_reason is None:
            self._stop_reason = reason

    @property
    def stopping(self) -> bool:
        return self._stop_reason is not None

    def mark(self, t_s: float, kind: str, **fields: Any) -> dict:
        """Store an event (``pain``, ``pain_resolved``, ``marker``...) at ``t_s`` in the recording and
        the summary. Call it from a sink's ``frame`` (the recording thread)."""
        ev = self.writer.event(t_s, kind, **fields) if self.writer is not None else {"t_s": t_s, "kind": kind, **fields}
        self.summary.events.append(ev)
        return ev

    def open_video(self, path: str | Path):
        """A video file for frames of this source's size and rate (:class:`movekit.capture.annotate.VideoOut`)."""
        from movekit.capture.annotate import VideoOut

        return VideoOut(path, self.src.width_px, self.src.height_px, self._analysed_fps(30.0))

    def _analysed_fps(self, default: float | None) -> float | None:
        """The rate frames are analysed at (frames/s): the source's, or under ``max_fps`` the kept
        rate; ``default`` when unknown."""
        fps = self.src.analysed_fps
        return fps if np.isfinite(fps) and fps > 0 else default

    def say(self, text: str) -> None:
        """A notice for the person at the console (stderr), above a progress bar if there is one;
        in a multi-camera capture, naming the camera (``movekit: notice: cam02: ...``)."""
        cam = (self.options.metadata or {}).get("camera")
        if isinstance(cam, dict) and cam.get("name") and text.startswith("movekit: "):
            head, _, rest = text[len("movekit: ") :].partition(": ")
            text = f"movekit: {head}: {cam['name']}: {rest}" if rest else text
        for sink in self._opened_sinks:
            if hasattr(sink, "say"):
                sink.say(text)
                return
        import sys

        print(text, file=sys.stderr)

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> CaptureSummary:
        """Capture until the source ends, ``duration_s`` passes, a sink stops it, or an interrupt."""
        old_term = signal.getsignal(signal.SIGTERM)
        in_main = threading.current_thread() is threading.main_thread()
        if in_main:  # SIGTERM: stop cleanly and close the recording
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._open()
            self._loop()
            self._finish()
        finally:
            self._close()
            if in_main:
                signal.signal(signal.SIGTERM, old_term)
        return self.summary

    def _parse_ble(self) -> list:
        if not self.options.ble:
            return []
        from movekit.capture.ble.transport import DeviceSpec

        if self.out is None:
            raise MovekitError("BLE devices need a recording to write to (-o)")
        return [DeviceSpec.parse(text) for text in self.options.ble]  # bad specs fail before anything opens

    def _start_tilt(self) -> Future:
        """The camera tilt, resolved now, or measured from the video's verticals (~1 s) in a thread
        while the pose model loads."""
        tilt, source = self.options.tilt, self.source
        if inputs.measures_tilt(tilt, source):
            pool = ThreadPoolExecutor(1, thread_name_prefix="movekit-tilt")
            future = pool.submit(inputs.resolve_tilt, tilt, source, self.calibration, self.summary.notices)
            pool.shutdown(wait=False)  # the thread ends with its one task
            return future
        future = Future()  # given or unknown: a bad --tilt fails before anything opens
        future.set_result(inputs.resolve_tilt(tilt, source, self.calibration, self.summary.notices))
        return future

    def _open(self) -> None:
        """Open the source, the model and the follower; then the outputs (:meth:`_open_outputs`),
        which need the camera tilt: in the recording stage when it has its own thread and no BLE
        device is waited for, so the model starts on the first frames while the tilt is measured
        (0.3-0.6 s of a short clip's start-up on this machine, docs/benchmarks.md "Capture")."""
        opts = self.options
        realtime = bool(self.ble_specs) if opts.realtime is None else opts.realtime
        self.src = FrameSource(
            self.source, clock=self.clock, realtime=realtime, drop_late=opts.drop_late, max_fps=self._max_fps
        )
        self.backend = self.backend or MediaPipePose(opts.model_complexity, model_file=opts.model_file)
        self._check_against_the_source()
        self.follower = PersonFollower(choose=self.choice)
        window = any(getattr(s, "window", False) for s in self.sinks)  # HighGUI stays in one thread
        self._stage = _RecordingStage(threaded=opts.pipelined and not window)
        if self._stage.threaded and not self.ble_specs:
            self._stage.submit(self._open_outputs)
        else:
            self._open_outputs()

    def _open_outputs(self) -> None:
        """The tilt, the live-angle processor, the recording, LSL, the sinks and the BLE devices."""
        opts = self.options
        camera_tilt = self._tilt.result()
        if camera_tilt is not None:
            self.calibration["tilt"] = camera_tilt.to_dict()
        fps = self._analysed_fps(30.0)
        self.processor = FrameProcessor(fps, self.calibration, frame_size_px=(self.src.width_px, self.src.height_px))
        rate = None if self.src.is_camera else self._analysed_fps(None)
        if self.out is not None:
            self.writer = self._open_recording(rate)
        if opts.lsl is not None:  # LSL: pose + live angles per frame; the recording's other streams and events
            from movekit.capture.sinks import LslSink

            opts.lsl.open_frames(rate, self.processor.names, self.clock.now())
            self.writer = opts.lsl.tee(self.writer) if self.writer is not None else None
            self.sinks.insert(0, LslSink(opts.lsl))
        if opts.save_video and self.writer is not None:
            from movekit.capture.sinks import RawVideoSink

            self.sinks.append(RawVideoSink(self.writer.path / RAW_VIDEO))
        if self.ble_specs:
            from movekit.capture.ble.transport import BleRecorder

            self.ble = BleRecorder(self.ble_specs, self.writer, clock=self.clock, **(opts.ble_options or {}))
        for sink in self.sinks:
            sink.open(self)
            self._opened_sinks.append(sink)
        if self.ble is not None:
            self._start_devices()

    def _start_devices(self) -> None:
        """Start the Bluetooth devices and wait (at most ``ble_wait_s``) until each streams, so the
        first frame is recorded with every device's data flowing; a device still silent is named."""
        self.ble.start()
        silent = self.ble.wait_streaming(self.options.ble_wait_s)
        if silent:
            self.summary.notices.append(
                f"BLE {', '.join(silent)}: no data {self.options.ble_wait_s:g} s after the start; "
                "the capture started without it (its data is recorded if it connects later)"
            )
        self.src.start_now()  # camera frames grabbed while waiting are not part of the capture

    def _check_against_the_source(self) -> None:
        from movekit.capture.follow import parse_person

        who = parse_person(self.options.person) if self.options.person is not None else None
        if isinstance(who, tuple) and not (who[0] < self.src.width_px and who[1] < self.src.height_px):
            raise MovekitError(
                f"--person {who[0]:g},{who[1]:g} lies outside the {self.src.width_px}x{self.src.height_px} frame: "
                "give pixels of the first frame (x right, y down)"
            )
        cam = self.calibration.get("camera")
        if cam and (cam["width_px"], cam["height_px"]) != (self.src.width_px, self.src.height_px):
            raise MovekitError(
                f"camera profile {cam['name']!r} is for {cam['width_px']}x{cam['height_px']}, "
                f"the source is {self.src.width_px}x{self.src.height_px}"
            )

    def _open_recording(self, rate: float | None) -> RecordingWriter:
        src, opts = self.src, self.options
        meta = {
            "source": src.describe(),
            "video": {"width_px": src.width_px, "height_px": src.height_px, "nominal_fps": src.fps},
            "clock": "monotonic clock since the camera opened" if src.is_camera else "container presentation time",
            "pose_model": self.backend.settings(),
            "raw_video_saved": bool(opts.save_video),
            **(opts.metadata or {}),
            "person_selection": {"strategy": person_text(self.choice)},
        }
        if self.calibration:
            meta["calibration"] = self.calibration
        writer = RecordingWriter(self.out, meta, overwrite=opts.overwrite)
        for spec in pose_stream_specs(rate):
            writer.add_stream(spec)
        writer.add_stream(self.processor.spec())
        writer.add_stream(self.processor.error_spec())
        writer.update_metadata(session_clock={"started_unix_s": self.clock.started_unix_s, "frames": meta["clock"]})
        return writer

    def _loop(self) -> None:
        """The model stage: read, follow the person, hand the frame to the recording stage."""
        summary, duration_s = self.summary, self.options.duration_s
        self._last_index = -1
        self._last_skipped = 0
        try:
            for frame in self.src:
                if self._stop_reason is not None:
                    break
                if self._last_index < 0:
                    summary.first_t_s = frame.t_s
                if duration_s is not None and frame.t_s - summary.first_t_s >= duration_s:
                    self.request_stop(f"--duration {duration_s:g} s")
                    break
                # frames dropped late, not those the rate limit skipped
                gap = frame.index - self._last_index - 1 - (frame.rate_skipped - self._last_skipped)
                gap = gap if self._last_index >= 0 else 0
                self._last_index, self._last_skipped = frame.index, frame.rate_skipped
                est = self.follower.process(self.backend, frame.image_bgr, frame.t_s, frame.image_rgb)
                people = (self.follower.take_events(), self.follower.message()) if self.follower.events else None
                self._stage.submit(lambda f=frame, e=est, g=gap, p=people: self._record(f, e, g, p))
        except KeyboardInterrupt:
            self.request_stop("interrupt (recording closed cleanly)")
        self._stage.drain()
        summary.stopped_by = self._stop_reason or "end of source"

    def _record(self, frame: Frame, est: PoseEstimate, gap: int, people: tuple | None) -> None:
        """The recording stage for one frame: events, pose, live angles, then the sinks."""
        writer, summary, processor = self.writer, self.summary, self.processor
        if gap and writer is not None:
            summary.events.append(writer.event(frame.t_s, "frames_dropped", count=gap))
        if people is not None:  # somebody else came into view, or left: rare
            self._people_events(*people)
        live = processor.step(frame.t_s, est.image_px, est.visibility)
        if writer is not None:
            t = [frame.t_s]
            writer.append("pose_image_px", t, est.image_px[None])
            writer.append("pose_world_m", t, est.world_m[None])
            writer.append("pose_visibility", t, est.visibility[None])
            writer.append("pose_presence", t, est.presence[None])
            writer.append(LIVE_STREAM, t, live[None])
            writer.append(LIVE_ERROR_STREAM, t, processor.errors_deg()[None])
        summary.frames += 1
        summary.detected += est.found
        summary.last_t_s = frame.t_s
        summary.steady_to_s = time.perf_counter()
        if summary.frames == 11:
            summary.steady_from_s = summary.steady_to_s
        if not self.sinks:
            return
        result = FrameResult(
            frame.index,
            frame.t_s,
            frame.image_bgr,
            est,
            dict(zip(processor.names, live.tolist())),
            dict(processor.errors),
            processor.view,
            frame.rate_skipped,
        )
        # every sink sees every recorded frame (also the few read before a stop took effect)
        if [sink.frame(result) for sink in self.sinks].count(True):
            self.request_stop("a sink")

    def _people_events(self, events: list[dict], follower_text: str | None) -> None:
        """Record the follower's events (``people_in_view``, ``person_not_at_point``) and say so on
        the console as they happen."""
        said = set()
        for ev in events:
            ev = self.mark(**ev)
            if ev["kind"] != "people_in_view" or ev["change"] == "start":
                text = follower_text or f"{ev['count']} people in view at the start"
                if text in said:
                    continue
                said.add(text)
            elif ev["change"] == "entered":
                text = (
                    f"{ev['t_s']:.2f} s: somebody else came into view ({ev['count']} people); "
                    "still following the same person"
                )
            else:
                text = f"{ev['t_s']:.2f} s: {ev['count']} {'person' if ev['count'] == 1 else 'people'} in view now"
            self.say(f"movekit: notice: {text}")

    def _finish(self) -> None:
        """After the last frame: devices and sinks stopped, what happened said, metadata completed."""
        summary, src = self.summary, self.src
        summary.dropped = src.dropped
        summary.skipped = src.skipped_total(ended=summary.stopped_by == "end of source")
        summary.source_fps, summary.analysed_fps = src.fps, src.analysed_fps
        self._note_source_end()
        if self.ble is not None:
            self.ble.stop()
            self._note_device_problems()
        self._close_sinks()
        summary.notices += _follower_notices(self.follower, summary.events)
        if summary.frames == 0:
            raise MovekitError(f"{self.source}: no frames were read")
        if self.writer is not None:
            self.writer.update_metadata(
                person_selection=self.follower.selection or {"strategy": person_text(self.choice)},
                frames_dropped=src.dropped,
                frame_rate=self._frame_rate(),
                detection_rate=summary.detection_rate,
                stopped_by=summary.stopped_by,
            )

    def _frame_rate(self) -> dict:
        """The recording's ``frame_rate`` metadata: the source's rate, the rate limit and the rate
        analysed (nominal, frames/s; None: unknown), and the frames skipped by the limit apart from
        the frames dropped because the model was late; for a camera also the rate it delivered
        (``source_fps_measured``: every frame it gave over the capture's span)."""
        s = self.summary

        def fps(x: float | None) -> float | None:
            return round(float(x), 3) if x is not None and np.isfinite(x) and x > 0 else None

        out = {
            "source_fps": fps(s.source_fps),
            "max_fps": self._max_fps,
            "analysed_fps": fps(s.analysed_fps),
            "frames_skipped_rate_limit": int(s.skipped),
            "frames_dropped_late": int(s.dropped),
        }
        span_s = s.last_t_s - s.first_t_s
        if self.src.is_camera and span_s > 0:  # a camera may not deliver the rate it reports
            out["source_fps_measured"] = fps((s.frames + s.skipped + s.dropped - 1) / span_s)
        return out

    def _note_source_end(self) -> None:
        summary, src = self.summary, self.src
        ended = summary.stopped_by == "end of source"
        # dropped late after the last one recorded (not the frames the rate limit skipped)
        trailing = (src.last_index - src.last_rate_skipped) - (self._last_index - self._last_skipped) if ended else 0
        if trailing > 0 and self.writer is not None and summary.frames:
            summary.events.append(self.writer.event(summary.last_t_s, "frames_dropped", count=trailing))
        # frames read: up to the last handed on, and the ones the rate limit skipped after it
        read = max(src.last_index, self._last_index) + 1 + max(0, src.skipped - src.last_rate_skipped)
        if ended and src.frame_count and not src.is_camera and read < src.frame_count - 1:
            summary.notices.append(
                f"the video ended early, after {read} of the {src.frame_count} frames its container "
                f"declares (truncated or damaged file?); the frames up to {summary.last_t_s:.2f} s are kept"
            )
            if self.writer is not None:
                self.writer.event(
                    summary.last_t_s, "source_ended_early", frames_read=read, frames_declared=src.frame_count
                )
        if src.read_error:
            summary.notices.append(
                f"the video stopped decoding early ({src.read_error}); frames up to {summary.last_t_s:.2f} s are kept"
            )

    def _note_device_problems(self) -> None:
        problems = {
            "device_not_found",
            "device_error",
            "device_gap",
            "device_disconnected",
            "device_bad_data",
            "device_rate_mismatch",
        }
        for ev in self.ble.events:
            if ev.kind in problems:
                self.summary.notices.append(f"BLE {ev.device}: {ev.message}")

    def _close_sinks(self, *, after_error: bool = False) -> None:
        while self._opened_sinks:
            sink = self._opened_sinks.pop(0)
            try:
                sink.close(self.summary)
            except Exception:
                if not after_error:
                    raise
                log.exception("closing %r after an error", sink)  # the first error is the one raised

    def _close(self) -> None:
        """Release everything, also after an error; the recording is closed last but one."""
        if self._stage is not None:
            try:
                self._stage.drain()
            except BaseException:  # noqa: BLE001 (an error is already being raised)
                log.exception("recording stage failed while closing")
        if self.ble is not None:
            self.ble.stop()
        self._close_sinks(after_error=True)
        if self.writer is not None:
            self.writer.close()
        if self.src is not None:
            self.src.close()
        if self.follower is not None:
            self.follower.close()
        if self._own_backend and self.backend is not None:
            self.backend.close()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _follower_notices(follower: PersonFollower, events: list[dict]) -> list[str]:
    """What the person follower has to say after a capture."""
    notices = [follower.message()] if follower.message() else []
    entered = [e for e in events if e["kind"] == "people_in_view" and e.get("change") == "entered"]
    if entered:
        notices.append(
            "somebody else came into view at "
            + ", ".join(f"{e['t_s']:.2f} s ({e['count']} people)" for e in entered[:4])
            + ("..." if len(entered) > 4 else "")
            + "; the person chosen at the start was followed"
        )
    if follower.switches_rejected:
        notices.append(
            f"{follower.switches_rejected} frames where the model jumped to another person were stored as not found"
        )
    return notices


def has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def capture(
    source: str | int | Path,
    out: str | Path | None,
    *,
    annotate: str | Path | None = None,
    show: bool = False,
    progress: bool = False,
    keys: bool = True,
    observer: CaptureObserver | None = None,
    on_frame: Callable[[int, float], None] | None = None,
    sinks: Sequence[FrameSink] = (),
    backend: PoseBackend | None = None,
    **options: Any,
) -> CaptureSummary:
    """Run the pose model on every frame of ``source`` and record it (:class:`CaptureRun`).

    Parameters
    ----------
    source, out : see :class:`CaptureRun`
    annotate : write the frames with skeleton and live angles to this video (``.mkv``: crash-safe,
        recommended; ``.avi``; ``.mp4``: lost if the process is killed before it ends, as the summary says)
    show : open a live window when a display exists (keys p/r/m/space/q work there)
    progress : a progress bar on stderr
    keys : single key presses from the terminal store events (p pain, r pain gone, m/space marker, q stop)
    observer : :class:`CaptureObserver` run inside the capture (needs a recording)
    on_frame : ``fn(frames_so_far, t_s)`` called after every frame
    sinks : further :class:`FrameSink` objects (after the ones the options above make)
    backend : a pose backend to use instead of MediaPipe (not closed)
    **options : the fields of :class:`CaptureOptions` (``duration_s``, ``save_video``, ``ble``, ``tilt``...)
    """
    from movekit.capture import sinks as builtin

    try:
        opts = CaptureOptions(**options)
    except TypeError as exc:
        raise TypeError(f"capture(): {exc}") from None
    if observer is not None and out is None:
        raise MovekitError("an observer needs a recording to write to")
    made: list[FrameSink] = [builtin.ObserverSink(observer)] if observer is not None else []
    window = bool(show) and has_display()
    if annotate or window:
        made.append(builtin.OverlaySink(annotate, window=window))
    if keys:
        made.append(builtin.TerminalKeySink())
    run = CaptureRun(source, out, opts, [*made, *sinks], backend=backend)
    if show and not window:
        run.summary.notices.append("no display found: --show ignored (use --annotate to see the result)")
    if progress:
        run.sinks.append(builtin.ProgressSink())
    if on_frame is not None:
        run.sinks.append(builtin.CallbackSink(on_frame))
    return run.run()


def run_pose_on_video(
    path: str | Path,
    model_complexity: int = 1,
    *,
    progress: bool = False,
    duration_s: float | None = None,
    person: str | None = None,
) -> PoseSeries:
    """Pose for every frame of a video, in memory (no recording written)."""
    return capture_in_memory(path, model_complexity, progress=progress, duration_s=duration_s, person=person).pose()


def capture_in_memory(
    path: str | Path,
    model_complexity: int = 1,
    *,
    progress: bool = False,
    duration_s: float | None = None,
    person: str | None = None,
):
    """:class:`movekit.recording.Recording` of a video's pose (with its metadata and events, e.g.
    ``people_in_view``), read back from a temporary recording that is then deleted."""
    import tempfile

    from movekit.recording import open_recording

    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "pose.mkrec"
        capture(
            path,
            rec,
            model_complexity=model_complexity,
            progress=progress,
            duration_s=duration_s,
            keys=False,
            person=person,
        )
        return open_recording(rec)


__all__ = [
    "capture",
    "CaptureRun",
    "CaptureOptions",
    "FrameResult",
    "FrameSink",
    "EVENT_KEYS",
    "RAW_VIDEO",
    "run_pose_on_video",
    "capture_in_memory",
    "CaptureObserver",
    "CaptureSummary",
    "pose_stream_specs",
    "POSE_STREAMS",
]
