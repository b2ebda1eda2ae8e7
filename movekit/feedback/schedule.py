"""One voice at a time: a priority queue that decides when each cue sound starts, on session time.

Why: a drill produces several sounds at the same instant (a step's instruction, "Set 1 of 3.",
"Hold." a moment later, a corrective cue). Mixed together they are unintelligible and their sum
clips (issue 18: "Eyes open. Lift your foot and hold.", "Set 1 of 3." and "Hold." started
together and 38 samples of the WAV clipped: two espeak-ng phrases each peaking at ~0.8 of full
scale were *added* by the timeline mixer and then clipped to +-1 when written as 16-bit PCM).

The rules (deterministic, session time only, so a replay schedules exactly what the live run did):

1. **Never overlap, never cut.** A sound starts at its request time or, if the speaker is busy, at
   the end of the sound playing plus ``gap_s`` (0.15 s: phrases stay distinguishable). A sound
   that has started always plays to its end.
2. **Priority, then age.** When the speaker becomes free, the waiting sound with the highest
   ``priority`` starts; equal priorities start in request order (first in, first out).
3. **Superseded.** A request with a ``group`` replaces a *waiting* (not yet started) request of the
   same group: only the newest rep count, the newest cue of one rule, the newest set progress is
   worth saying. :meth:`CueScheduler.cancel` drops the waiting requests of a group outright
   (e.g. "Hold." once the hold has broken).
4. **Stale.** A request that could only start more than ``max_wait_s`` after it was made is
   dropped instead (corrective cues and counts refer to a movement that has moved on);
   instructions and summaries use ``max_wait_s = inf`` and are always said, in order.

The decisions depend only on the requests (their times, durations, priorities, groups) and the
times given to :meth:`advance`/:meth:`request`, never on a wall clock, and the result is the same
however often :meth:`advance` is called in between (every request first advances to its own time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Silence between two sounds (s): a movekit choice, long enough to hear two phrases as two.
GAP_S = 0.15


@dataclass
class SoundRequest:
    """One sound asked for at session time ``t_request_s``.

    Attributes
    ----------
    t_request_s : float
        Session time of the request (s).
    duration_s : float
        Length of the sound (s).
    priority : int
        Higher starts first when several wait.
    group : str or None
        Requests of one group supersede each other while waiting (rule 3).
    max_wait_s : float
        Longest acceptable delay between request and start (s); ``inf`` = never stale.
    text : str or None
        What is said (for logs and the screen); None for tones.
    source : str
        What asked for it (event kind or cue id).
    payload : object
        Carried through untouched (the samples, for :class:`~movekit.feedback.audio.CueAudio`).
    """

    t_request_s: float
    duration_s: float
    priority: int = 0
    group: str | None = None
    max_wait_s: float = math.inf
    text: str | None = None
    source: str = ""
    payload: object = None
    seq: int = 0  #: set by the scheduler: request order
    t_queued_s: float = math.nan  #: set by the scheduler: when it competes from (s)


@dataclass(frozen=True)
class Placement:
    """What became of a request: spoken from ``t_start_s`` to ``t_end_s``, or dropped (and why)."""

    request: SoundRequest
    status: str  #: "spoken" or "dropped"
    t_start_s: float = math.nan
    t_end_s: float = math.nan
    reason: str = ""
    t_decided_s: float = math.nan  #: when it was started or dropped (s)

    @property
    def waited_s(self) -> float:
        """Delay between the request and the start (s); NaN when dropped."""
        return self.t_start_s - self.request.t_request_s

    def record(self) -> dict:
        """Fields for an event log (``kind`` "speech" or "speech_dropped")."""
        r = self.request
        out = {
            "text": r.text,
            "source": r.source,
            "priority": r.priority,
            "t_request_s": r.t_request_s,
            "duration_s": r.duration_s,
        }
        if self.status == "spoken":
            out.update(t_end_s=self.t_end_s, waited_s=self.waited_s)
        else:
            out["reason"] = self.reason
        return out


@dataclass
class CueScheduler:
    """Decides, on session time, when each requested sound starts (see the module docstring).

    Parameters
    ----------
    gap_s : float
        Silence between two sounds (s).
    """

    gap_s: float = GAP_S
    waiting: list[SoundRequest] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    busy_until_s: float = -math.inf
    t_now_s: float = -math.inf
    _seq: int = 0

    def request(self, req: SoundRequest) -> list[Placement]:
        """Queue ``req``; returns the placements decided meanwhile.

        Sounds due strictly before the request's time are started first, so requests made at one
        instant (a set's summary and "Rest.") compete by priority; call :meth:`advance` with that
        instant once all of its requests are in. A request dated before the last :meth:`advance`
        is queued as if made then (its ``t_request_s`` is kept for the record).
        """
        out = self.advance(req.t_request_s, inclusive=False)
        self._seq += 1
        req.seq = self._seq
        req.t_queued_s = max(req.t_request_s, self.t_now_s)
        if req.group is not None:
            for old in [w for w in self.waiting if w.group == req.group]:
                self.waiting.remove(old)
                out.append(self._drop(old, f"superseded by a newer {req.group} sound", req.t_queued_s))
        self.waiting.append(req)
        return out

    def cancel(self, group: str, t_s: float, reason: str = "cancelled") -> list[Placement]:
        """Drop the waiting requests of ``group`` at session time ``t_s``."""
        out = self.advance(t_s, inclusive=False)
        for old in [w for w in self.waiting if w.group == group]:
            self.waiting.remove(old)
            out.append(self._drop(old, reason, max(float(t_s), self.t_now_s)))
        return out

    def advance(self, t_s: float, inclusive: bool = True) -> list[Placement]:
        """Decide every sound due at or before session time ``t_s`` (before it: ``inclusive=False``).

        Returns the new placements: started sounds (``t_start_s`` <= ``t_s``) and dropped ones.
        """
        t_s = float(t_s)
        out: list[Placement] = []
        while self.waiting:
            free_at = self.busy_until_s + self.gap_s
            t_free = max(free_at, min(self._t_req(w) for w in self.waiting))
            if t_free > t_s or (t_free == t_s and not inclusive):
                break
            ready = [w for w in self.waiting if self._t_req(w) <= t_free]
            stale = [w for w in ready if t_free - w.t_request_s > w.max_wait_s + 1e-9]
            for w in stale:  # could start only later still: drop now, in request order
                self.waiting.remove(w)
                late_s = t_free - w.t_request_s
                out.append(self._drop(w, f"stale: could start only {late_s:.2f} s after it was asked for", t_free))
            ready = [w for w in ready if w not in stale]
            if ready:
                best = min(ready, key=lambda w: (-w.priority, self._t_req(w), w.seq))
                self.waiting.remove(best)
                out.append(self._start(best, t_free))
        self.t_now_s = max(self.t_now_s, t_s) if inclusive else self.t_now_s
        return out

    def flush(self) -> list[Placement]:
        """End of the drill: place everything still waiting, in order (stale ones are dropped)."""
        return self.advance(math.inf)

    @staticmethod
    def _t_req(w: SoundRequest) -> float:
        """The time a request competes from: when made, or the last advance if it came late."""
        return w.t_queued_s

    def _start(self, req: SoundRequest, start: float) -> Placement:
        self.busy_until_s = start + req.duration_s
        p = Placement(req, "spoken", start, self.busy_until_s, t_decided_s=start)
        self.placements.append(p)
        return p

    def _drop(self, req: SoundRequest, reason: str, t_s: float) -> Placement:
        p = Placement(req, "dropped", reason=reason, t_decided_s=t_s)
        self.placements.append(p)
        return p
