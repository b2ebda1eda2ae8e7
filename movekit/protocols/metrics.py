"""Live metrics by name over time, from EMG and pose, for the drill runner and the cue engine.

The runner does not care where a metric comes from: every source turns its raw samples into
``(t_s, {metric_name: value})`` and the samples of all sources are fed in session-time order
(ties broken by source order). Live, :class:`TimeOrderedMerger` releases samples in that same order
once every source has reached a time (a watermark), so a drill replayed on its recording sees the
identical sequence and issues the identical cues.

EMG metrics (per channel ``c``, from :class:`movekit.analysis.emg.EMGStream`, causal):
``c_envelope_uv``, ``c_pct_mvc`` (with an MVC reference) and ``vmo_vl_ratio`` (when channels ``vmo``
and ``vl`` both have %MVC; Cowan 2001), fed at ``out_rate_hz`` (default 100 Hz: every k-th sample by
absolute index, so chunking does not change which samples are fed).

Pose metrics (per frame, image landmarks, camera plane only): every column of
:func:`movekit.analysis.angles.joint_angles` through :class:`movekit.live.FrameProcessor` (the same
per-frame code as live capture), plus ``left_foot_lift_ratio`` / ``right_foot_lift_ratio``: how much
higher that ankle is than the other, in image y, divided by the longer hip-to-ankle length (0 both
feet down; ~0.1 and above a foot clearly off the floor). A movekit proxy for single-leg stance
(Springer 2007's trial ends when the raised foot touches down), valid in frontal and side views.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from movekit.analysis import emg as _emg
from movekit.errors import MovekitError

# MediaPipe Pose indices (docs/conventions.md)
_L_HIP, _R_HIP, _L_ANKLE, _R_ANKLE = 23, 24, 27, 28


#: A pause between EMG samples longer than this (s) restarts the envelope: the filters' memory of
#: the muscle before it is stale (over three time constants of the default 6 Hz envelope low-pass,
#: 27 ms), and a sample of NaN metrics at the pause ends any hold or cue timing across it, which had
#: counted the pause as time above a threshold. A movekit choice, not a clinical threshold.
MAX_EMG_GAP_S = 0.1


class EMGMetrics:
    """EMG chunks -> metric samples at ``out_rate_hz``, plus onset/offset events.

    Parameters
    ----------
    rate_hz : float
    channel_names : sequence of str
        Names as the metrics should use them (after any renaming, e.g. ``vmo``, ``vl``, ``core``).
    mvc_uv : mapping name -> uV, or None
        MVC reference amplitudes by channel; channels without one get no ``_pct_mvc`` metric.
    config : EMGConfig, optional
    out_rate_hz : float
        Rate at which metric samples are emitted (Hz).
    """

    def __init__(
        self,
        rate_hz: float,
        channel_names: Sequence[str],
        mvc_uv: Mapping[str, float] | None = None,
        config: _emg.EMGConfig | None = None,
        out_rate_hz: float = 100.0,
    ):
        self.channel_names = tuple(channel_names)
        self.mvc = np.array([float((mvc_uv or {}).get(c, np.nan)) for c in self.channel_names])
        self._has_mvc = np.isfinite(self.mvc) & (self.mvc > 0)
        self._rate_hz, self._config = float(rate_hz), config
        self._t_last = -np.inf
        self.stream = _emg.EMGStream(rate_hz, self.channel_names, config)
        self.k = max(1, int(round(rate_hz / out_rate_hz)))
        self._n = 0
        self.names: list[str] = [f"{c}_envelope_uv" for c in self.channel_names]
        self.names += [f"{c}_pct_mvc" for c, ok in zip(self.channel_names, self._has_mvc) if ok]
        self._ratio = None
        if "vmo" in self.channel_names and "vl" in self.channel_names:
            i, j = self.channel_names.index("vmo"), self.channel_names.index("vl")
            if self._has_mvc[i] and self._has_mvc[j]:
                self._ratio = (i, j)
                self.names.append("vmo_vl_ratio")

    def process(self, t_s: np.ndarray, x_uv: np.ndarray) -> tuple[list[tuple[float, dict[str, float]]], list[dict]]:
        """Metric samples and onset/offset event records for one chunk. A pause over
        :data:`MAX_EMG_GAP_S` (within the chunk or since the last) gives a sample of NaN metrics
        just after its start and restarts the envelope; the same whatever the chunking."""
        t = np.asarray(t_s, np.float64)
        x = np.asarray(x_uv)
        out: list[tuple[float, dict[str, float]]] = []
        events: list[dict] = []
        prev = np.concatenate([[self._t_last], t[:-1]])
        starts = [0, *np.flatnonzero(t - prev > MAX_EMG_GAP_S), len(t)]
        for a, b in zip(starts[:-1], starts[1:]):
            if a < b and np.isfinite(prev[a]) and t[a] - prev[a] > MAX_EMG_GAP_S:
                out.append((float(prev[a]) + 1.0 / self._rate_hz, dict.fromkeys(self.names, math.nan)))
                self.stream = _emg.EMGStream(self._rate_hz, self.channel_names, self._config)
                self._n = 0
            if a < b:
                samples, evs = self._process_run(t[a:b], x[a:b])
                out += samples
                events += evs
        if len(t):
            self._t_last = float(t[-1])
        return out, events

    def _process_run(
        self, t_s: np.ndarray, x_uv: np.ndarray
    ) -> tuple[list[tuple[float, dict[str, float]]], list[dict]]:
        res = self.stream.process(t_s, x_uv)
        n = len(res.t_s)
        first = (-self._n) % self.k
        idx = np.arange(first, n, self.k)
        self._n += n
        out: list[tuple[float, dict[str, float]]] = []
        if len(idx):
            env = res.envelope_uv[idx]
            with np.errstate(invalid="ignore", divide="ignore"):
                pct = env / self.mvc * 100.0
            for r, i in enumerate(idx):
                d = {f"{c}_envelope_uv": float(env[r, j]) for j, c in enumerate(self.channel_names)}
                for j, c in enumerate(self.channel_names):
                    if self._has_mvc[j]:
                        d[f"{c}_pct_mvc"] = float(pct[r, j])
                if self._ratio is not None:
                    a, b = pct[r, self._ratio[0]], pct[r, self._ratio[1]]
                    d["vmo_vl_ratio"] = float(_emg.vmo_vl_ratio(a, b))
                out.append((float(res.t_s[i]), d))
        events = [{"t_s": e.t_s, "kind": f"emg_{e.kind}", "channel": e.channel} for e in res.events]
        return out, events


def foot_lift(image_px: np.ndarray) -> dict[str, float]:
    """``left_foot_lift_ratio`` and ``right_foot_lift_ratio`` of one frame (see the module docstring)."""
    p = np.asarray(image_px, dtype=np.float64)
    la, ra = p[_L_ANKLE, :2], p[_R_ANKLE, :2]
    # the longer hip-to-ankle distance: the raised leg's shortens as its knee bends
    leg = max(np.linalg.norm(p[_L_HIP, :2] - la), np.linalg.norm(p[_R_HIP, :2] - ra))
    if not np.isfinite(leg) or leg <= 0 or not np.all(np.isfinite([la, ra])):
        return {"left_foot_lift_ratio": float("nan"), "right_foot_lift_ratio": float("nan")}
    d = (ra[1] - la[1]) / leg  # y down: the left ankle higher -> positive
    return {"left_foot_lift_ratio": float(d), "right_foot_lift_ratio": float(-d)}


def camera_angles_shown(names) -> tuple[list[str], str | None]:
    """The camera angles among ``names`` a drill may count or cue on, and a notice naming the rest.

    One camera's angle is given only where its expected error is within
    :data:`movekit.analysis.error_model.MAX_ERROR_DEG`; an angle whose best measured set-up is over
    it (:func:`~movekit.analysis.error_model.best_error_deg`) is NaN in every frame, so a step or cue
    built on it would wait forever: it is not offered, and the drill takes another option (EMG, foot
    lift) or says the cue is inactive. In research mode every angle is offered."""
    from movekit.analysis.error_model import MAX_ERROR_DEG, best_error_deg, gating

    if not gating():
        return list(names), None
    best = {n: best_error_deg(n) for n in names}
    shown = [n for n in names if best[n] <= MAX_ERROR_DEG]
    if len(shown) == len(best):
        return shown, None
    low = min((n for n in names if n not in shown), key=lambda n: best[n])
    return shown, (
        f"from one camera {len(best) - len(shown)} of {len(best)} joint angles are never within their "
        f"{MAX_ERROR_DEG:g} deg error limit (the best, {low.removesuffix('_deg').replace('_', ' ')}, is "
        f"{best[low]:g} deg at its best view; docs/validity.md): steps and cues on them use another "
        "measure where the drill has one, and are inactive otherwise"
    )


class PoseMetrics:
    """One frame's image landmarks -> joint angles (2D, camera plane) and foot-lift metrics.

    ``frame_size_px`` (width, height), when known: landmarks outside the image count as unseen."""

    def __init__(self, frame_size_px: tuple[int, int] | None = None) -> None:
        from movekit.live import FrameProcessor

        self.frame_size_px = frame_size_px if frame_size_px and all(frame_size_px) else None
        self.fp = FrameProcessor(frame_size_px=self.frame_size_px)
        shown, self.notice = camera_angles_shown(self.fp.names)
        self.names = shown + ["left_foot_lift_ratio", "right_foot_lift_ratio"]

    def process(self, t_s: float, image_px: np.ndarray, visibility: np.ndarray) -> dict[str, float]:
        from movekit.analysis.filters import visibility_in_frame
        from movekit.analysis.pipeline import relabel_sides

        ang = self.fp.step(t_s, np.asarray(image_px, np.float32), np.asarray(visibility, np.float32))
        d = {n: float(v) for n, v in zip(self.fp.names, ang)}
        vis = visibility_in_frame(image_px, visibility, self.frame_size_px)
        groups = self.fp.relabelled_groups  # the feet as the angles saw them: a model's swap undone
        image_px, vis = relabel_sides(image_px, groups), relabel_sides(vis, groups)
        px = np.where((vis >= 0.5)[:, None], np.asarray(image_px, np.float64), np.nan)
        d.update(foot_lift(px))
        return d


class TimeOrderedMerger:
    """Releases samples from several live sources in (time, source index) order.

    Each source ``push``es its samples in its own time order; :meth:`ready` returns every sample
    at or before the watermark (the least latest time over sources that are not finished, but no
    more than ``max_wait_s`` behind the newest), sorted by (time, source, arrival). A replay that
    sorts a recording's samples the same way sees the same sequence, unless a source fell more
    than ``max_wait_s`` behind (a stalled device): its late samples are then dropped live.
    """

    def __init__(self, n_sources: int, max_wait_s: float = np.inf):
        self.max_wait_s = float(max_wait_s)
        self.latest = [-np.inf] * n_sources
        self.done = [False] * n_sources
        self._heap: list = []
        self._seq = 0

    def push(self, source: int, t_s: float, payload) -> None:
        self.latest[source] = max(self.latest[source], float(t_s))
        heapq.heappush(self._heap, (float(t_s), source, self._seq, payload))
        self._seq += 1

    def finish(self, source: int) -> None:
        self.done[source] = True

    def ready(self) -> list:
        live = [t for t, d in zip(self.latest, self.done) if not d]
        mark = min(live) if live else np.inf
        if live and np.isfinite(self.max_wait_s):
            # a stalled source (link lost) must not hold the others back for ever
            mark = max(mark, max(live) - self.max_wait_s)
        out = []
        while self._heap and self._heap[0][0] <= mark:
            t, src, _, payload = heapq.heappop(self._heap)
            out.append((t, src, payload))
        return out


def recording_samples(
    rec,
    mvc_uv: Mapping[str, float] | None = None,
    rename: Mapping[str, str] | None = None,
    emg_config: _emg.EMGConfig | None = None,
    chunk_s: float = 0.05,
    use_pose: bool = True,
) -> tuple[list[str], Iterator[tuple[float, int, dict]], str | None]:
    """Metric names, a time-ordered iterator of ``(t_s, source, metrics-or-event)`` from a recording,
    and the pose's notice (:func:`camera_angles_shown`; None without a pose or with nothing refused).

    Sources are the EMG streams (kind ``emg``, by stream name; processed in ``chunk_s`` chunks, the
    result does not depend on the chunking), then the pose (``pose_image_px`` + ``pose_visibility``). An item
    whose third element has a ``"kind"`` key is an event record (EMG onset/offset), otherwise metrics.
    """
    rename = dict(rename or {})
    per_source: list[list[tuple[float, dict]]] = []
    names: list[str] = []
    for sname, s in sorted(rec.streams.items()):
        if s.spec.kind != "emg" or len(s.t_s) == 0:
            continue
        scale = {"uv": 1.0, "mv": 1e3, "v": 1e6}.get(s.spec.unit.lower().replace("µ", "u"))
        if scale is None:
            raise MovekitError(f"{rec.path}: EMG stream {sname!r} is in {s.spec.unit!r}, expected uV")
        chans = [rename.get(c, c) for c in (s.spec.channel_names or [f"ch{i}" for i in range(s.spec.shape[0])])]
        rate = s.spec.rate_hz or float(1.0 / np.median(np.diff(s.t_s)))
        em = EMGMetrics(rate, chans, mvc_uv, emg_config)
        names += em.names
        x = s.channels.astype(np.float64) * scale
        step = max(1, int(round(chunk_s * rate)))
        items: list[tuple[float, dict]] = []
        for i in range(0, len(x), step):
            samples, events = em.process(s.t_s[i : i + step], x[i : i + step])
            items += samples
            items += [(ev["t_s"], ev) for ev in events]
        items.sort(key=lambda it: it[0])  # stable: onset events after the metric sample of their time
        per_source.append(items)
    pose_items: list[tuple[float, dict]] = []
    pose_notice = None
    if use_pose and "pose_image_px" in rec.streams and len(rec.streams["pose_image_px"].t_s):
        ps = rec.pose()
        pm = PoseMetrics(ps.frame_size_px)
        names += pm.names
        pose_notice = pm.notice
        for i in range(len(ps.t_s)):
            pose_items.append((float(ps.t_s[i]), pm.process(float(ps.t_s[i]), ps.image_px[i], ps.visibility[i])))
    per_source.append(pose_items)

    def merged() -> Iterator[tuple[float, int, dict]]:
        heads = [(items[0][0], src, 0) for src, items in enumerate(per_source) if items]
        heapq.heapify(heads)
        while heads:
            t, src, i = heapq.heappop(heads)
            yield t, src, per_source[src][i][1]
            if i + 1 < len(per_source[src]):
                heapq.heappush(heads, (per_source[src][i + 1][0], src, i + 1))

    return list(dict.fromkeys(names)), merged(), pose_notice
