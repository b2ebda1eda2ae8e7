"""Audio for cues: generated tones, spoken phrases from espeak-ng (synthesised once and cached),
low-latency playback through the sound device, and a WAV writer that places each cue at its
session time.

Latency: sound that follows a movement is heard as delayed from ~20-30 ms (Maki-Patola &
Hamalainen 2004, "Latency tolerance for gesture controlled continuous sound instrument without
tactile feedback", ICMC); feedback should stay under ~100 ms overall. Cue sounds are therefore
prepared before they are needed (tones precomputed, phrases synthesised and cached when a drill
loads) and playback mixes them into an already running output stream with a small block size,
instead of opening a device per cue.

One voice at a time: :class:`CueAudio` passes every sound through the scheduler of
:mod:`movekit.feedback.schedule` (priorities, nothing overlaps, nothing is cut, stale cues
dropped), so the WAV holds each sound whole and alone and nothing clips (each sound peaks at
:data:`PEAK_MAX` at most).

Nothing here is fatal: without a sound device (or without the PortAudio library the
``sounddevice`` package needs) playback is off with one notice and cues still go to the WAV file;
without espeak-ng phrases fall back to tones with one notice.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from movekit.feedback.schedule import GAP_S, CueScheduler, Placement, SoundRequest

RATE_HZ = 22050  #: output sample rate (espeak-ng's native rate, plenty for speech and tones)
#: Highest peak of one cue sound (-1 dBFS): sounds never overlap (:mod:`movekit.feedback.schedule`),
#: so with this headroom nothing reaches full scale and nothing clips.
PEAK_MAX = 0.89


def _notice(msg: str) -> None:
    print(f"movekit: notice: {msg}", file=sys.stderr)


# -------------------------------------------------------------------------------------- tones
def tone(
    freq_hz: float, dur_s: float = 0.15, rate_hz: int = RATE_HZ, amplitude: float = 0.4, ramp_s: float = 0.005
) -> np.ndarray:
    """A sine tone (float32, -1..1) with raised-cosine on/off ramps against clicks.

    Parameters
    ----------
    freq_hz : float
        Frequency (Hz), below ``rate_hz / 2``.
    dur_s : float
        Duration (s).
    amplitude : float
        Peak amplitude, 0-1 of full scale.
    ramp_s : float
        Length of each ramp (s).
    """
    n = max(0, int(round(dur_s * rate_hz)))
    t = np.arange(n) / rate_hz
    y = amplitude * np.sin(2 * np.pi * freq_hz * t)
    r = min(int(round(ramp_s * rate_hz)), n // 2)
    if r > 0:
        w = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        y[:r] *= w
        y[n - r :] *= w[::-1]
    return y.astype(np.float32)


def success_tone(rate_hz: int = RATE_HZ) -> np.ndarray:
    """Two rising notes (660 Hz then 880 Hz, 90 ms each): the 'got it' sound of confirm cues."""
    return np.concatenate([tone(660.0, 0.09, rate_hz), tone(880.0, 0.09, rate_hz)])


# ------------------------------------------------------------------------------------- speech
def _cache_root() -> Path:
    env = os.environ.get("MOVEKIT_AUDIO_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("movekit")) / "speech"


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples (-1..1) and the rate of a 16-bit PCM WAV (channels averaged)."""
    with wave.open(str(path), "rb") as w:
        rate, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit WAV, expected 16-bit")
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return x.reshape(-1, ch).mean(axis=1), rate


def write_wav(path: str | Path, samples: np.ndarray, rate_hz: int = RATE_HZ) -> None:
    """Write mono float samples (-1..1, clipped) as 16-bit PCM WAV."""
    y = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    pcm = np.round(y * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate_hz))
        w.writeframes(pcm.tobytes())


