"""Capture: frames -> pose -> recording (+ live angles, annotation, marker keys).

One loop serves a webcam and a video file. Every frame read becomes a row in the
recording, NaN when nobody is found; nothing is smoothed over or dropped by movekit
(a camera's own drops show as gaps in ``t_s``, and as ``frames_dropped`` events when
movekit falls behind a camera).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from movekit.analysis.landmarks import NAMES as LANDMARK_ORDER
from movekit.capture.clock import SessionClock
from movekit.capture.follow import PersonFollower, parse_person, person_text
from movekit.capture.frames import FrameSource
from movekit.capture.pose import N_LANDMARKS, MediaPipePose, PoseBackend, PoseEstimate
from movekit.errors import MovekitError
from movekit.live import LIVE_STREAM, FrameProcessor
from movekit.recording import POSE_STREAMS, PoseSeries, RecordingWriter, StreamSpec

LANDMARK_NAMES = LANDMARK_ORDER  #: MediaPipe landmark names in index order (movekit.analysis.landmarks)
assert len(LANDMARK_NAMES) == N_LANDMARKS

#: Keys that store an event during capture (window or terminal).
EVENT_KEYS = {"p": "pain", "r": "pain_resolved", "m": "marker", " ": "marker"}


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


class CaptureObserver(Protocol):
    """Something that runs inside a capture (a guided drill, for instance).

    ``start`` is called once the recording is open (pose streams added; BLE devices
    declared but not yet streaming), ``frame`` after every frame has been recorded
    (return True to stop the capture), ``stop`` before the recording is closed.
    """

    def start(self, writer: RecordingWriter, clock: SessionClock, ble: Any) -> None: ...

    def frame(self, t_s: float, estimate: PoseEstimate) -> bool | None: ...

    def stop(self, t_s: float) -> None: ...


@dataclass
class CaptureSummary:
    """What a capture did."""

    path: Path | None
    frames: int = 0
    detected: int = 0
    first_t_s: float = float("nan")
    last_t_s: float = float("nan")
    dropped: int = 0
    events: list[dict] = field(default_factory=list)
    annotated: Path | None = None
    stopped_by: str = "end of source"
    notices: list[str] = field(default_factory=list)

    @property
    def detection_rate(self) -> float:
        return self.detected / self.frames if self.frames else 0.0

    def text(self) -> str:
        lines = [
            f"{self.frames} frames over {self.last_t_s - self.first_t_s:.2f} s; person found in "
            f"{self.detected} ({100 * self.detection_rate:.0f}%); stopped by {self.stopped_by}"
        ]
        if self.dropped:
            lines.append(f"{self.dropped} camera frames dropped while movekit was busy (gaps in t_s)")
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


class _KeyListener:
    """Single key presses from the terminal (cbreak mode) when stdin is a terminal."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._lock = threading.Lock()
        self._old = None
        self.active = False
        if not sys.stdin.isatty():
            return
        try:
            import termios
            import tty

            fd = sys.stdin.fileno()
            self._old = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except Exception:  # noqa: BLE001 (no terminal: key presses are off)
            return
        self.active = True
        threading.Thread(target=self._run, daemon=True, name="movekit-keys").start()

    def _run(self) -> None:
        while self.active:
            ch = sys.stdin.read(1)
            if not ch:
                return
            with self._lock:
                self.keys.append(ch)

    def take(self) -> list[str]:
        with self._lock:
            keys, self.keys = self.keys, []
        return keys

    def close(self) -> None:
        self.active = False
        if self._old is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._old)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def capture(
    source: str | int | Path,
    out: str | Path | None,
    *,
    duration_s: float | None = None,
    model_complexity: int = 1,
    model_file: str | Path | None = None,
    annotate: str | Path | None = None,
    show: bool = False,
    save_video: bool = False,
    overwrite: bool = False,
    metadata: dict | None = None,
    progress: bool = False,
    backend: PoseBackend | None = None,
    on_frame: Callable[[int, float], None] | None = None,
    keys: bool = True,
    ble: list[str] | tuple[str, ...] = (),
    ble_options: dict | None = None,
    camera_profile: str | Path | None = None,
    static_profile: str | Path | None = None,
    observer: CaptureObserver | None = None,
    realtime: bool | None = None,
    person: str | tuple[float, float] | None = None,
    tilt=None,
    lsl=None,
) -> CaptureSummary:
    """Run the pose model on every frame of ``source`` and record it.

    Parameters
    ----------
    source : webcam index, video path, or a recording made with ``save_video`` (its ``video.mkv``
        is captured again, following the person chosen in it unless ``person`` says otherwise)
    out : recording directory to create (None: no recording, e.g. for ``movekit angles VIDEO``)
    duration_s : stop after this many seconds of source time
    model_complexity : 0, 1 or 2 (only 1 ships offline)
    annotate : write the frames with skeleton and live angles to this video (``.mkv``: crash-safe,
        recommended; ``.avi``; ``.mp4``: lost if the process is killed before it ends, as the summary says)
    show : open a live window when a display exists (keys p/r/m/space/q work there)
    save_video : keep the raw frames in ``<out>/video.mkv`` (off by default: clinics often may not);
        Matroska, so a crash loses at most about the last second
    metadata : client/protocol/calibration fields stored in meta.json
    ble : Bluetooth LE devices recorded beside the camera, each ``ADDRESS:PROFILE[@LABEL][,rate=HZ]``
        (:class:`movekit.capture.ble.transport.DeviceSpec`); they run in their own thread and
        event loop on the same session clock as the frames. With a video file as source the
        frames are then released in real time so the two line up.
    ble_options : keyword arguments for :class:`movekit.capture.ble.transport.BleRecorder`
        (reconnect policy, timeouts)
    camera_profile, static_profile : calibration profile names (in :func:`movekit.calibration.profile_dir`) or paths
        (``movekit calibrate camera|static``). Both are stored in the metadata and applied to
        the live angles; the stored landmarks stay as the model gave them.
    observer : :class:`CaptureObserver` run inside the capture (needs a recording)
    realtime : release a video file's frames in real time (default: only with BLE devices)
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
    """
    import cv2

    summary = CaptureSummary(Path(out) if out else None)
    source, stored_person = _recorded_video(source)
    choice = parse_person(person if person is not None else stored_person or "largest")
    if out is not None and Path(out).exists() and not overwrite:
        raise MovekitError(f"{out} already exists; choose another path or pass --overwrite")
    ble_specs = []
    if ble:
        from movekit.capture.ble.transport import DeviceSpec

        if out is None:
            raise MovekitError("BLE devices need a recording to write to (-o)")
        ble_specs = [DeviceSpec.parse(text) for text in ble]  # bad specs fail before anything opens
    calibration = _load_calibration(camera_profile, static_profile)
    from concurrent.futures import Future, ThreadPoolExecutor

    if _measures_tilt(tilt, source):  # the room's verticals are read (~1 s) while the pose model loads
        pool = ThreadPoolExecutor(1, thread_name_prefix="movekit-tilt")
        tilt_future = pool.submit(_resolve_tilt, tilt, source, calibration, summary)
        pool.shutdown(wait=False)  # the thread ends with its one task
    else:  # given or unknown: a bad --tilt fails before anything opens
        tilt_future = Future()
        tilt_future.set_result(_resolve_tilt(tilt, source, calibration, summary))
    clock = SessionClock()
    if observer is not None and out is None:
        raise MovekitError("an observer needs a recording to write to")
    src = FrameSource(source, clock=clock, realtime=bool(ble_specs) if realtime is None else realtime)
    ble_recorder = None
    own_backend = backend is None
    writer = None
    raw_video = annotated = None
    listener = None
    window = False
    follower = None
    old_term = signal.getsignal(signal.SIGTERM)
    try:
        backend = backend or MediaPipePose(model_complexity, model_file=model_file)
        camera_tilt = tilt_future.result()
        if camera_tilt is not None:
            calibration["tilt"] = camera_tilt.to_dict()
        follower = PersonFollower(choose=choice)
        rate = None if src.is_camera else (src.fps if np.isfinite(src.fps) else None)
        if "camera" in calibration:
            cam = calibration["camera"]
            if (cam["width_px"], cam["height_px"]) != (src.width_px, src.height_px):
                raise MovekitError(
                    f"camera profile {cam['name']!r} is for {cam['width_px']}x{cam['height_px']}, "
                    f"the source is {src.width_px}x{src.height_px}"
                )
        processor = FrameProcessor(
            src.fps if np.isfinite(src.fps) and src.fps > 0 else 30.0,
            calibration,
            frame_size_px=(src.width_px, src.height_px),
        )
        if out is not None:
            meta = {
                "source": src.describe(),
                "video": {"width_px": src.width_px, "height_px": src.height_px, "nominal_fps": src.fps},
                "clock": (
                    "monotonic clock since the camera opened" if src.is_camera else "container presentation time"
                ),
                "pose_model": backend.settings(),
                "raw_video_saved": bool(save_video),
                **(metadata or {}),
                "person_selection": {"strategy": person_text(choice)},
            }
            if calibration:
                meta["calibration"] = calibration
            writer = RecordingWriter(out, meta, overwrite=overwrite)
            for spec in pose_stream_specs(rate):
                writer.add_stream(spec)
            writer.add_stream(processor.spec())
            writer.update_metadata(session_clock={"started_unix_s": clock.started_unix_s, "frames": meta["clock"]})
        if lsl is not None:  # LSL: pose + live angles per frame; the recording's other streams and events
            lsl.open_frames(rate, processor.names, clock.now())
            writer = lsl.tee(writer) if writer is not None else None
        if ble_specs:
            from movekit.capture.ble.transport import BleRecorder

            ble_recorder = BleRecorder(ble_specs, writer, clock=clock, **(ble_options or {}))
        if observer is not None:
            observer.start(writer, clock, ble_recorder)
        if ble_recorder is not None:
            ble_recorder.start()
        if annotate:
            annotated = _open_video(annotate, src)
            summary.annotated = Path(annotate)
            if not annotated.crash_safe:
                summary.notices.append(
                    f"{annotate}: an .mp4 is unreadable if the capture is killed before it "
                    "ends; use .mkv for a video that survives a crash"
                )
        if save_video and writer is not None:
            raw_video = _open_video(writer.path / RAW_VIDEO, src)
        if show:
            if has_display():
                window = True
            else:
                summary.notices.append("no display found: --show ignored (use --annotate to see the result)")
        if keys:
            listener = _KeyListener()

        def _term(signum, frame):  # SIGTERM: stop cleanly and close the recording
            raise KeyboardInterrupt

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _term)

        bar = None
        if progress:
            from tqdm import tqdm

            total = src.frame_count
            if duration_s and np.isfinite(src.fps):
                total = min(total or 10**9, int(duration_s * src.fps) + 1)
            bar = tqdm(total=total, unit="frame", desc="pose", file=sys.stderr, leave=False)
        last_index = -1
        try:
            for frame in src:
                if summary.frames == 0:
                    summary.first_t_s = frame.t_s
                if duration_s is not None and frame.t_s - summary.first_t_s >= duration_s:
                    summary.stopped_by = f"--duration {duration_s:g} s"
                    break
                if frame.index != last_index + 1 and writer is not None:
                    gap = frame.index - last_index - 1
                    summary.events.append(writer.event(frame.t_s, "frames_dropped", count=gap))
                last_index = frame.index
                est = follower.process(backend, frame.image_bgr, frame.t_s, frame.image_rgb)
                if follower.events:  # somebody else came into view, or left: rare
                    _people_events(follower.take_events(), writer, summary, follower, bar)
                _write_frame(writer, frame.t_s, est)
                live = processor.step(frame.t_s, est.image_px, est.visibility)
                if writer is not None:
                    writer.append(LIVE_STREAM, [frame.t_s], live[None])
                if lsl is not None:
                    lsl.frame(frame.t_s, est.image_px, est.visibility, live, processor.errors)
                summary.frames += 1
                summary.detected += est.found
                summary.last_t_s = frame.t_s
                if observer is not None and observer.frame(frame.t_s, est):
                    summary.stopped_by = "the observer (e.g. drill finished)"
                    break
                if raw_video is not None:
                    raw_video.write(frame.image_bgr)
                if annotated is not None or window:
                    drawn = frame.image_bgr.copy()
                    from movekit.capture.annotate import draw_pose

                    draw_pose(
                        drawn,
                        est.image_px,
                        est.visibility,
                        dict(zip(processor.names, live.tolist())),
                        frame.t_s,
                        errors=processor.errors,
                    )
                    if annotated is not None:
                        annotated.write(drawn)
                    if window:
                        cv2.imshow("movekit (p pain, r pain gone, m marker, q stop)", drawn)
                        k = cv2.waitKey(1) & 0xFF
                        if k != 255 and _handle_key(chr(k), frame.t_s, writer, summary):
                            break
                if listener is not None and any(_handle_key(k, frame.t_s, writer, summary) for k in listener.take()):
                    break
                if bar is not None:
                    bar.update(1)
                if on_frame is not None:
                    on_frame(summary.frames, frame.t_s)
        except KeyboardInterrupt:
            summary.stopped_by = "interrupt (recording closed cleanly)"
        finally:
            if bar is not None:
                bar.close()
        summary.dropped = src.dropped
        if (
            summary.stopped_by == "end of source"
            and src.frame_count
            and not src.is_camera
            and last_index + 1 < src.frame_count - 1
        ):
            summary.notices.append(
                f"the video ended early, after {last_index + 1} of the {src.frame_count} frames its container "
                f"declares (truncated or damaged file?); the frames up to {summary.last_t_s:.2f} s are kept"
            )
            if writer is not None:
                writer.event(
                    summary.last_t_s, "source_ended_early", frames_read=last_index + 1, frames_declared=src.frame_count
                )
        if src.read_error:
            summary.notices.append(
                f"the video stopped decoding early ({src.read_error}); frames up to {summary.last_t_s:.2f} s are kept"
            )
        if ble_recorder is not None:
            ble_recorder.stop()
        if observer is not None:
            observer.stop(summary.last_t_s)
        if ble_recorder is not None:
            for ev in ble_recorder.events:
                if ev.kind in (
                    "device_not_found",
                    "device_error",
                    "device_gap",
                    "device_disconnected",
                    "device_bad_data",
                    "device_rate_mismatch",
                ):
                    summary.notices.append(f"BLE {ev.device}: {ev.message}")
            ble_recorder = None
        if follower.message():
            summary.notices.append(follower.message())
        entered = [e for e in summary.events if e["kind"] == "people_in_view" and e.get("change") == "entered"]
        if entered:
            summary.notices.append(
                "somebody else came into view at "
                + ", ".join(f"{e['t_s']:.2f} s ({e['count']} people)" for e in entered[:4])
                + ("..." if len(entered) > 4 else "")
                + "; the person chosen at the start was followed"
            )
        if follower.switches_rejected:
            summary.notices.append(
                f"{follower.switches_rejected} frames where the model jumped to another person were stored as not found"
            )
        if summary.frames == 0:
            raise MovekitError(f"{source}: no frames were read")
        if writer is not None:
            writer.update_metadata(
                person_selection=follower.selection or {"strategy": person_text(choice)},
                frames_dropped=src.dropped,
                detection_rate=summary.detection_rate,
                stopped_by=summary.stopped_by,
            )
    finally:
        if ble_recorder is not None:
            ble_recorder.stop()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, old_term)
        if listener is not None:
            listener.close()
        for video in (annotated, raw_video):
            if video is not None:
                video.close()
        if window:
            cv2.destroyAllWindows()
        if writer is not None:
            writer.close()
        src.close()
        if follower is not None:
            follower.close()
        if own_backend and backend is not None:
            backend.close()
    return summary


