"""Declarative cue rules: conditions on live metrics with hysteresis, minimum duration, cooldown and
priority, turned into timestamped cue events.

The engine is pure and deterministic: it never reads a clock. Given the same sequence of
``update(t_s, metrics)`` calls it emits the same cues at the same times, so a drill replayed on
its recording reproduces its live cues exactly.

A rule, as written in a protocol file (TOML)::

    [[cues]]
    id = "knee_valgus"
    when = "left_knee_fppa_deg > 10"        # or a list of conditions, all must hold
    hysteresis = 2.0                        # released only once FPPA < 8
    min_duration_s = 0.2                    # true for 0.2 s before the cue
    cooldown_s = 4.0                        # at most one cue per 4 s
    priority = 2                            # higher wins when cues compete
    during = ["drill"]                      # only in steps of this phase (or step name)
    say = "Knee over your second toe"
    tone_hz = 440.0
    kind = "prompt"                         # "prompt" (correct something) or "confirm" (well done)

Conditions: ``METRIC OP NUMBER`` with OP one of ``> >= < <= ==``, or ``METRIC in [LO, HI]`` /
``METRIC outside [LO, HI]``. A metric is any name fed to :meth:`CueEngine.update` (EMG ``%MVC``,
pose angles, ``vmo_vl_ratio``, the drill runner's ``hold_s`` and ``rep_count``). Metrics arrive at
different rates; each condition uses its metric's latest value (sample-and-hold). A missing or NaN
value makes the condition false.

Why hysteresis, minimum duration and cooldown: a threshold alone makes a noisy signal chatter
around it; feedback that fires on every flicker is ignored or annoying. Sound feedback reads as
caused by the movement only within ~100 ms (Maki-Patola & Hamalainen 2004, latency tolerance for
gesture-controlled sound: 20-30 ms noticed), so the engine adds no delay beyond ``min_duration_s``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from movekit.errors import MovekitError

_COND = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:(>=|<=|==|>|<)\s*([-+0-9.eE]+)|(in|outside)\s*\[\s*([-+0-9.eE]+)\s*,"
    r"\s*([-+0-9.eE]+)\s*\])\s*$"
)


@dataclass(frozen=True)
class Condition:
    """One comparison of a metric with a number or a band, with hysteresis.

    ``engage(v)`` says whether a released condition becomes true at ``v``; ``hold(v)`` whether an
    engaged one stays true (the band widened by the hysteresis).
    """

    metric: str
    op: str
    lo: float
    hi: float = math.nan
    hysteresis: float = 0.0

    @classmethod
    def parse(cls, text: str, hysteresis: float = 0.0) -> Condition:
        m = _COND.match(text)
        if not m:
            raise MovekitError(f"cannot read cue condition {text!r}: use 'metric > 10' or 'metric in [10, 30]'")
        try:
            if m.group(2):
                return cls(m.group(1), m.group(2), float(m.group(3)), math.nan, float(hysteresis))
            lo, hi = float(m.group(5)), float(m.group(6))
        except ValueError:
            raise MovekitError(f"cue condition {text!r} has a value that is not a number") from None
        if not lo <= hi:
            raise MovekitError(f"cue condition {text!r}: the band's low end is above its high end")
        return cls(m.group(1), m.group(4), lo, hi, float(hysteresis))

    def engage(self, v: float) -> bool:
        if v is None or not math.isfinite(v):
            return False
        op, lo, hi = self.op, self.lo, self.hi
        if op == ">":
            return v > lo
        if op == ">=":
            return v >= lo
        if op == "<":
            return v < lo
        if op == "<=":
            return v <= lo
        if op == "==":
            return v == lo
        if op == "in":
            return lo <= v <= hi
        return v < lo or v > hi  # outside

    def hold(self, v: float) -> bool:
        if v is None or not math.isfinite(v):
            return False
        h, op, lo, hi = self.hysteresis, self.op, self.lo, self.hi
        if op in (">", ">="):
            return v > lo - h if op == ">" else v >= lo - h
        if op in ("<", "<="):
            return v < lo + h if op == "<" else v <= lo + h
        if op == "==":
            return abs(v - lo) <= h
        if op == "in":
            return lo - h <= v <= hi + h
        return v < lo + h or v > hi - h  # outside

    def __str__(self) -> str:
        if self.op in ("in", "outside"):
            return f"{self.metric} {self.op} [{self.lo:g}, {self.hi:g}]"
        return f"{self.metric} {self.op} {self.lo:g}"


@dataclass(frozen=True)
class CueRule:
    """A declarative cue rule (see the module docstring for the file form).

    Attributes
    ----------
    id : str
    conditions : tuple of Condition (all must hold)
    min_duration_s : float
        The conditions must hold continuously this long before the cue (s).
    cooldown_s : float
        Least time between two cues of this rule (s).
    repeat_s : float or None
        Repeat the cue every ``repeat_s`` while the conditions keep holding; None = once per
        episode (the conditions must release and re-engage).
    priority : int
        Higher wins when cues compete for the speaker.
    during : tuple of str
        Phases or step names in which the rule is live; empty = always.
    say : str or None
        Phrase to speak.
    tone_hz, tone_s : float
        Tone played with (or instead of) the phrase; 0 Hz = none.
    kind : str
        "prompt" (ask for a correction) or "confirm" (success feedback).
    report : tuple of str
        Extra metrics whose latest values go into the cue event.
    """

    id: str
    conditions: tuple[Condition, ...]
    min_duration_s: float = 0.0
    cooldown_s: float = 0.0
    repeat_s: float | None = None
    priority: int = 0
    during: tuple[str, ...] = ()
    say: str | None = None
    tone_hz: float = 0.0
    tone_s: float = 0.15
    kind: str = "prompt"
    report: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CueRule:
        known = {
            "id",
            "when",
            "hysteresis",
            "min_duration_s",
            "cooldown_s",
            "repeat_s",
            "priority",
            "during",
            "say",
            "tone_hz",
            "tone_s",
            "kind",
            "report",
        }
        unknown = set(d) - known
        rid = d.get("id")
        if not rid:
            raise MovekitError("a cue rule needs an id")
        if unknown:
            raise MovekitError(f"cue rule {rid!r}: unknown keys {', '.join(sorted(unknown))}")
        when = d.get("when")
        if not when:
            raise MovekitError(f"cue rule {rid!r} needs a 'when' condition")
        whens = [when] if isinstance(when, str) else list(when)
        hyst = d.get("hysteresis", 0.0)
        hysts = hyst if isinstance(hyst, list) else [hyst] * len(whens)
        if len(hysts) != len(whens):
            raise MovekitError(f"cue rule {rid!r}: one hysteresis per condition")
        kind = d.get("kind", "prompt")
        if kind not in ("prompt", "confirm"):
            raise MovekitError(f"cue rule {rid!r}: kind must be 'prompt' or 'confirm'")
        for key in ("min_duration_s", "cooldown_s"):
            if float(d.get(key, 0.0)) < 0:
                raise MovekitError(f"cue rule {rid!r}: {key} must not be negative")
        during = d.get("during", ())
        return cls(
            id=str(rid),
            conditions=tuple(Condition.parse(w, h) for w, h in zip(whens, hysts)),
            min_duration_s=float(d.get("min_duration_s", 0.0)),
            cooldown_s=float(d.get("cooldown_s", 0.0)),
            repeat_s=None if d.get("repeat_s") is None else float(d["repeat_s"]),
            priority=int(d.get("priority", 0)),
            during=(during,) if isinstance(during, str) else tuple(during),
            say=d.get("say"),
            tone_hz=float(d.get("tone_hz", 0.0)),
            tone_s=float(d.get("tone_s", 0.15)),
            kind=kind,
            report=tuple(d.get("report", ())),
        )

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.metric for c in self.conditions))

    def why(self) -> str:
        text = " and ".join(str(c) for c in self.conditions)
        return f"{text} for {self.min_duration_s:g} s" if self.min_duration_s else text


@dataclass(frozen=True)
class CueEvent:
    """A cue: what to play, why, when (session time, s) and the values that triggered it."""

    t_s: float
    rule_id: str
    kind: str
    say: str | None
    tone_hz: float
    tone_s: float
    priority: int
    why: str
    values: dict[str, float]
    context: str | None = None

    def record(self) -> dict[str, Any]:
        """Fields for ``RecordingWriter.event(t_s, "cue", **fields)``."""
        return {
            "id": self.rule_id,
            "cue_kind": self.kind,
            "say": self.say,
            "tone_hz": self.tone_hz,
            "tone_s": self.tone_s,
            "priority": self.priority,
            "why": self.why,
            "values": self.values,
            "context": self.context,
        }


@dataclass
class _RuleState:
    engaged: list[bool]
    since: float | None = None  # when all conditions became true together
    fired_in_episode: bool = False
    last_fire: float = -math.inf


@dataclass
class CueEngine:
    """Evaluates cue rules on timestamped metric samples.

    Parameters
    ----------
    rules : iterable of CueRule
    min_gap_s : float
        Least time between any two cues (one voice at a time); a cue of strictly higher priority
        than the last one may interrupt sooner. A rule held back by the gap stays pending and
        fires at the first update after the gap if its conditions still hold.

    Notes
    -----
    ``update`` must be called with non-decreasing times. Cues fire on the update at which a
    rule's conditions have held for ``min_duration_s`` (so their time resolution is the update
    rate; the drill runner feeds EMG metrics at 100 Hz).
    """

    rules: Iterable[CueRule]
    min_gap_s: float = 0.8
    values: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rules = list(self.rules)
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise MovekitError(f"duplicate cue rule ids: {', '.join(sorted({i for i in ids if ids.count(i) > 1}))}")
        self._state = {r.id: _RuleState([False] * len(r.conditions)) for r in self.rules}
        self._by_metric: dict[str, list[CueRule]] = {}
        for r in self.rules:
            for m in r.metrics:
                self._by_metric.setdefault(m, []).append(r)
        self._context: tuple[str, ...] = ()
        self._t_last = -math.inf
        self._last_cue_t = -math.inf
        self._last_cue_priority = -(10**9)
        self._pending: set[str] = set()

    # -- context ----------------------------------------------------------------------
    def set_context(self, *names: str) -> None:
        """Set the current phase/step names; rules with ``during`` are live only when one matches.

        A change resets the episode state of every gated rule (a new step starts afresh).
        """
        names = tuple(n for n in names if n)
        if names == self._context:
            return
        self._context = names
        for r in self.rules:
            if r.during:
                st = self._state[r.id]
                st.engaged = [False] * len(r.conditions)
                st.since = None
                st.fired_in_episode = False
                self._pending.discard(r.id)

    def _live(self, r: CueRule) -> bool:
        return not r.during or any(c in r.during for c in self._context)

    # -- evaluation --------------------------------------------------------------------
    def update(self, t_s: float, metrics: Mapping[str, float]) -> list[CueEvent]:
        """Feed the metric values sampled at ``t_s`` (s); returns the cues fired now (0 or 1)."""
        t = float(t_s)
        if t < self._t_last:
            raise ValueError(f"cue engine times must not go backwards ({t} < {self._t_last})")
        self._t_last = t
        touched: dict[str, CueRule] = {}
        for name, v in metrics.items():
            self.values[name] = float(v) if v is not None else math.nan
            for r in self._by_metric.get(name, ()):
                touched[r.id] = r
        candidates: list[CueRule] = []
        for r in list(touched.values()) + [r for r in self.rules if r.id in self._pending and r.id not in touched]:
            st = self._state[r.id]
            if r.id in touched:
                if not self._live(r):
                    continue
                for i, c in enumerate(r.conditions):
                    v = self.values.get(c.metric, math.nan)
                    st.engaged[i] = c.hold(v) if st.engaged[i] else c.engage(v)
                if all(st.engaged):
                    if st.since is None:
                        st.since = t
                else:
                    st.since = None
                    st.fired_in_episode = False
                    self._pending.discard(r.id)
                    continue
            if st.since is None or t - st.since < r.min_duration_s - 1e-9:
                continue
            if t - st.last_fire < r.cooldown_s - 1e-9:
                self._pending.add(r.id)
                continue
            if st.fired_in_episode and (r.repeat_s is None or t - st.last_fire < r.repeat_s - 1e-9):
                continue
            candidates.append(r)
        if not candidates:
            return []
        candidates.sort(key=lambda r: (-r.priority, r.id))
        best = candidates[0]
        gap_ok = t - self._last_cue_t >= self.min_gap_s - 1e-9 or best.priority > self._last_cue_priority
        for r in candidates[1:]:
            self._pending.add(r.id)
        if not gap_ok:
            self._pending.add(best.id)
            return []
        self._pending.discard(best.id)
        st = self._state[best.id]
        st.last_fire = t
        st.fired_in_episode = True
        self._last_cue_t = t
        self._last_cue_priority = best.priority
        vals = {m: self.values.get(m, math.nan) for m in best.metrics + best.report}
        return [
            CueEvent(
                t,
                best.id,
                best.kind,
                best.say,
                best.tone_hz,
                best.tone_s,
                best.priority,
                best.why(),
                vals,
                "/".join(self._context) or None,
            )
        ]