class Speech:
    """Phrases from espeak-ng, synthesised once per (text, voice, speed) and cached as WAV.

    Parameters
    ----------
    voice : str
        espeak-ng voice, default "en".
    words_per_min : int
        Speaking rate (espeak-ng ``-s``); 150 is calm and clear.
    cache_dir : path, optional
        Default ``$MOVEKIT_AUDIO_CACHE`` or the user cache directory.
    executable : str
        espeak-ng program name or path (the Debian/Ubuntu package is ``espeak-ng``).

    ``available`` is False when espeak-ng is missing or fails; :meth:`say` then returns None and a
    single notice is printed.
    """

    def __init__(
        self,
        voice: str = "en",
        words_per_min: int = 150,
        cache_dir: str | Path | None = None,
        executable: str = "espeak-ng",
        rate_hz: int = RATE_HZ,
    ):
        self.voice, self.wpm, self.rate_hz = voice, int(words_per_min), int(rate_hz)
        self.cache_dir = Path(cache_dir) if cache_dir else _cache_root()
        self.exe = shutil.which(executable)
        self._memo: dict[str, np.ndarray] = {}
        self._warned = False
        if self.exe is None:
            self._warn(f"{executable} is not installed (apt-get install espeak-ng): spoken cues fall back to tones")

    @property
    def available(self) -> bool:
        return self.exe is not None

    def _warn(self, msg: str) -> None:
        if not self._warned:
            _notice(msg)
            self._warned = True

    def cache_path(self, text: str) -> Path:
        key = hashlib.sha256(f"{self.voice}\0{self.wpm}\0{text}".encode()).hexdigest()[:24]
        return self.cache_dir / f"{key}.wav"

    def say(self, text: str) -> np.ndarray | None:
        """Samples of ``text`` spoken at ``rate_hz`` (float32), or None without espeak-ng."""
        if text in self._memo:
            return self._memo[text]
        if self.exe is None:
            return None
        path = self.cache_path(text)
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.part.wav")
            # the text follows "--": a cue such as "-f/etc/passwd" is spoken, never read as an option
            try:
                proc = subprocess.run(
                    [self.exe, "-v", self.voice, "-s", str(self.wpm), "-w", str(tmp), "--", text],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                self._warn(f"espeak-ng failed ({exc}); spoken cues fall back to tones")
                self.exe = None
                return None
            if proc.returncode != 0 or not tmp.exists():
                self._warn(f"espeak-ng failed: {proc.stderr.strip()[:200]}; spoken cues fall back to tones")
                self.exe = None
                tmp.unlink(missing_ok=True)
                return None
            tmp.replace(path)
        x, rate = read_wav(path)
        if rate != self.rate_hz:
            from math import gcd

            from scipy.signal import resample_poly

            g = gcd(rate, self.rate_hz)
            x = resample_poly(x, self.rate_hz // g, rate // g).astype(np.float32)
        x = x.astype(np.float32)
        self._memo[text] = x
        return x


# ------------------------------------------------------------------------------------- cue sounds
@dataclass
class CueSounds:
    """Turns cue events (or anything with ``say``, ``tone_hz``, ``tone_s``, ``kind``) into samples.

    A confirm cue plays the success tone; a prompt plays its tone (if any) then its phrase; a
    phrase without espeak-ng becomes a 440 Hz tone of 0.3 s so the cue is still heard.
    """

    speech: Speech | None = None
    rate_hz: int = RATE_HZ
    _memo: dict = field(default_factory=dict)

    def render(
        self, say: str | None = None, tone_hz: float = 0.0, tone_s: float = 0.15, kind: str = "prompt"
    ) -> np.ndarray:
        key = (say, float(tone_hz), float(tone_s), kind)
        if key in self._memo:
            return self._memo[key]
        parts: list[np.ndarray] = []
        if kind == "confirm":
            parts.append(success_tone(self.rate_hz))
        elif tone_hz > 0:
            parts.append(tone(tone_hz, tone_s, self.rate_hz))
        if say:
            spoken = self.speech.say(say) if self.speech is not None else None
            if spoken is None:
                if not parts:
                    parts.append(tone(440.0, 0.3, self.rate_hz))
            else:
                if parts:
                    parts.append(np.zeros(int(0.05 * self.rate_hz), np.float32))
                parts.append(spoken)
        out = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        peak = float(np.max(np.abs(out))) if len(out) else 0.0
        if peak > PEAK_MAX:  # a loud synthesised phrase: scale it down rather than clip it
            out = (out * (PEAK_MAX / peak)).astype(np.float32)
        self._memo[key] = out
        return out

    def render_event(self, ev) -> np.ndarray:
        get = ev.get if isinstance(ev, dict) else lambda k, d=None: getattr(ev, k, d)
        kind = get("cue_kind", None) or get("kind", "prompt")
        return self.render(
            get("say", None),
            float(get("tone_hz", 0.0) or 0.0),
            float(get("tone_s", 0.15) or 0.15),
            kind if kind in ("prompt", "confirm") else "prompt",
        )


# ------------------------------------------------------------------------------------- WAV output
class WavTimeline:
    """Collects sounds at session times and writes one WAV with each at its time.

    Time zero of the file is ``t0_s`` on the session clock (default: the first sound's time is
    kept relative to 0, i.e. the WAV starts at session time 0). Overlapping sounds are mixed (a
    drill's sounds never overlap: :class:`CueAudio` schedules them); ``clipped_samples`` counts
    the samples beyond full scale in the last :meth:`render` (they are clipped when written).
    """

    def __init__(self, rate_hz: int = RATE_HZ, t0_s: float = 0.0):
        self.rate_hz, self.t0_s = int(rate_hz), float(t0_s)
        self.items: list[tuple[float, np.ndarray]] = []
        self.end_s = 0.0
        self.clipped_samples = 0

    def add(self, t_s: float, samples: np.ndarray) -> None:
        self.items.append((float(t_s), np.asarray(samples, dtype=np.float32)))

    def extend_to(self, t_s: float) -> None:
        """Make the file last at least until session time ``t_s``."""
        self.end_s = max(self.end_s, float(t_s) - self.t0_s)

    def render(self) -> np.ndarray:
        n = int(np.ceil(self.end_s * self.rate_hz))
        for t, x in self.items:
            n = max(n, int(round((t - self.t0_s) * self.rate_hz)) + len(x))
        out = np.zeros(n, np.float64)
        for t, x in self.items:
            i = int(round((t - self.t0_s) * self.rate_hz))
            if i < 0:
                x, i = x[-i:], 0
            out[i : i + len(x)] += x
        self.clipped_samples = int(np.count_nonzero(np.abs(out) > 1.0))
        return out

    def write(self, path: str | Path) -> Path:
        from movekit.errors import MovekitError
        from movekit.outputs import atomic_path

        path = Path(path)
        try:
            with atomic_path(path) as tmp:  # atomic and private (0600)
                write_wav(tmp, self.render(), self.rate_hz)
        except OSError as exc:
            raise MovekitError(f"cannot write {path}: {exc.strerror}") from None
        return path


# ------------------------------------------------------------------------------------- playback
class Player:
    """Low-latency playback: one running output stream mixes queued sounds in small blocks.

    Parameters
    ----------
    rate_hz : int
    blocksize : int
        Frames per callback (256 at 22.05 kHz = 11.6 ms).
    enabled : bool
        False = never touch the sound device.

    ``available`` is False (after one notice) when ``sounddevice``/PortAudio is missing or there is
    no output device; :meth:`play` is then a no-op returning None. When playing, :meth:`play`
    returns the delay measured so far for that sound once it starts (see ``delays_s``): the time
    from the call to the moment PortAudio reports the first sample reaching the DAC.
    """

    def __init__(self, rate_hz: int = RATE_HZ, blocksize: int = 256, enabled: bool = True):
        self.rate_hz, self.blocksize = int(rate_hz), int(blocksize)
        self._lock = threading.Lock()
        self._active: list[list] = []  # [samples, position, t_call_perf, first_dac_delay]
        self.delays_s: list[float] = []
        self._stream = None
        self.reason = ""
        if not enabled:
            self.reason = "audio playback off"
            return
        try:
            import sounddevice as sd  # noqa: F401 (raises OSError without PortAudio)
        except (ImportError, OSError) as exc:
            self.reason = f"no sound playback ({exc}); cues are logged and written to the WAV only"
            _notice(self.reason)
            return
        try:
            sd.query_devices(kind="output")
            self._sd = sd
            self._stream = sd.OutputStream(
                samplerate=self.rate_hz,
                channels=1,
                dtype="float32",
                blocksize=self.blocksize,
                latency="low",
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 (PortAudioError, ValueError: no device)
            self._stream = None
            self.reason = f"no sound output device ({exc}); cues are logged and written to the WAV only"
            _notice(self.reason)

    @property
    def available(self) -> bool:
        return self._stream is not None

    def _callback(self, outdata, frames, time_info, status) -> None:  # pragma: no cover - needs a device
        out = np.zeros(frames, np.float32)
        now = time.perf_counter()
        with self._lock:
            keep = []
            for item in self._active:
                x, pos = item[0], item[1]
                lead = min(frames, max(0, -pos))  # a delayed sound: silence first
                if pos <= 0 < pos + frames:
                    dac_wait = max(0.0, time_info.outputBufferDacTime - time_info.currentTime)
                    self.delays_s.append(now - item[2] + dac_wait + lead / self.rate_hz)
                i0 = max(0, pos)
                k = max(0, min(frames - lead, len(x) - i0))
                out[lead : lead + k] += x[i0 : i0 + k]
                item[1] = pos + frames
                if item[1] < len(x):
                    keep.append(item)
            self._active = keep
        np.clip(out, -1, 1, out=out)
        outdata[:, 0] = out

    def play(self, samples: np.ndarray, delay_s: float = 0.0) -> bool:
        """Queue a sound to start at the next block (or ``delay_s`` later); False without playback."""
        if self._stream is None or len(samples) == 0:
            return False
        lead = int(round(max(0.0, delay_s) * self.rate_hz))
        with self._lock:
            self._active.append([np.asarray(samples, np.float32), -lead, time.perf_counter(), None])
        return True

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued sound has played (at most ``timeout_s``): nothing is cut."""
        t_end = time.perf_counter() + timeout_s
        while self._stream is not None and time.perf_counter() < t_end:
            with self._lock:
                if not self._active:
                    return
            time.sleep(0.02)

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None


class CueAudio:
    """What a drill uses: render each cue once, schedule it (one sound at a time, by priority:
    :mod:`movekit.feedback.schedule`), play it live if possible, and place it on a timeline.

    Parameters
    ----------
    play : bool
        Try the sound device.
    wav : bool
        Keep a :class:`WavTimeline` (written by :meth:`write_wav`).
    speech : Speech or None
        Default: a :class:`Speech` (espeak-ng) instance.
    gap_s : float
        Silence between two sounds (s).

    Two ways to use it: :meth:`cue` queues a sound and starts what is due at once (one-off use);
    a drill calls :meth:`request` for every sound of an instant, then :meth:`advance` with that
    instant, so sounds asked for together compete by priority. ``placements`` lists every
    decision (spoken from/to, or dropped and why), ``clipped_samples`` the WAV's clipped samples.
    """

    def __init__(
        self,
        play: bool = True,
        wav: bool = True,
        speech: Speech | None | bool = True,
        rate_hz: int = RATE_HZ,
        player_factory: Callable[..., Player] = Player,
        gap_s: float = GAP_S,
    ):
        if speech is True:
            speech = Speech(rate_hz=rate_hz)
        elif speech is False:
            speech = None
        self.rate_hz = int(rate_hz)
        self.sounds = CueSounds(speech, rate_hz)
        self.player = player_factory(rate_hz, enabled=play) if play else None
        self.timeline = WavTimeline(rate_hz) if wav else None
        self.scheduler = CueScheduler(gap_s=gap_s)
        self._t_live_s = 0.0

    @property
    def placements(self) -> list[Placement]:
        return self.scheduler.placements

    def prepare(self, say: str | None = None, tone_hz: float = 0.0, tone_s: float = 0.15, kind: str = "prompt") -> None:
        """Synthesise a sound ahead of time (call for every cue when a drill loads)."""
        self.sounds.render(say, tone_hz, tone_s, kind)

    def request(
        self,
        t_s: float,
        say: str | None = None,
        tone_hz: float = 0.0,
        tone_s: float = 0.15,
        kind: str = "prompt",
        *,
        priority: int = 0,
        group: str | None = None,
        max_wait_s: float = math.inf,
        source: str = "",
        live: bool = True,
    ) -> list[Placement]:
        """Queue a sound asked for at session time ``t_s`` (s); returns the placements decided
        meanwhile (already played and placed on the timeline)."""
        x = self.sounds.render(say, tone_hz, tone_s, kind)
        if len(x) == 0:
            return []
        req = SoundRequest(t_s, len(x) / self.rate_hz, priority, group, max_wait_s, say, source, (x, live))
        return self._emit(self.scheduler.request(req))

    def cancel(self, group: str, t_s: float, reason: str = "cancelled") -> list[Placement]:
        """Drop the waiting sounds of ``group`` (e.g. "Hold." once the hold broke)."""
        return self._emit(self.scheduler.cancel(group, t_s, reason))

    def advance(self, t_s: float) -> list[Placement]:
        """Start the sounds due by session time ``t_s`` (s); returns the new placements."""
        self._t_live_s = max(self._t_live_s, float(t_s))
        return self._emit(self.scheduler.advance(t_s))

    def flush(self) -> list[Placement]:
        """Place every sound still waiting, one after another (end of a drill)."""
        return self._emit(self.scheduler.flush())

    def _emit(self, placements: list[Placement]) -> list[Placement]:
        for p in placements:
            if p.status != "spoken":
                continue
            x, live = p.request.payload
            if live and self.player is not None:
                self.player.play(x, delay_s=p.t_start_s - self._t_live_s)
            if self.timeline is not None:
                self.timeline.add(p.t_start_s, x)
        return placements

    def cue(
        self,
        t_s: float,
        say: str | None = None,
        tone_hz: float = 0.0,
        tone_s: float = 0.15,
        kind: str = "prompt",
        live: bool = True,
        priority: int = 0,
        group: str | None = None,
        max_wait_s: float = math.inf,
    ) -> np.ndarray:
        """Queue one sound at ``t_s`` and start what is due; returns its samples."""
        self.request(t_s, say, tone_hz, tone_s, kind, priority=priority, group=group, max_wait_s=max_wait_s, live=live)
        self.advance(t_s)
        return self.sounds.render(say, tone_hz, tone_s, kind)

    @property
    def clipped_samples(self) -> int:
        return self.timeline.clipped_samples if self.timeline is not None else 0

    def write_wav(self, path: str | Path, end_s: float | None = None) -> Path | None:
        """Write the timeline (every waiting sound placed first; the file holds each sound whole)."""
        if self.timeline is None:
            return None
        self.flush()
        if end_s is not None:
            self.timeline.extend_to(end_s)
        return self.timeline.write(path)

    def close(self) -> None:
        """Place the waiting sounds, let the device play them to the end, then close it."""
        self.flush()
        if self.player is not None:
            self.player.drain()
            self.player.close()