#: the raw video inside a recording: Matroska, so a killed capture keeps its video up to about its
#: last second (recordings before 2026-12 hold ``video.mp4``, still read)
RAW_VIDEO = "video.mkv"


def _recorded_video(source):
    """``(source, person)``: a recording directory stands for its saved video (``video.mkv``, or an
    older recording's ``video.mp4``) and the person chosen when it was captured (MovekitError if it
    kept no video); anything else is returned as is."""
    if isinstance(source, int) or str(source).strip().isdigit() or not (Path(str(source)) / "meta.json").is_file():
        return source, None  # a camera, a video, or something FrameSource explains
    path = Path(source)
    video = next((path / n for n in (RAW_VIDEO, "video.mp4") if (path / n).exists()), path / RAW_VIDEO)
    if not video.exists():
        raise MovekitError(
            f"{source}: this recording kept no video (captured without --save-video); "
            "its stored pose can be replayed with movekit replay"
        )
    from movekit.recording import open_recording

    meta = open_recording(path).metadata
    return video, (meta.get("person_selection") or {}).get("strategy")


def _people_events(
    events: list[dict], writer: RecordingWriter | None, summary: CaptureSummary, follower: PersonFollower, bar
) -> None:
    """Record the follower's events (``people_in_view``, ``person_not_at_point``) and say so on the
    console (stderr) as they happen."""
    said = set()
    for ev in events:
        ev = writer.event(**ev) if writer is not None else ev
        summary.events.append(ev)
        if ev["kind"] != "people_in_view" or ev["change"] == "start":
            text = follower.message() or f"{ev['count']} people in view at the start"
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
        text = f"movekit: notice: {text}"
        if bar is not None:
            bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)


