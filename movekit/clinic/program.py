"""Home program: assigned drills/exercises, the client's log, weekly adherence.

An item is either a guided drill (``kind="drill"``, ``drill_id`` naming the protocol
the feedback runner knows) or a plain exercise with sets, reps, hold time and a
prescribed frequency per week. The client logs each session by hand
(``movekit program log``); a guided drill run logs itself through
:func:`log_guided_drill`.

Adherence is the share of prescribed sessions done, per ISO week (Monday-Sunday):
for each item active in the week, prescribed = per_week x (days active / 7),
done = days with a "done" log for that item, capped at the prescription so extra
sessions of one exercise do not hide a skipped one.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from movekit.clinic.store import Store
from movekit.errors import MovekitError


def assign(store: Store, client: str, name: str, **kwargs) -> dict:
    """Assign an exercise or drill; kwargs: kind, drill_id, sets, reps, hold_s, per_week, notes, date."""
    if kwargs.get("drill_id") and kwargs.get("kind", "exercise") == "exercise":
        kwargs["kind"] = "drill"
    return store.add_program_item(client, name, **kwargs)


def find_item(store: Store, client: str, item: int | str) -> dict:
    """An item by id, name or drill id (the most recent match, active ones first)."""
    items = store.program_items(client)
    if isinstance(item, int) or str(item).isdigit():
        for it in items:
            if it["id"] == int(item):
                return it
        raise MovekitError(f"client {client} has no home-program item {item}")
    key = str(item).strip().lower()
    matches = [it for it in items if it["name"].lower() == key or (it["drill_id"] or "").lower() == key]
    if not matches:
        names = ", ".join(f"{it['id']}:{it['name']}" for it in items) or "none assigned"
        raise MovekitError(f"client {client} has no home-program item {item!r} ({names})")
    matches.sort(key=lambda it: (it["ended_date"] is None, it["id"]))
    return matches[-1]


def log(store: Store, client: str, item: int | str, **kwargs) -> int:
    """Log one home session of an item; kwargs: done, date, sets, reps, pain_0_10, difficulty_0_10, notes."""
    it = find_item(store, client, item)
    return store.add_program_log(it["id"], **kwargs)


def log_guided_drill(
    store: Store,
    client: str,
    drill_id: str,
    *,
    date=None,
    sets=None,
    reps=None,
    pain_0_10=None,
    difficulty_0_10=None,
    notes: str = "",
) -> int | None:
    """Called when a guided drill finishes: logs it against the client's assigned item with
    that ``drill_id`` (source "guided"). Returns the log id, or None when the drill is not
    part of the client's home program (nothing is logged then)."""
    d = _dt.date.today().isoformat() if date is None else str(date)
    items = [it for it in store.program_items(client, active_on=d) if it["drill_id"] == drill_id]
    if not items:
        return None
    return store.add_program_log(
        items[-1]["id"],
        done=True,
        date=d,
        sets=sets,
        reps=reps,
        pain_0_10=pain_0_10,
        difficulty_0_10=difficulty_0_10,
        notes=notes,
        source="guided",
    )


def drill_summary(set_summaries: list[dict]) -> dict:
    """sets / reps / notes for :func:`log_guided_drill` from a drill run's ``set_summary`` events
    (``movekit.protocols.runner.DrillRunner.sets``): reps summed over rep sets, best hold per hold set."""
    sets = [s for s in set_summaries if isinstance(s, dict)]
    reps = [s["reps"] for s in sets if s.get("reps") is not None]
    holds = [s["hold_s"] for s in sets if s.get("hold_s") is not None]
    notes = []
    if holds:
        notes.append("holds " + ", ".join(f"{h:.0f} s" for h in holds))
    cues = sum(sum((s.get("cues") or {}).values()) for s in sets if isinstance(s.get("cues"), dict))
    if cues:
        notes.append(f"{cues} cue(s)")
    return {"sets": len(sets) or None, "reps": sum(reps) if reps else None, "notes": "; ".join(notes)}


