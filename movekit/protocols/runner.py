"""Guided drills: protocol files (TOML) and the drill state machine.

A drill is a TOML file: metadata, ``[[steps]]`` and ``[[cues]]`` (cue rules, see
:mod:`movekit.feedback.rules`). Shipped drills live beside this module
(``movekit/protocols/*.toml``); ``load_protocol("core_bracing_hold")`` finds them by name, or
give a path.

Steps (``kind``):

``instruction`` / ``rest``
    Say ``say`` and wait ``duration_s``.
``hold``
    ``sets`` holds of ``hold_s`` each, with ``rest_s`` between. The target is the first entry of
    ``target_by`` (a list of ``{when = ...}`` tables, conditions as in cue rules) whose metrics the
    sources provide; ``target_hysteresis`` applies to it. Losing the target for more than
    ``grace_s`` breaks the hold: ``on_break = "restart"`` starts the hold timer again (bracing),
    ``"end"`` ends the attempt with the time reached (single-leg stance, Springer 2007).
    ``timeout_s`` per set gives up.
``reps``
    ``sets`` x ``reps`` repetitions: a rep starts when ``start`` holds and is counted when ``end``
    then holds (first entry of ``rep_by`` with available metrics: ``{start = ..., end = ...}``);
    the two thresholds act as a hysteresis band. ``timeout_s`` per set gives up.

The runner is pure: it reads no clock and does no I/O. ``feed(t_s, metrics)`` advances it on the
session time of each sample and returns the events it produced (dicts ready for
``RecordingWriter.event(**...)``): ``drill_start``, ``step_start``, ``set_start``, ``rep``,
``hold_start``, ``hold_break``, ``hold_complete``, ``rest_start``, ``cue``, ``set_summary``,
``step_end``, ``drill_end``. Fed the same samples in the same order, it produces the same events.
``set_summary`` and ``drill_end`` carry a spoken summary in ``say`` (:func:`set_summary_phrase`,
:func:`drill_summary_phrase`); :func:`runner_snapshot` is what a drill screen shows.
While a hold or reps step runs the cue engine also sees ``hold_s`` (current hold time, s),
``rep_count`` and ``set_number``, so rules can use them.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from movekit.errors import MovekitError
from movekit.feedback.rules import Condition, CueEngine, CueRule

PROTOCOL_DIR = Path(__file__).resolve().parent
_STEP_KINDS = ("instruction", "rest", "hold", "reps")


def shipped_drills() -> list[str]:
    """Names of the drills shipped with movekit."""
    return sorted(p.stem for p in PROTOCOL_DIR.glob("*.toml"))


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    say: str | None = None
    duration_s: float = 0.0
    phase: str = "drill"
    sets: int = 1
    reps: int = 0
    hold_s: float = 0.0
    rest_s: float = 0.0
    timeout_s: float = math.inf
    grace_s: float = 0.5
    on_break: str = "restart"
    target_by: tuple[tuple[str, ...], ...] = ()
    target_hysteresis: float = 0.0
    rep_by: tuple[tuple[str, str], ...] = ()
    summary: tuple[str, ...] = ()
    norm_s: float | None = None


@dataclass(frozen=True)
class Protocol:
    """A drill loaded from TOML (see the module docstring)."""

    name: str
    title: str
    description: str
    view: str | None
    side: str | None
    emg_channels: tuple[str, ...]
    aliases: dict[str, str]
    steps: tuple[Step, ...]
    cues: tuple[CueRule, ...]
    references: tuple[str, ...]
    path: Path | None = None

    def sayings(self) -> list[str]:
        """Every phrase the drill may speak (to synthesise before it starts)."""
        out = [s.say for s in self.steps if s.say] + [c.say for c in self.cues if c.say]
        out += ["Rest.", "Well done.", "Hold.", "Drill complete."]
        out += [str(i) for i in range(1, 1 + max([s.reps for s in self.steps] + [0]))]
        out += [f"Set {i} of {s.sets}." for s in self.steps for i in range(1, s.sets + 1) if s.sets > 1]
        return list(dict.fromkeys(out))


def _fmt(obj: Any, subs: Mapping[str, str]) -> Any:
    if isinstance(obj, str):
        for k, v in subs.items():
            obj = obj.replace("{" + k + "}", v)
        return obj
    if isinstance(obj, list):
        return [_fmt(o, subs) for o in obj]
    if isinstance(obj, dict):
        return {k: _fmt(v, subs) for k, v in obj.items()}
    return obj


def load_protocol(name_or_path: str | Path, side: str | None = None) -> Protocol:
    """Load a drill by shipped name or path; ``side`` ("left"/"right") fills ``{side}``/``{other}``."""
    p = Path(name_or_path)
    if not p.suffix and not p.exists():
        p = PROTOCOL_DIR / f"{name_or_path}.toml"
    if not p.exists():
        raise MovekitError(f"no drill {str(name_or_path)!r}; shipped drills: {', '.join(shipped_drills())}")
    try:
        raw = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MovekitError(f"{p}: not valid TOML ({exc})") from None
    if not isinstance(raw, dict):
        raise MovekitError(f"{p}: not a drill protocol")
    try:
        return _protocol(p, raw, side)
    except MovekitError as exc:
        if str(exc).startswith(str(p)):
            raise
        raise MovekitError(f"{p}: {exc}") from None  # every error names the file
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:  # a field of the wrong shape
        raise MovekitError(f"{p}: not a valid drill protocol ({type(exc).__name__}: {exc})") from None


_TOP_KEYS = {"name", "title", "description", "view", "side", "references", "emg_channels", "aliases", "steps", "cues"}
_STEP_KEYS = {f.name for f in dataclasses.fields(Step)}
#: a step's numbers and the smallest each may be (exclusive ``>``, or inclusive ``>=``)
_STEP_MINIMA = {"duration_s": (">=", 0.0), "sets": (">=", 1), "reps": (">=", 0), "hold_s": (">=", 0.0),
                "rest_s": (">=", 0.0), "timeout_s": (">", 0.0), "grace_s": (">=", 0.0),
                "target_hysteresis": (">=", 0.0)}  # fmt: skip


def _check_keys(p: Path, raw: dict) -> None:
    """Unknown top-level or step keys (a misspelt ``hold_time`` had been ignored), numbers out of
    range (``sets = 0``, ``duration_s = -5``, ``timeout_s = 0``) and repeated step ids."""
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise MovekitError(f"{p}: unknown key {', '.join(unknown)} (known: {', '.join(sorted(_TOP_KEYS))})")
    ids = []
    for i, s in enumerate(raw.get("steps", [])):
        if not isinstance(s, dict):
            raise MovekitError(f"{p}: step {i + 1} is not a table")
        sid = s.get("id") or f"step{i + 1}"
        ids.append(sid)
        unknown = sorted(set(s) - _STEP_KEYS)
        if unknown:
            raise MovekitError(f"{p}: step {sid!r}: unknown key {', '.join(unknown)}")
        for key, (op, lo) in _STEP_MINIMA.items():
            if key in s:
                v = s[key]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > lo if op == ">" else v >= lo):
                    raise MovekitError(f"{p}: step {sid!r}: {key} must be a number {op} {lo:g}, not {v!r}")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise MovekitError(f"{p}: step id {', '.join(twice)} used more than once")


def _protocol(p: Path, raw: dict, side: str | None) -> Protocol:
    """The :class:`Protocol` of a parsed drill file (see :func:`load_protocol`)."""
    _check_keys(p, raw)
    side = side or raw.get("side")
    if side not in (None, "left", "right"):
        raise MovekitError(f"{p}: side must be left or right, got {side!r}")
    subs = {"side": side or "left", "other": "right" if side == "left" else "left"}
    raw = _fmt(raw, subs)
    steps = []
    for i, s in enumerate(raw.get("steps", [])):
        sid = s.get("id") or f"step{i + 1}"
        kind = s.get("kind")
        if kind not in _STEP_KINDS:
            raise MovekitError(f"{p}: step {sid!r} kind must be one of {', '.join(_STEP_KINDS)}")
        targets = tuple(tuple([t["when"]] if isinstance(t["when"], str) else t["when"]) for t in s.get("target_by", []))
        reps_by = tuple((r["start"], r["end"]) for r in s.get("rep_by", []))
        if kind == "hold" and (not targets or s.get("hold_s", 0) <= 0):
            raise MovekitError(f"{p}: hold step {sid!r} needs target_by and hold_s > 0")
        if kind == "reps" and (not reps_by or s.get("reps", 0) <= 0):
            raise MovekitError(f"{p}: reps step {sid!r} needs rep_by and reps > 0")
        if s.get("on_break", "restart") not in ("restart", "end"):
            raise MovekitError(f"{p}: step {sid!r} on_break must be restart or end")
        for conds in targets:
            for c in conds:
                Condition.parse(c)
        for a, b in reps_by:
            Condition.parse(a), Condition.parse(b)
        steps.append(
            Step(
                id=sid,
                kind=kind,
                say=s.get("say"),
                duration_s=float(s.get("duration_s", 0.0)),
                phase=s.get("phase", "drill" if kind in ("hold", "reps") else kind),
                sets=int(s.get("sets", 1)),
                reps=int(s.get("reps", 0)),
                hold_s=float(s.get("hold_s", 0.0)),
                rest_s=float(s.get("rest_s", 0.0)),
                timeout_s=float(s.get("timeout_s", math.inf)),
                grace_s=float(s.get("grace_s", 0.5)),
                on_break=s.get("on_break", "restart"),
                target_by=targets,
                target_hysteresis=float(s.get("target_hysteresis", 0.0)),
                rep_by=reps_by,
                summary=tuple(s.get("summary", ())),
                norm_s=s.get("norm_s"),
            )
        )
    if not steps:
        raise MovekitError(f"{p}: a drill needs at least one step")
    try:
        cues = tuple(CueRule.from_dict(c) for c in raw.get("cues", []))
    except MovekitError as exc:
        raise MovekitError(f"{p}: {exc}") from None
    contexts = {"drill", "rest", "instruction", "done"} | {s.id for s in steps} | {s.phase for s in steps}
    for c in cues:
        odd = sorted(set(c.during) - contexts)
        if odd:
            raise MovekitError(f"{p}: cue {c.id!r}: during {', '.join(odd)} names no step or phase of this drill")
    return Protocol(
        name=raw.get("name", p.stem),
        title=raw.get("title", p.stem),
        description=raw.get("description", ""),
        view=raw.get("view"),
        side=side,
        emg_channels=tuple(raw.get("emg_channels", ())),
        aliases=dict(raw.get("aliases", {})),
        steps=tuple(steps),
        cues=cues,
        references=tuple(raw.get("references", ())),
        path=p,
    )


# ------------------------------------------------------------------------------------ the runner
@dataclass
class _Stats:
    n: int = 0
    total: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf

    def add(self, v: float) -> None:
        if math.isfinite(v):
            self.n += 1
            self.total += v
            self.lo = min(self.lo, v)
            self.hi = max(self.hi, v)

    def as_dict(self) -> dict[str, float | int | None]:
        if not self.n:
            return {"n": 0, "mean": None, "min": None, "max": None}
        return {"n": self.n, "mean": self.total / self.n, "min": self.lo, "max": self.hi}


@dataclass
class _SetState:
    t_start: float
    stats: dict[str, _Stats] = field(default_factory=dict)
    cues: dict[str, int] = field(default_factory=dict)
    reps: int = 0
    rep_times: list[float] = field(default_factory=list)
    in_rep: bool = False
    rep_start_t: float = 0.0
    hold_started: float | None = None  # when the current hold began
    lost_since: float | None = None
    best_hold_s: float = 0.0
    completed: bool = False
    target_on: list[bool] = field(default_factory=list)
    in_target_s: float = 0.0
    last_t: float | None = None
    last_in_target: bool = False


class DrillRunner:
    """Runs one :class:`Protocol` on timestamped metric samples.

    Parameters
    ----------
    protocol : Protocol
    available : iterable of str, optional
        Metric names the sources can provide; used to choose among ``target_by``/``rep_by``
        alternatives (None: the first alternative).
    min_gap_s : float
        Least time between two cues (:class:`~movekit.feedback.rules.CueEngine`).
    """

    def __init__(self, protocol: Protocol, available: list[str] | None = None, min_gap_s: float = 0.8):
        self.p = protocol
        self.available: set[str] | None = None
        if available is not None:
            self.available = set(available) | {"hold_s", "rep_count", "set_number"}
            self.available |= {a for a, src in protocol.aliases.items() if src in self.available}
        self.engine = CueEngine(protocol.cues, min_gap_s=min_gap_s)
        self.values: dict[str, float] = {}
        self.events: list[dict] = []
        self.sets: list[dict] = []
        self.notices: list[str] = []
        self._step_i = -1
        self._set_i = 0
        self._mode = "init"  # init, step (instruction/rest timing), active, rest, done
        self._t_mode = 0.0
        self._set: _SetState | None = None
        self._target: tuple[Condition, ...] = ()
        self._rep: tuple[Condition, Condition] | None = None
        self.done = False
        self.t_last_s = math.nan  #: session time of the last sample fed (s)
        if self.available is not None:
            for step in protocol.steps:  # a step none of whose options can be measured: said now, not when it starts
                if step.kind == "hold":
                    self._choose(step.target_by, "target", step)
                elif step.kind == "reps":
                    self._choose(step.rep_by, "rep", step)
            for c in protocol.cues:
                missing = [m for m in c.metrics if m not in self.available]
                if missing:
                    self.notices.append(f"cue {c.id!r} is inactive: no {', '.join(missing)} from these sources")

    # -- helpers ------------------------------------------------------------------------
    def _emit(self, t: float, kind: str, **fields: Any) -> dict:
        ev = {"t_s": float(t), "kind": kind, **fields}
        self.events.append(ev)
        self._new.append(ev)
        return ev

    def _choose(self, alternatives, what: str, step: Step):
        for alt in alternatives:
            names = [Condition.parse(c).metric for c in alt]
            if self.available is None or all(n in self.available for n in names):
                return alt
        raise MovekitError(
            f"drill {self.p.name!r} step {step.id!r}: none of its {what} options can be measured from these "
            f"sources (they need {' or '.join(', '.join(dict.fromkeys(Condition.parse(c).metric for c in a)) for a in alternatives)}; "
            f"these sources give {self._given()})"
        )

    def _given(self) -> str:
        """The measured metrics on offer, in words, with what a %MVC metric needs."""
        given = sorted((self.available or set()) - {"hold_s", "rep_count", "set_number"})
        text = ", ".join(given) if given else "nothing this drill uses"
        if not any(g.endswith("_pct_mvc") for g in given):
            text += "; an EMG %MVC needs the channel's role (--channel ROLE=NAME) and its MVC (--mvc)"
        return text

    @property
    def step(self) -> Step | None:
        return self.p.steps[self._step_i] if 0 <= self._step_i < len(self.p.steps) else None

    def _context(self) -> None:
        s = self.step
        if s is None:
            self.engine.set_context("done")
        elif self._mode == "rest":
            self.engine.set_context(s.id, "rest")
        else:
            self.engine.set_context(s.id, s.phase)

    # -- state machine -----------------------------------------------------------------
    def _start_step(self, t: float, i: int) -> None:
        self._step_i = i
        s = self.step
        if s is None:
            self._mode = "done"
            self.done = True
            say = drill_summary_phrase(self.sets, completed=True)
            self._emit(t, "drill_end", drill=self.p.name, completed=True, sets=self.sets, say=say)
            self._context()
            return
        self._emit(
            t, "step_start", step=s.id, step_kind=s.kind, index=i + 1, of=len(self.p.steps), say=s.say, phase=s.phase
        )
        self._set_i = 0
        if s.kind in ("instruction", "rest"):
            self._mode, self._t_mode = "step", t
        else:
            if s.kind == "hold":
                self._target = tuple(
                    Condition.parse(c, s.target_hysteresis) for c in self._choose(s.target_by, "target", s)
                )
            else:
                a, b = self._choose(s.rep_by, "rep", s)
                self._rep = (Condition.parse(a), Condition.parse(b))
            self._start_set(t)
        self._context()

    def _start_set(self, t: float) -> None:
        s = self.step
        self._mode, self._t_mode = "active", t
        self._set = _SetState(t_start=t, target_on=[False] * len(self._target))
        say = f"Set {self._set_i + 1} of {s.sets}." if s.sets > 1 else None
        self._emit(t, "set_start", step=s.id, set=self._set_i + 1, of=s.sets, say=say)
        self._context()

    def _set_summary(self, t: float, s: Step, reason: str, *, with_target: bool) -> dict:
        """The ``set_summary`` event's fields for the set ending at ``t`` (s); ``with_target``
        adds the hold's target band and norm (a set ended by the recording's end has none)."""
        st = self._set
        summary = {
            "step": s.id,
            "set": self._set_i + 1,
            "of": s.sets,
            "reason": reason,
            "duration_s": t - st.t_start,
            "metrics": {k: v.as_dict() for k, v in sorted(st.stats.items())},
            "cues": dict(sorted(st.cues.items())),
        }
        if s.kind == "reps":
            summary.update(reps=st.reps, reps_target=s.reps, rep_times_s=st.rep_times)
            return summary
        summary.update(
            hold_s=st.best_hold_s,
            hold_target_s=s.hold_s,
            completed=st.completed,
            time_in_target_pct=100.0 * st.in_target_s / max(t - st.t_start, 1e-9),
        )
        if with_target:
            summary["target"] = [str(c) for c in self._target]
            if s.norm_s is not None:
                summary["norm_s"] = s.norm_s
        return summary

    def _end_set(self, t: float, reason: str) -> None:
        s = self.step
        summary = self._set_summary(t, s, reason, with_target=True)
        self.sets.append(summary)
        self._emit(t, "set_summary", **summary, say=set_summary_phrase(summary))
        self._set = None
        self._set_i += 1
        if self._set_i < s.sets:
            if s.rest_s > 0:
                self._mode, self._t_mode = "rest", t
                self._emit(t, "rest_start", step=s.id, duration_s=s.rest_s, say="Rest.")
                self._context()
            else:
                self._start_set(t)
        else:
            self._emit(t, "step_end", step=s.id)
            self._start_step(t, self._step_i + 1)

    def _advance_time(self, t: float) -> None:
        """Transitions that depend only on time (cascading)."""
        for _ in range(1000):
            s = self.step
            if self._mode == "step" and t - self._t_mode >= s.duration_s - 1e-9:
                self._emit(t, "step_end", step=s.id)
                self._start_step(t, self._step_i + 1)
            elif self._mode == "rest" and t - self._t_mode >= s.rest_s - 1e-9:
                self._start_set(t)
            elif self._mode == "active" and t - self._t_mode >= s.timeout_s - 1e-9:
                self._end_set(t, "timeout")
            else:
                return

    def _values_of(self, conds) -> list[float]:
        return [self.values.get(c.metric, math.nan) for c in conds]

    def _active(self, t: float, metrics: Mapping[str, float]) -> None:
        s, st = self.step, self._set
        for name, v in metrics.items():
            if name in s.summary or any(name in c.metrics for c in self.p.cues):
                st.stats.setdefault(name, _Stats()).add(v)
        if s.kind == "reps":
            start, end = self._rep
            if not (start.metric in metrics or end.metric in metrics):
                return
            v0, v1 = self.values.get(start.metric, math.nan), self.values.get(end.metric, math.nan)
            if not st.in_rep and start.engage(v0):
                st.in_rep, st.rep_start_t = True, t
            elif st.in_rep and end.engage(v1):
                st.in_rep = False
                st.reps += 1
                st.rep_times.append(t - st.rep_start_t)
                self._emit(
                    t,
                    "rep",
                    step=s.id,
                    set=self._set_i + 1,
                    rep=st.reps,
                    of=s.reps,
                    duration_s=t - st.rep_start_t,
                    say=str(st.reps),
                )
                if st.reps >= s.reps:
                    self._end_set(t, "done")
            return
        # hold
        if not any(c.metric in metrics for c in self._target):
            return
        vals = self._values_of(self._target)
        st.target_on = [c.hold(v) if on else c.engage(v) for c, v, on in zip(self._target, vals, st.target_on)]
        on = all(st.target_on)
        if st.last_t is not None and st.last_in_target:
            st.in_target_s += t - st.last_t
        st.last_t, st.last_in_target = t, on
        if on:
            st.lost_since = None
            if st.hold_started is None:
                st.hold_started = t
                self._emit(t, "hold_start", step=s.id, set=self._set_i + 1, say="Hold.")
            held = t - st.hold_started
            st.best_hold_s = max(st.best_hold_s, held)
            if held >= s.hold_s - 1e-9:
                st.completed = True
                self._emit(
                    t,
                    "hold_complete",
                    step=s.id,
                    set=self._set_i + 1,
                    hold_s=held,
                    say="Well done.",
                    cue_kind="confirm",
                )
                self._end_set(t, "done")
        elif st.hold_started is not None:
            if st.lost_since is None:
                st.lost_since = t
            if t - st.lost_since > s.grace_s:
                held = st.lost_since - st.hold_started
                self._emit(t, "hold_break", step=s.id, set=self._set_i + 1, hold_s=held)
                st.hold_started = None
                st.lost_since = None
                if s.on_break == "end":
                    self._end_set(t, "target lost")

    def feed(self, t_s: float, metrics: Mapping[str, float]) -> list[dict]:
        """Advance to session time ``t_s`` with the metric values sampled then; returns new events."""
        self._new: list[dict] = []
        t = float(t_s)
        self.t_last_s = t
        metrics = dict(metrics)
        for alias, src in self.p.aliases.items():
            if src in metrics:
                metrics[alias] = metrics[src]
        for k, v in metrics.items():
            self.values[k] = float(v)
        if self._mode == "init":
            self._emit(
                t,
                "drill_start",
                drill=self.p.name,
                title=self.p.title,
                view=self.p.view,
                side=self.p.side,
                notices=list(self.notices),
            )
            self._start_step(t, 0)
        if self.done:
            return self._new
        self._advance_time(t)
        if self._mode == "active" and metrics:
            self._active(t, metrics)
        if self.done:
            return self._new
        extra: dict[str, float] = {}
        if self._mode == "active" and self._set is not None:
            st = self._set
            extra["hold_s"] = (t - st.hold_started) if st.hold_started is not None else 0.0
            extra["rep_count"] = float(st.reps)
            extra["set_number"] = float(self._set_i + 1)
        for cue in self.engine.update(t, {**metrics, **extra}):
            rec = cue.record()
            self._emit(cue.t_s, "cue", **rec)
            if self._set is not None:
                self._set.cues[cue.rule_id] = self._set.cues.get(cue.rule_id, 0) + 1
        return self._new

    def finish(self, t_s: float, ended: str = "the source ended") -> list[dict]:
        """End of the source (or a stop, said in ``ended``): close an unfinished set and the drill
        (``completed`` false; ``reason`` says where it stopped and what was not reached)."""
        self._new = []
        if self.done or self._mode == "init":
            return self._new
        reason = self._stopped_reason(t_s, ended)
        if self._mode == "active" and self._set is not None:
            s = self.step
            self._end_set_final(t_s, s)
        self.done = True
        self._emit(
            t_s,
            "drill_end",
            drill=self.p.name,
            completed=False,
            sets=self.sets,
            stopped_in=self.step.id if self.step else None,
            reason=reason,
            say=drill_summary_phrase(self.sets, completed=False),
        )
        return self._new

    def _stopped_reason(self, t_s: float, ended: str) -> str:
        """Where the source ended, in words: the step, how far into it, and the steps not reached,
        e.g. "the source ended 7.6 s into the 8 s instruction 'setup'; not reached: hinge"."""
        s = self.step
        into = t_s - self._t_mode
        if self._mode == "step":
            where = f"{into:.1f} s into the {s.duration_s:g} s {s.kind} {s.id!r}"
        elif self._mode == "rest":
            where = f"{into:.1f} s into the {s.rest_s:g} s rest after set {self._set_i} of {s.sets} of {s.id!r}"
        else:
            where = f"{into:.1f} s into set {self._set_i + 1} of {s.sets} of {s.id!r}"
        later = [x.id for x in self.p.steps[self._step_i + 1 :]]
        return f"{ended} {where}" + (f"; not reached: {', '.join(later)}" if later else "")

    def _end_set_final(self, t: float, s: Step) -> None:
        # record the partial set without starting the next one
        summary = self._set_summary(t, s, "recording ended", with_target=False)
        self.sets.append(summary)
        self._emit(t, "set_summary", **summary, say=set_summary_phrase(summary))
        self._set = None


# ------------------------------------------------------------------------------ what is said and shown
def _n(k: float, word: str) -> str:
    return f"{k:.0f} {word}" + ("" if round(k) == 1 else "s")


def set_summary_phrase(summary: Mapping[str, Any]) -> str:
    """The spoken end of a set, e.g. "Set 1 of 3 done: 8 of 10 reps." or "... best hold 12 seconds."

    Built from a ``set_summary`` event's fields (``set``, ``of``, ``reps``/``reps_target`` or
    ``hold_s``/``hold_target_s``/``completed``, ``reason``); holds are said rounded to whole seconds.
    """
    name = f"Set {summary['set']} of {summary['of']}" if summary.get("of", 1) > 1 else "Set"
    done = "stopped" if summary.get("reason") == "recording ended" else "done"
    if summary.get("reps_target") is not None:
        what = f"{summary.get('reps', 0)} of {_n(summary['reps_target'], 'rep')}"
    elif summary.get("completed"):
        what = "held " + _n(round(summary.get("hold_s", 0.0)), "second")
    else:
        what = "best hold " + _n(round(summary.get("hold_s", 0.0)), "second")
    return f"{name} {done}: {what}."


def drill_summary_phrase(sets: list[Mapping[str, Any]], completed: bool) -> str:
    """The spoken end of a drill: "Drill complete: 3 sets, 24 reps, best hold 30 seconds." (or "stopped")."""
    parts = [_n(len(sets), "set")]
    reps = [s["reps"] for s in sets if s.get("reps") is not None]
    holds = [s["hold_s"] for s in sets if s.get("hold_s") is not None]
    if reps:
        parts.append(_n(sum(reps), "rep"))
    if holds:
        parts.append("best hold " + _n(round(max(holds)), "second"))
    return f"Drill {'complete' if completed else 'stopped'}: {', '.join(parts)}."


def _band(c: Condition, values: Mapping[str, float], engaged: bool | None = None) -> dict[str, Any]:
    """A condition as a screen shows it: metric, bounds (NaN = open), latest value, whether met."""
    lo, hi = c.lo, c.hi
    if c.op in (">", ">="):
        lo, hi = c.lo, math.inf
    elif c.op in ("<", "<="):
        lo, hi = -math.inf, c.lo
    elif c.op == "==":
        hi = c.lo
    v = values.get(c.metric, math.nan)
    met = engaged if engaged is not None else c.engage(v)
    return {"metric": c.metric, "condition": str(c), "op": c.op, "lo": lo, "hi": hi, "value": v, "met": bool(met)}


def runner_snapshot(r: DrillRunner) -> dict[str, Any]:
    """What a drill screen shows, read from a runner (pure; times on the runner's clock, s).

    Keys: ``mode`` (init, step, active, rest, done), ``t_s``, ``step``/``step_kind``/``phase``,
    ``step_index``/``step_count``, ``set``/``set_count``, ``reps``/``reps_target``, ``hold_s``,
    ``hold_target_s``, ``hold_remaining_s``, ``countdown_s`` (time left in an instruction, rest or
    set timeout), ``targets`` (bands from :func:`_band`: for a hold its target, for reps the
    start and end thresholds).
    """
    t, s, st = r.t_last_s, r.step, r._set
    out: dict[str, Any] = {"mode": r._mode, "t_s": t, "step": None, "step_kind": None, "phase": None}
    out.update(step_index=r._step_i + 1, step_count=len(r.p.steps), set=None, set_count=None, reps=None)
    out.update(reps_target=None, hold_s=None, hold_target_s=None, hold_remaining_s=None, countdown_s=None)
    out["targets"] = []
    if s is None or r._mode in ("init", "done"):
        return out
    out.update(step=s.id, step_kind=s.kind, phase="rest" if r._mode == "rest" else s.phase)
    if r._mode == "step":
        out["countdown_s"] = max(0.0, s.duration_s - (t - r._t_mode))
        return out
    out.update(set=r._set_i + 1, set_count=s.sets)
    if r._mode == "rest":
        out["countdown_s"] = max(0.0, s.rest_s - (t - r._t_mode))
    elif math.isfinite(s.timeout_s):
        out["countdown_s"] = max(0.0, s.timeout_s - (t - r._t_mode))
    if s.kind == "reps":
        out.update(reps=st.reps if st else 0, reps_target=s.reps)
        if r._rep is not None:
            out["targets"] = [_band(c, r.values) for c in r._rep]
        return out
    held = (t - st.hold_started) if st is not None and st.hold_started is not None else 0.0
    out.update(hold_s=held, hold_target_s=s.hold_s, hold_remaining_s=max(0.0, s.hold_s - held))
    on = st.target_on if st is not None else [False] * len(r._target)
    out["targets"] = [_band(c, r.values, e) for c, e in zip(r._target, on)]
    return out