def _measures_tilt(tilt, source) -> bool:
    """True when ``capture(tilt=...)`` measures the tilt from the video (``auto``, the video default)."""
    is_camera = isinstance(source, int) or str(source).strip().isdigit()
    return (tilt is None and not is_camera) or (isinstance(tilt, str) and tilt.strip().lower() == "auto")


def _resolve_tilt(tilt, source, calibration: dict, summary: CaptureSummary):
    """The :class:`~movekit.analysis.camera_tilt.CameraTilt` for ``capture(tilt=...)``, or None (unknown)."""
    from movekit.analysis.camera_tilt import CameraTilt
    from movekit.calibration import CameraProfile, load_tilt, tilt_from_scene, video_frames

    if isinstance(tilt, CameraTilt):
        return tilt
    is_camera = isinstance(source, int) or str(source).strip().isdigit()
    spec = "auto" if tilt is None and not is_camera else (tilt or "unknown")
    if str(spec).strip().lower() == "unknown":
        summary.notices.append(
            "camera tilt unknown: angles referred to the vertical are shown only where no tilt "
            "could push them over their error limit (give --tilt, or movekit calibrate level)"
        )
        return None
    if str(spec).strip().lower() != "auto":
        return load_tilt(spec)
    if is_camera:
        raise MovekitError(
            "--tilt auto reads the room's vertical edges from a video file; for a webcam give "
            "--tilt PITCH,ROLL, --tilt level or a profile from movekit calibrate level"
        )
    cam = calibration.get("camera")
    profile = CameraProfile(**{**cam, "pattern": tuple(cam["pattern"])}) if cam else None
    try:
        found = tilt_from_scene(video_frames(source), profile)
    except MovekitError as exc:
        summary.notices.append(f"camera tilt unknown ({exc}); give --tilt or run movekit calibrate level")
        return None
    summary.notices.append(f"{found.describe()}")
    return found


