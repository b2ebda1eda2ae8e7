"""The live part of the studio: the capture in a worker thread, its frame sink, the WebSocket hub.

A :class:`LiveScreen` runs :class:`movekit.capture.pipeline.CaptureRun` in a background thread:
first a *setup* capture (no recording; a video file loops) whose sink runs the setup check
(:func:`movekit.assess.setup_check.check_setup`) on the last second of pose, then, when the
therapist presses Record, a *recording* capture into the clinic's recording folder. Stop ends it;
the chosen screen's assessment then runs on the recording (:func:`movekit.assess.run`), and the
result and the recording are stored with the session (:class:`movekit.clinic.store.Store`), as
``movekit assess`` + ``movekit session add-result`` do.

:class:`StudioSink` is the capture's :class:`~movekit.capture.pipeline.FrameSink`: it turns the
browser's key presses into events at the time of the frame that was on screen when the key was
pressed (``CaptureRun.mark``, in the capture's recording thread), runs the setup check, and hands
each frame to the :class:`Hub` when a page is open. That is all the capture's threads do for the
page: the hub keeps only the newest frame (latest frame wins, never a queue) and its own thread
(``movekit-studio-frames``) scales it to the page's canvas, encodes the JPEG and sends it once the
page has drawn the previous one, so a slow page gets fewer frames and the capture never waits.
While the capture itself falls behind the camera (it drops frames), :class:`PageRate` offers the
page fewer frames, so the browser, which shares the cores, gives way to it; a hidden page gets none.
The skeleton travels as a float32 landmark array beside the JPEG and is drawn by the page; the
gated live angles (NaN = refused: not shown) travel with their expected errors.
:class:`Hub` also fans the frames and state out to the open WebSockets in the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import sys
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from movekit.capture.sinks import EVENT_KEYS, Sink
from movekit.outputs import strict_json

if TYPE_CHECKING:
    from movekit.capture.pipeline import CaptureRun, CaptureSummary, FrameResult

log = logging.getLogger(__name__)

#: Longest side (px) of the JPEG sent to the page, whatever the page's canvas: bounds the cost.
SEND_LONG_SIDE_PX = 960
#: Smallest canvas box (px) a page may ask for.
MIN_BOX_PX = 64
#: JPEG quality of the frames sent to the page: 60 against 70 cuts the bytes by ~17% and the
#: decode by ~8% (960x534 Sports2D frame, libjpeg-turbo in OpenCV: 71 against 85 kB, 1.31 against
#: 1.43 ms) at 32 dB PSNR (mean error 4.3 grey levels of 255): no visible loss at the page's size.
JPEG_QUALITY = 60
#: Frames sent and not yet drawn by the page: the next frame is sent when the page has drawn this
#: one (the newest frame then, the ones in between are dropped for the page).
MAX_IN_FLIGHT = 1
#: Seconds after which a frame the page never acknowledged is given up (the page went away).
ACK_TIMEOUT_S = 1.0
#: Most frames per second sent to a page: a faster camera's other frames are not offered (a 60-fps
#: camera is shown at 30 fps; the browser's cost grows with every frame it draws; see PageRate).
PAGE_MAX_FPS = 30.0
#: While the capture falls behind the camera (it drops frames), the page is offered fewer frames,
#: down to this rate (frames/s): on a busy machine the browser shares the cores with the capture,
#: whose data come first (each frame the page draws costs the browser ~10 ms of CPU here against
#: ~40 ms for the capture's pose model: docs/benchmarks.md "Studio"); the page says so. Not lower than
#: 15: a 60-fps webcam that the capture cannot follow even without the page drops frames all the
#: time, and a therapist watching a movement needs a moving picture, not a slide show (a judgement,
#: not a measured threshold: half a 30-fps camera's rate)
PAGE_MIN_FPS = 15.0
#: Most frames per second the studio analyses from a camera by default (``movekit studio
#: --camera-fps``; 0: the camera's own rate): a faster camera is asked for this rate, or thinned
#: evenly (:class:`movekit.capture.frames.FrameSource` ``max_fps``). On this 2-core machine the
#: capture cannot follow a 60-fps camera (51 frames/s with no page open, docs/benchmarks.md
#: "Studio"), so it dropped frames all the time and the page's rate fell to PAGE_MIN_FPS; at 30 it
#: keeps up and the page is shown every analysed frame (up to PAGE_MAX_FPS, the same 30).
STUDIO_CAMERA_FPS = 30.0


#: Seconds of capture over which dropped camera frames are counted before the page's rate is set.
PAGE_RATE_WINDOW_S = 1.0
#: Fraction of the camera's frames the capture may drop in a window and still count as keeping up:
#: up to 3 of 30 frames a second. With 0.05 (2 late frames of 30, the jitter of a capture that keeps
#: up) a 60-fps camera analysed at 30 was shown at 23.1 frames/s, with 0.1 at 29.8, the capture's
#: rate with the page open being the same (0.99 of its rate without the page both times; quiet
#: machine, scripts/bench_studio.py, docs/benchmarks.md "Studio").
PAGE_DROP_TOLERANCE = 0.1
#: A window with drops sets the page's rate to this times the lower of its rate and the capture's;
#: one without adds PAGE_RATE_STEP_FPS (frames/s).
PAGE_RATE_DECREASE = 0.75
PAGE_RATE_STEP_FPS = 2.0
#: Niceness added to the sender thread (Linux: per thread), so the capture's threads come first
#: when the cores are busy: watching must not slow the capture.
SENDER_NICE = 5
#: Seconds of pose the setup check reads, and how often (s) it runs.
SETUP_WINDOW_S = 1.0
SETUP_EVERY_S = 0.25
#: Keys the page may send: the capture's event keys and ``s`` (stop).
STOP_KEY = "s"
PHASES = ("starting", "setup", "recording", "analysing", "done", "error", "closed")


class Hub:
    """The open WebSockets of the studio, the newest frame waiting for them, and its sender thread.

    ``offer`` is called from the capture's recording thread and returns at once: the frame waits
    in a one-frame mailbox (a newer frame replaces it: counted in ``dropped``) until the pages
    have drawn the frame sent before (``drawn``); the ``movekit-studio-frames`` thread then
    encodes it (:func:`frame_message`) and ``publish``-es it. ``post`` sends JSON state from any
    thread; the sends themselves run in the server's event loop.
    """

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sockets: set[Any] = set()
        self.in_flight = 0
        self.last_publish_s = 0.0
        self.frames = 0  #: frames the capture handed to the studio (page connected or not)
        self.sent = 0
        self.dropped = 0  #: frames a newer frame replaced before they could be sent
        self.latencies: deque[dict] = deque(maxlen=20000)
        self.state: dict[str, Any] = {"type": "state", "phase": "closed"}
        self.box_px: tuple[int, int] | None = None  #: the page's canvas box (width, height), device px
        self.hidden = False  #: the page is not shown (hidden tab): no frame is encoded or sent
        self._cond = threading.Condition()
        self._pending: tuple[FrameResult, dict] | None = None
        self._sender: threading.Thread | None = None

    def _ready(self) -> bool:
        if self.in_flight and time.monotonic() - self.last_publish_s > ACK_TIMEOUT_S:
            self.in_flight = 0  # a page that went away without saying so
        return self.in_flight < MAX_IN_FLIGHT

    @property
    def watched(self) -> bool:
        """True when a page is open and shown: frames are worth offering."""
        return bool(self.sockets) and not self.hidden

    def ready(self) -> bool:
        """True when a page is connected and has drawn the frames sent to it (but MAX_IN_FLIGHT - 1)."""
        if not self.watched or self.loop is None:
            return False
        with self._cond:
            return self._ready()

    def offer(self, result: FrameResult, header: dict) -> None:
        """The newest frame for the pages (capture thread; returns at once). ``header`` holds what
        the capture thread knows beside ``result`` (phase, setup, times)."""
        with self._cond:
            if self._pending is not None:
                self.dropped += 1  # the page was still drawing: this one is never sent
            self._pending = (result, header)
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_loop, daemon=True, name="movekit-studio-frames")
                self._sender.start()
            self._cond.notify_all()

    def forget(self) -> None:
        """Drop the frame waiting, if any (the live screen closed)."""
        with self._cond:
            self._pending = None

    def _take(self) -> tuple[FrameResult, dict]:
        """Wait for a frame and a page ready for it; the newest frame then."""
        with self._cond:
            while self._pending is None or not self.watched or not self._ready():
                self._cond.wait(timeout=0.25)  # the timeout lets a lost acknowledgement expire
            item, self._pending = self._pending, None
            return item

    def _send_loop(self) -> None:
        if sys.platform.startswith("linux"):  # elsewhere PRIO_PROCESS would take the id as a process's
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SENDER_NICE)
        while True:
            result, header = self._take()
            try:
                header["send_unix_ms"] = time.time() * 1000.0
                payload = frame_message(result, header, self.box_px)
            except Exception:  # noqa: BLE001 (one bad frame must not end the live view)
                log.exception("studio: encoding a frame for the page failed")
                continue
            self.publish(payload)

    def publish(self, payload: bytes) -> None:
        """Send one frame message to every page (thread-safe)."""
        with self._cond:
            self.in_flight += 1
            self.last_publish_s = time.monotonic()
            self.sent += 1
        self.loop.call_soon_threadsafe(self._fan_out, payload, True)

    def post(self, message: dict) -> None:
        """Send a JSON message to every page (thread-safe); a ``state`` message is also kept for
        pages that connect later."""
        if message.get("type") == "state":
            self.state = message
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._fan_out, json.dumps(strict_json(message), allow_nan=False), False)

    def _fan_out(self, payload: bytes | str, binary: bool) -> None:
        for ws in list(self.sockets):
            asyncio.ensure_future(self._send(ws, payload, binary))

    async def _send(self, ws, payload: bytes | str, binary: bool) -> None:
        try:
            await (ws.send_bytes(payload) if binary else ws.send_text(payload))
        except Exception:  # noqa: BLE001 (the page closed: forget it)
            self.sockets.discard(ws)

    def add(self, ws) -> None:
        with self._cond:
            self.sockets.add(ws)
            self.in_flight = 0
            self.hidden = False  # a new page is shown until it says otherwise
            self._cond.notify_all()

    def set_box(self, width_px: int, height_px: int) -> None:
        """The page's canvas box (device px): frames are scaled to fit it (never above
        SEND_LONG_SIDE_PX), so the page decodes no pixel it cannot show. An empty box (0 x 0) means
        the page is not shown (its tab is hidden): nothing is encoded or sent until it is again."""
        if not (np.isfinite(width_px) and np.isfinite(height_px)):
            return
        with self._cond:
            self.hidden = width_px < 1 or height_px < 1
            if not self.hidden:
                self.box_px = tuple(int(min(max(MIN_BOX_PX, v), SEND_LONG_SIDE_PX)) for v in (width_px, height_px))
            self._cond.notify_all()

    def drawn(self, message: dict) -> None:
        """The page drew a frame (or skipped one): one fewer in flight; its timings are kept for the benchmark."""
        with self._cond:
            self.in_flight = max(0, self.in_flight - 1)
            self._cond.notify_all()
        keep = ("index", "frame_unix_ms", "send_unix_ms", "receive_unix_ms", "draw_unix_ms")
        if all(isinstance(message.get(k), (int, float)) for k in keep):
            page_ms = {
                k: float(message[k]) for k in ("decode_ms", "draw_ms") if isinstance(message.get(k), (int, float))
            }
            self.latencies.append({**{k: float(message[k]) for k in keep}, **page_ms})

    def stats(self) -> dict:
        return {"frames": self.frames, "sent": self.sent, "dropped": self.dropped, "drawn": len(self.latencies)}


class PageRate:
    """How many frames a second the page is offered: every frame (up to ``max_fps``) while the
    capture keeps up with the camera; fewer while it falls behind, so the browser, which shares the
    cores, gives way to the capture (a quick machine keeps the full rate).

    Frames the capture dropped show as gaps in the frame index (less the frames the rate limit
    skipped, ``max_fps``: those are not the capture falling behind). Every ``PAGE_RATE_WINDOW_S`` of
    capture, a window in which more than ``PAGE_DROP_TOLERANCE`` of the camera's frames were
    dropped sets the rate to ``PAGE_RATE_DECREASE`` times the lower of the rate and the frames the
    capture processed a second (not below ``min_fps``); a window
    without adds ``PAGE_RATE_STEP_FPS`` (not above ``max_fps``): additive increase,
    multiplicative decrease, as TCP shares a link (Chiu & Jain 1989).
    """

    def __init__(self, max_fps: float = PAGE_MAX_FPS, min_fps: float = PAGE_MIN_FPS) -> None:
        self.max_fps, self.min_fps = max_fps, min_fps
        self.limit_fps = max_fps  #: frames/s offered to the page now
        self.capture_fps: float | None = None  #: frames/s the capture processed in the last window
        self._last_index: int | None = None
        self._last_skipped = 0
        self._window_start_s: float | None = None
        self._seen = 0
        self._dropped = 0
        self._credit = 1.0  #: frames the page may be offered now (a frame is offered at >= 0.8)
        self._last_t_s: float | None = None

    @property
    def limited(self) -> bool:
        """True while the page is offered fewer frames because the capture fell behind."""
        return self.limit_fps < self.max_fps

    def restart(self) -> None:
        """A new capture (its frame index and clock start again); the rate reached is kept."""
        self._last_index = self._window_start_s = None
        self._seen = self._dropped = self._last_skipped = 0
        self._credit, self._last_t_s = 1.0, None

    def frame(self, index: int, t_s: float, rate_skipped: int = 0) -> bool:
        """Count the capture's frame ``index`` at ``t_s`` (session s), ``rate_skipped`` frames skipped
        by the rate limit since the source opened; True if it is to be offered."""
        if self._last_index is not None and index > self._last_index:
            skipped = max(0, rate_skipped - self._last_skipped)
            self._dropped += max(0, index - self._last_index - 1 - skipped)
        self._last_index, self._last_skipped = index, rate_skipped
        self._seen += 1
        if self._window_start_s is None or t_s < self._window_start_s:
            self._window_start_s = t_s
        elif t_s - self._window_start_s >= PAGE_RATE_WINDOW_S:
            self.capture_fps = (self._seen - 1) / (t_s - self._window_start_s)
            self._adjust()
            self._window_start_s, self._seen, self._dropped = t_s, 1, 0  # this frame opens the next window
        return self._spend(t_s)

    def _spend(self, t_s: float) -> bool:
        """Offer at ``limit_fps`` on average whatever the capture's rate: each frame earns credit
        for the time since the previous one; a frame is offered at 0.8 credit (a camera's jitter
        costs no frame) and spends 1; at most 1.5 is kept."""
        if self._last_t_s is not None and t_s >= self._last_t_s:
            self._credit = min(1.5, self._credit + (t_s - self._last_t_s) * self.limit_fps)
        self._last_t_s = t_s
        if self._credit < 0.8:
            return False
        self._credit = max(0.0, self._credit - 1.0)
        return True

    def _adjust(self) -> None:
        if self._dropped > PAGE_DROP_TOLERANCE * (self._seen + self._dropped):
            reached = min(self.limit_fps, self.capture_fps or self.limit_fps)  # the page can get no more
            self.limit_fps = max(self.min_fps, reached * PAGE_RATE_DECREASE)
        else:
            self.limit_fps = min(self.max_fps, self.limit_fps + PAGE_RATE_STEP_FPS)


def fit_scale(size_px: tuple[int, int], box_px: tuple[int, int] | None, long_side_px: int = SEND_LONG_SIDE_PX) -> float:
    """Scale (<= 1) that fits an image of ``size_px`` (width, height) into the page's canvas box
    ``box_px`` and within ``long_side_px`` on its longer side."""
    w, h = size_px
    scale = min(1.0, long_side_px / max(w, h))
    if box_px is not None:
        scale = min(scale, box_px[0] / w, box_px[1] / h)
    return scale


def encode_frame(
    image_bgr: np.ndarray,
    header: dict,
    long_side_px: int = SEND_LONG_SIDE_PX,
    *,
    pose: np.ndarray | None = None,
    box_px: tuple[int, int] | None = None,
) -> tuple[bytes, float]:
    """The page's frame message: 4-byte big-endian header length, JSON header (padded with spaces
    to a multiple of 4 bytes), then ``header["pose_n"]`` landmarks as little-endian float32
    ``(x_px, y_px, visibility)`` in the sent image's pixels (NaN: not seen), then the JPEG.

    Parameters
    ----------
    image_bgr : the full frame, (height, width, 3) uint8
    header : JSON-able fields for the page
    long_side_px : longest side of the sent image (px)
    pose : (33, 2+) landmarks in full-frame px and (33,) visibility stacked as (33, 3), or None
    box_px : the page's canvas box (width, height) in device px: the image is scaled to fit it

    Returns
    -------
    The message and the scale applied to the image (sent px per full-frame px).
    """
    import cv2

    h, w = image_bgr.shape[:2]
    scale = fit_scale((w, h), box_px, long_side_px)
    img = (
        image_bgr
        if scale == 1.0
        else cv2.resize(image_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    )
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    landmarks = b""
    if pose is not None:
        p = np.asarray(pose, np.float32).copy()
        p[:, :2] *= scale
        landmarks = p.astype("<f4").tobytes()
    head = json.dumps({**header, "width_px": img.shape[1], "height_px": img.shape[0], "scale": scale,
                       "pose_n": 0 if pose is None else len(pose)}).encode()  # fmt: skip
    head += b" " * (-(4 + len(head)) % 4)  # the float32 array after it starts 4-byte aligned
    return len(head).to_bytes(4, "big") + head + landmarks + jpg.tobytes(), scale


def frame_message(result: FrameResult, header: dict, box_px: tuple[int, int] | None = None) -> bytes:
    """One frame for the page (the sender thread): the gated angles with their errors, the
    followed person's landmarks (``pose_n`` = 0 when nobody was found) and the JPEG, scaled to
    the page's canvas box."""
    est = result.estimate
    pose = None
    if est.found:
        pose = np.column_stack([est.image_px[:, :2], est.visibility]).astype(np.float32)
        pose[~np.isfinite(pose).all(axis=1)] = np.nan  # unseen: the page skips it
    header = {**header, "view": result.view, "angles": shown_angles(result.angles_deg, result.errors_deg)}
    return encode_frame(result.image_bgr, header, pose=pose, box_px=box_px)[0]