@dataclass(frozen=True)
class DrillLog:
    """What :func:`log_drill_run` did: ``status`` "logged", "not_assigned" (the drill is not in the
    client's home program) or "no_sets" (stopped before its first set), with the summary logged."""

    status: str
    client: str
    drill_id: str
    log_id: int | None = None
    summary: dict | None = None

    def message(self) -> str:
        """One line for the user."""
        if self.status == "no_sets":
            return f"the drill stopped before its first set; nothing was logged for {self.client}"
        if self.status == "not_assigned":
            return f"{self.drill_id} is not in {self.client}'s home program; nothing was logged"
        s = self.summary or {}
        done = [f"{s.get('sets')} set(s)"] + ([f"{s['reps']} rep(s)"] if s.get("reps") else [])
        return f"logged in {self.client}'s home program: " + ", ".join(done + ([s["notes"]] if s.get("notes") else []))


def log_drill_run(store: Store | None, client: str, drill_id: str, set_summaries: list[dict]) -> DrillLog:
    """The logging hook a finished guided drill calls (:class:`movekit.protocols.drill.Drill`):
    summarise its ``set_summary`` records (:func:`drill_summary`) and log them against the
    client's assigned item (:func:`log_guided_drill`). ``store`` may be None when there are no sets."""
    sets = [s for s in set_summaries if isinstance(s, dict)]
    if not sets:
        return DrillLog("no_sets", client, drill_id)
    summary = drill_summary(sets)
    log_id = log_guided_drill(store, client, drill_id, **summary)
    return DrillLog("logged" if log_id is not None else "not_assigned", client, drill_id, log_id, summary)


@dataclass(frozen=True)
class WeekAdherence:
    week_start: str  #: Monday, ISO date
    prescribed: float  #: sessions prescribed that week (all items)
    done: float  #: sessions done, capped per item at its prescription
    done_raw: int  #: logged "done" days, uncapped
    adherence_pct: float | None
    mean_pain_0_10: float | None
    mean_difficulty_0_10: float | None


def _monday(d: _dt.date) -> _dt.date:
    return d - _dt.timedelta(days=d.weekday())


def weekly_adherence(items: list[dict], logs: list[dict], start=None, end=None) -> list[WeekAdherence]:
    """Adherence per ISO week from program items and logs (dicts as the store returns them).

    ``start`` defaults to the first assignment, ``end`` to today (or the last log if later).
    """
    if not items:
        return []
    d0 = _dt.date.fromisoformat(str(start)) if start else min(_dt.date.fromisoformat(i["assigned_date"]) for i in items)
    last_log = max((_dt.date.fromisoformat(log["log_date"]) for log in logs), default=d0)
    d1 = _dt.date.fromisoformat(str(end)) if end else max(_dt.date.today(), last_log)
    if d1 < d0:
        return []
    done_days: dict[int, set] = {}
    pains: dict[_dt.date, list] = {}
    diffs: dict[_dt.date, list] = {}
    for log in logs:
        day = _dt.date.fromisoformat(log["log_date"])
        wk = _monday(day)
        if log["done"]:
            done_days.setdefault(log["item_id"], set()).add(day)
        if log.get("pain_0_10") is not None:
            pains.setdefault(wk, []).append(float(log["pain_0_10"]))
        if log.get("difficulty_0_10") is not None:
            diffs.setdefault(wk, []).append(float(log["difficulty_0_10"]))
    out = []
    wk = _monday(d0)
    while wk <= d1:
        days = [wk + _dt.timedelta(days=k) for k in range(7)]
        days = [d for d in days if d0 <= d <= d1]
        prescribed = done = 0.0
        raw = 0
        for it in items:
            a = _dt.date.fromisoformat(it["assigned_date"])
            e = _dt.date.fromisoformat(it["ended_date"]) if it.get("ended_date") else None
            active = [d for d in days if d >= a and (e is None or d <= e)]
            if not active:
                continue
            p = it["per_week"] * len(active) / 7.0
            n = sum(1 for d in active if d in done_days.get(it["id"], ()))
            prescribed += p
            done += min(n, p)
            raw += n
        out.append(
            WeekAdherence(
                wk.isoformat(),
                round(prescribed, 2),
                round(done, 2),
                raw,
                None if prescribed == 0 else round(100.0 * done / prescribed, 1),
                _mean(pains.get(wk)),
                _mean(diffs.get(wk)),
            )
        )
        wk += _dt.timedelta(days=7)
    return out


def _mean(v):
    return None if not v else round(sum(v) / len(v), 2)


def client_adherence(store: Store, client: str, start=None, end=None) -> list[WeekAdherence]:
    return weekly_adherence(store.program_items(client), store.program_logs(client), start, end)