def _load_calibration(camera_profile, static_profile) -> dict:
    """Profiles as plain dicts for the metadata (MovekitError if missing or unreadable)."""
    from dataclasses import asdict

    from movekit.calibration import load_camera_profile, load_static_profile

    out = {}
    if camera_profile is not None:
        out["camera"] = asdict(load_camera_profile(camera_profile))
    if static_profile is not None:
        out["static"] = asdict(load_static_profile(static_profile))
    return out


def _open_video(path, src: FrameSource):
    from movekit.capture.annotate import VideoOut

    fps = src.fps if np.isfinite(src.fps) and src.fps > 0 else 30.0
    return VideoOut(path, src.width_px, src.height_px, fps)


def _write_frame(writer: RecordingWriter | None, t_s: float, est: PoseEstimate) -> None:
    if writer is None:
        return
    t = [t_s]
    writer.append("pose_image_px", t, est.image_px[None])
    writer.append("pose_world_m", t, est.world_m[None])
    writer.append("pose_visibility", t, est.visibility[None])
    writer.append("pose_presence", t, est.presence[None])


def _handle_key(key: str, t_s: float, writer: RecordingWriter | None, summary: CaptureSummary) -> bool:
    """Store the key's event; True means stop."""
    if key in ("q", "\x1b"):
        summary.stopped_by = "q key"
        return True
    kind = EVENT_KEYS.get(key.lower())
    if kind and writer is not None:
        summary.events.append(writer.event(t_s, kind, source="key", key=key))
    return False


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
    "run_pose_on_video",
    "capture_in_memory",
    "CaptureObserver",
    "CaptureSummary",
    "pose_stream_specs",
    "POSE_STREAMS",
]