def shown_angles(angles_deg: dict[str, float], errors_deg: dict[str, float]) -> list[dict]:
    """The angles the gate let through (finite), each with its expected error (deg)."""
    out = []
    for name, v in angles_deg.items():
        if v is not None and np.isfinite(v):
            err = errors_deg.get(name, float("nan"))
            out.append({"name": name, "value_deg": round(float(v), 1),
                        "error_deg": round(float(err), 1) if np.isfinite(err) else None})  # fmt: skip
    return out


class StudioSink(Sink):
    """The capture's sink for the studio page (see the module docstring)."""

    def __init__(self, live: LiveScreen) -> None:
        self.live = live
        self._shown: OrderedDict[int, float] = OrderedDict()  # frame index -> t_s, recent frames
        self._window: deque = deque()
        self._next_check_s = -np.inf
        self._tilt = None
        self.setup = None
        self._setup_msg: dict | None = None
        self._camera_fps: float | None = None
        self._analysed_fps: float | None = None

    def open(self, run: CaptureRun) -> None:
        from movekit.analysis.camera_tilt import CameraTilt

        super().open(run)
        tilt = run.calibration.get("tilt")
        self._tilt = CameraTilt.from_dict(tilt) if tilt else None
        self.size_px = (run.src.width_px, run.src.height_px)
        # the camera's own rate, and the rate it is analysed at (under the studio's --camera-fps)
        fps = float(getattr(run.src, "fps", float("nan")))
        self._camera_fps = round(fps, 2) if np.isfinite(fps) and fps > 0 else None
        fps = float(getattr(run.src, "analysed_fps", fps))
        self._analysed_fps = round(fps, 2) if np.isfinite(fps) and fps > 0 else None
        self.live.page_rate.restart()

    def frame(self, result: FrameResult) -> bool:
        self._shown[result.index] = result.t_s
        while len(self._shown) > 600:
            self._shown.popitem(last=False)
        stop = self._drain_keys(result)
        self._update_setup(result)
        hub = self.live.hub
        hub.frames += 1
        offer = self.live.page_rate.frame(result.index, result.t_s, result.rate_skipped)  # counts the capture's drops
        if offer and hub.watched:  # no page shown, no cost
            hub.offer(result, self._header(result))
        return stop

    def _drain_keys(self, result: FrameResult) -> bool:
        stop = False
        while not self.live.keys.empty():
            key, index = self.live.keys.get()
            if key == STOP_KEY:
                self.run.request_stop("stop pressed in the studio")
                stop = True
                continue
            kind = EVENT_KEYS.get(key)
            if kind is None:
                continue
            t_s = self._shown.get(index, result.t_s) if index is not None else result.t_s
            ev = self.run.mark(t_s, kind, source="studio", key=key, frame_index=index)
            self.live.events.append(ev)
            self.live.hub.post({"type": "event", "kind": kind, "t_s": round(t_s - self.live.t0_s(result), 3)})
        return stop

    def _update_setup(self, result: FrameResult) -> None:
        from movekit.assess.setup_check import check_setup

        est = result.estimate
        self._window.append((result.t_s, est.image_px[:, :2].copy(), est.visibility.copy()))
        while self._window and result.t_s - self._window[0][0] > SETUP_WINDOW_S:
            self._window.popleft()
        if result.t_s < self._next_check_s:
            return
        self._next_check_s = result.t_s + SETUP_EVERY_S
        img = np.stack([w[1] for w in self._window])
        vis = np.stack([w[2] for w in self._window])
        self.setup = check_setup(
            self.live.screen,
            img,
            vis,
            self.size_px,
            tilt=self._tilt,
            people_in_view=self._people(),
            person_chosen=self.run.options.person is not None,
        )
        s = self.setup
        self._setup_msg = {"valid": s.valid, "text": s.text(), "problems": list(s.problems), "notes": list(s.notes)}

    def _people(self) -> int | None:
        for ev in reversed(self.run.summary.events):
            if ev.get("kind") == "people_in_view":
                return int(ev.get("count", 1))
        return None

    def _header(self, result: FrameResult) -> dict:
        """What the page needs beside the frame, as the capture thread knows it now (cheap: the
        image, landmarks and angles are encoded in the hub's sender thread)."""
        rate = self.live.page_rate
        return {"type": "frame", "index": result.index, "t_s": round(result.t_s - self.live.t0_s(result), 3),
                "frame_unix_ms": (self.run.clock.started_unix_s + result.t_s) * 1000.0,
                "phase": self.live.phase, "setup": self._setup_msg, "events": len(self.live.events),
                "camera_fps": self._camera_fps, "analysed_fps": self._analysed_fps, "page_max_fps": round(rate.limit_fps, 1),
                "page_limited": rate.limited, "capture_fps": None if rate.capture_fps is None else round(rate.capture_fps, 1)}  # fmt: skip

    def say(self, text: str) -> None:
        """A capture notice (e.g. somebody else came into view): shown on the page, not the console."""
        self.live.hub.post({"type": "notice", "text": text.removeprefix("movekit: notice: ")})

    def close(self, summary: CaptureSummary) -> None:
        return None


