"""Progress toward a client's goals, from the results the store holds (issue 23).

A goal as clinicians write it names a measure, a baseline, a target, a deadline and a context
("reduce cervical pain from 6 to 2 on the NPRS during computer work by 15 January"; goals of this
form: Bovend'Eerdt, Botell & Wade 2009, Clin Rehabil 23:352-361, SMART goal writing in
rehabilitation). Progress is the share of the planned change achieved by the latest stored value:

    progress = (latest - baseline) / (target - baseline)     (1 = reached, may exceed 1 or go below 0)

Status (movekit's rule, stated here because the literature gives none to copy):

* ``reached``: the latest value is at or beyond the target;
* ``overdue``: the deadline has passed and the target was not reached;
* ``on track``: progress is at least the share of the time elapsed minus :data:`TOLERANCE`
  (a straight line from baseline at the set date to target at the deadline, with a quarter of the
  planned change as slack);
* ``at risk``: behind that line;
* ``no data``: nothing stored after the day the goal was set.

For a questionnaire the change is also judged against its MCID (:mod:`movekit.clinic.outcomes`), shown
beside the goal's status.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass

from movekit.clinic import outcomes as oc

#: share of the planned change a goal may lag the straight line before it is "at risk"
TOLERANCE = 0.25


@dataclass(frozen=True)
class GoalProgress:
    goal_id: int
    measure: str
    context: str
    baseline: float
    target: float
    unit: str
    set_date: str
    deadline: str
    latest: float | None
    latest_date: str | None
    progress: float | None  #: share of the planned change achieved (1 = reached)
    expected: float  #: share of the time from set date to deadline elapsed by ``today`` (0-1)
    status: str  #: reached, overdue, on track, at risk or no data
    #: for a questionnaire: the change judged against its MCID (movekit.clinic.outcomes), else None
    mcid: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def goal_progress(goal: dict, values: list[dict], today: _dt.date | str | None = None) -> GoalProgress:
    """Progress of one goal (a row of ``Store.goals``) from the measure's stored values
    (``Store.measure_values``: dicts with ``date`` and ``value``) as of ``today``."""
    day = _dt.date.fromisoformat(str(today)) if today is not None else _dt.date.today()
    start = _dt.date.fromisoformat(goal["set_date"])
    due = _dt.date.fromisoformat(goal["deadline"])
    b, t = float(goal["baseline"]), float(goal["target"])
    after = [v for v in values if goal["set_date"] < v["date"] <= day.isoformat()]
    expected = min(1.0, max(0.0, (day - start).days / max((due - start).days, 1)))
    if not after:
        latest = latest_date = prog = None
        status = "overdue" if day > due else "no data"
    else:
        latest, latest_date = float(after[-1]["value"]), after[-1]["date"]
        prog = (latest - b) / (t - b)
        if prog >= 1.0:
            status = "reached"
        elif day > due:
            status = "overdue"
        elif prog >= expected - TOLERANCE:
            status = "on track"
        else:
            status = "at risk"
    mcid = None
    if latest is not None and goal["measure"] in oc.MEASURES:
        ch = oc.change_from_baseline(goal["measure"], b, latest)
        mcid = f"{ch.verdict()}: {ch.mcid.describe()}"
    return GoalProgress(
        int(goal["id"]), goal["measure"], goal.get("context", ""), b, t, goal.get("unit", ""), goal["set_date"],
        goal["deadline"], latest, latest_date, prog, expected, status, mcid,
    )  # fmt: skip


def client_goal_progress(store, code: str, today=None) -> list[GoalProgress]:
    """Every goal of a client with its progress (:func:`goal_progress`)."""
    return [goal_progress(g, store.measure_values(code, g["measure"]), today) for g in store.goals(code)]


__all__ = ["TOLERANCE", "GoalProgress", "client_goal_progress", "goal_progress"]