@dataclass
class LiveOptions:
    """What a live session records and assesses."""

    screen: str
    client: str
    session_id: int
    sources: list
    source_index: int = 0
    recordings_dir: Path = Path(".")
    db: Path | None = None
    side: str | None = None
    age: float | None = None
    model_complexity: int = 1
    save_video: bool = False  #: keep the raw frames in the recording (video.mkv); off unless asked
    #: most frames/s analysed from the camera (None: its own rate; the studio passes its
    #: ``StudioConfig.camera_fps``)
    max_fps: float | None = STUDIO_CAMERA_FPS


class LiveScreen:
    """Setup check, recording and assessment of one screen, in a worker thread (module docstring)."""

    def __init__(self, options: LiveOptions, hub: Hub) -> None:
        from movekit.assess.setup_check import SCREEN_SETUP
        from movekit.errors import MovekitError

        if options.screen not in SCREEN_SETUP:
            raise MovekitError(f"unknown screen {options.screen!r}; choose one of {', '.join(SCREEN_SETUP)}")
        if not 0 <= options.source_index < len(options.sources):
            raise MovekitError(f"no camera {options.source_index}: the studio has {len(options.sources)}")
        self.options, self.hub = options, hub
        self.page_rate = PageRate()  #: frames/s offered to the page (kept across the setup view's restarts)
        self.screen = options.screen
        self.phase = "starting"
        self.events: list[dict] = []
        #: key presses of the recording, (key, frame index on screen): kept here, not in a sink, so a
        #: press between the Record click and the recording's first frame is stored too (at that frame)
        self.keys: queue.SimpleQueue = queue.SimpleQueue()
        self.recording_path: Path | None = None
        self.result_url: str | None = None
        self.error: str | None = None
        self.person: str | None = None
        self._run: CaptureRun | None = None
        self._sink: StudioSink | None = None
        self._record = threading.Event()
        self._closed = threading.Event()
        self._tilts: dict[int, Any] = {}
        self._t0: float | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="movekit-studio-capture")

    # -- called from the web server ---------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    @property
    def recording(self) -> bool:
        return self.phase == "recording"

    def press(self, key: str, frame_index: int | None) -> None:
        """A key from the page (thread-safe): p pain, r pain gone, m/space marker, s stop; stored by
        the capture thread at the time of the frame that was on screen. Ignored outside a recording."""
        if self.phase == "recording":
            self.keys.put((key, frame_index))

    def record(self) -> None:
        """Stop the setup view and start recording (the setup check is shown, not enforced)."""
        if self.phase == "setup":
            self._record.set()
            self._stop_run("record pressed")

    def stop(self) -> None:
        self.press(STOP_KEY, None)

    def switch_camera(self, index: int) -> None:
        if self.phase == "setup" and 0 <= index < len(self.options.sources) and index != self.options.source_index:
            self.options.source_index = index
            self.person = None
            self._stop_run("camera changed")

    def choose_person(self, x_px: float, y_px: float) -> None:
        """Follow the person at this point of the full frame (the page's click), from the next start."""
        if self.phase == "setup":
            self.person = f"{x_px:.0f},{y_px:.0f}"
            self._stop_run("person chosen")

    def close(self) -> None:
        self._closed.set()
        self._stop_run("studio closed")
        self.hub.forget()
        self._thread.join(timeout=10)

    def t0_s(self, result: FrameResult) -> float:
        if self._t0 is None:
            self._t0 = result.t_s
        return self._t0

    def state(self) -> dict:
        o = self.options
        return {"type": "state", "phase": self.phase, "screen": self.screen, "client": o.client,
                "session_id": o.session_id, "camera": o.source_index, "result_url": self.result_url,
                "error": self.error, "events": len(self.events)}  # fmt: skip

    # -- the worker thread -------------------------------------------------------------------
    def _stop_run(self, reason: str) -> None:
        run = self._run
        if run is not None:
            run.request_stop(reason)

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.hub.post(self.state())

    def _main(self) -> None:
        from movekit.capture.pose import MediaPipePose

        backend = None
        try:
            backend = MediaPipePose(self.options.model_complexity)
            self._setup_loop(backend)
            if self._record.is_set() and not self._closed.is_set():
                self._recording(backend)
        except Exception as exc:  # noqa: BLE001 (shown on the page; the server keeps running)
            log.exception("studio capture failed")
            self.error = str(exc) or type(exc).__name__
            self._set_phase("error")
        finally:
            if backend is not None:
                backend.close()
            if self.phase not in ("done", "error"):
                self._set_phase("closed")

    def _is_video(self) -> bool:
        return not str(self.options.sources[self.options.source_index]).strip().isdigit()

    def _source(self):
        s = self.options.sources[self.options.source_index]
        return int(s) if str(s).strip().isdigit() else Path(s)

    def _capture(self, out: Path | None, backend, metadata: dict | None = None) -> CaptureSummary:
        from movekit.capture.pipeline import CaptureOptions, CaptureRun

        i = self.options.source_index
        opts = CaptureOptions(realtime=True, drop_late=True, person=self.person, tilt=self._tilts.get(i), metadata=metadata,
                              max_fps=self.options.max_fps,
                              model_complexity=self.options.model_complexity,
                              save_video=self.options.save_video and out is not None)  # fmt: skip
        self._sink = StudioSink(self)
        self._t0 = None
        self._run = CaptureRun(self._source(), out, opts, [self._sink], backend=backend)
        if self._closed.is_set() or (out is None and self._record.is_set()):
            return self._run.summary
        try:
            return self._run.run()
        finally:
            tilt = self._run.calibration.get("tilt")
            if tilt and i not in self._tilts:  # measured once per camera, then reused
                from movekit.analysis.camera_tilt import CameraTilt

                self._tilts[i] = CameraTilt.from_dict(tilt)

    def _setup_loop(self, backend) -> None:
        """Setup view until Record (a video file starts again at its end; a webcam that ends stops)."""
        self._set_phase("setup")
        while not self._closed.is_set() and not self._record.is_set():
            summary = self._capture(None, backend)
            if summary.stopped_by == "end of source" and not self._is_video():
                raise RuntimeError(f"camera {self._source()} stopped giving frames")

    def _recording(self, backend) -> None:
        o = self.options
        self.recording_path = self._free_path()
        self._set_phase("recording")
        meta = {"client": o.client, "protocol": o.screen, "studio": {"session_id": o.session_id}}
        summary = self._capture(self.recording_path, backend, metadata=meta)
        if self._closed.is_set():
            return
        self._set_phase("analysing")
        self.result_url = self._assess(summary)
        self._set_phase("done")

    def _free_path(self) -> Path:
        o = self.options
        folder = Path(o.recordings_dir) / o.client
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{o.screen}-s{o.session_id}"
        path, n = folder / f"{base}.mkrec", 1
        while path.exists():
            n += 1
            path = folder / f"{base}-{n}.mkrec"
        return path

    def _assess(self, summary: CaptureSummary) -> str:
        """Run the screen on the recording, store result and recording with the session; the
        result card's address."""
        from movekit.assess import run as run_screen
        from movekit.assess.sources import load_trial
        from movekit.clinic.store import Store

        o = self.options
        session = load_trial(self.recording_path)
        result = run_screen(o.screen, session, side=o.side, age=o.age)
        with Store(o.db) as st:
            st.link_recording(o.session_id, self.recording_path)
            aid = st.add_assessment(o.session_id, result.to_json())
        log.info("studio: %s stored as assessment %s (%s)", o.screen, aid, summary.text().splitlines()[0])
        return f"/sessions/{o.session_id}/results/{aid}"


__all__ = [
    "Hub",
    "LiveOptions",
    "LiveScreen",
    "PageRate",
    "StudioSink",
    "STUDIO_CAMERA_FPS",
    "encode_frame",
    "fit_scale",
    "frame_message",
    "shown_angles",
]
