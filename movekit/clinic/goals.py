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
* ``no data``: nothing stored after the day the goal was set (or, for a goal whose baseline is the
  first result to arrive, nothing after that first result).

A goal can be set on a measure not yet stored for the client: any questionnaire, any metric of
:data:`GOAL_METRICS` (its unit and which way is better) or a count of valid reps. Its baseline is
then typed, or left open: the first result stored on or after the day the goal was set becomes the
baseline (``baseline_from`` says which).

For a questionnaire the change is also judged against its MCID (:mod:`movekit.clinic.outcomes`), shown
beside the goal's status.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass

from movekit.clinic import outcomes as oc
from movekit.errors import MovekitError

#: share of the planned change a goal may lag the straight line before it is "at risk"
TOLERANCE = 0.25

#: assessment metrics a goal may be set on before any is stored for the client:
#: ``"<test>:<metric>" -> (unit, better)`` where ``better`` is "higher" or "lower" (the direction
#: an improvement moves; e.g. TUG time lower, Shumway-Cook 2000; five-times sit-to-stand lower,
#: Bohannon 2006; single-leg stance longer, Springer 2007; joint-position error lower, Goble 2010;
#: step-down points lower, Piva 2006; deep squat points higher, Cook 2006). Units are those the
#: screens of :mod:`movekit.assess` store (a metric's name ends with its unit's suffix).
GOAL_METRICS: dict[str, tuple[str, str]] = {
    "painful-arc:max_pain_free_elevation_deg": ("deg", "higher"),
    "painful-arc:arc_positive_reps_count": ("count", "lower"),
    "painful-arc:reps_count": ("count", "higher"),
    "hip-hinge:trunk_straightness_loss_deg": ("deg", "lower"),
    "hip-hinge:hip_share_proxy_pct": ("%", "higher"),
    "hip-hinge:reps_count": ("count", "higher"),
    "balance:sway_ellipse95_area_mm2": ("mm2", "lower"),
    "single-leg-stance:stance_time_s": ("s", "higher"),
    "step-down:step_down_total_points": ("points", "lower"),
    "step-down:fppa_at_peak_deg": ("deg", "lower"),
    "step-down:reps_count": ("count", "higher"),
    "sit-to-stand:chair_stand_30s_count": ("count", "higher"),
    "sit-to-stand:five_times_sts_time_s": ("s", "lower"),
    "sit-to-stand:stands_count": ("count", "higher"),
    "tug:tug_time_s": ("s", "lower"),
    "squat:fms_deep_squat_points": ("points", "higher"),
    "squat:reps_count": ("count", "higher"),
    "lumbar-flexion:lumbar_flexion_deg": ("deg", "higher"),
    "lumbar-flexion:trunk_flexion_proxy_deg": ("deg", "higher"),
    "posture:craniovertebral_proxy_deg": ("deg", "higher"),
    "gait:step_time_asymmetry_pct": ("%", "lower"),
    "gait-trunk:gait_speed_m_per_s": ("m/s", "higher"),
    "gait-trunk:cadence_steps_per_min": ("steps/min", "higher"),
    "joint-position-sense:absolute_error_deg": ("deg", "lower"),
    "scapular:reps_count": ("count", "higher"),
}


def measure_unit(measure: str, stored_unit: str = "") -> str:
    """The unit of a goal's measure: a questionnaire's, a :data:`GOAL_METRICS` entry's, else the
    stored one (``stored_unit``)."""
    if measure in oc.MEASURES:
        return oc.MEASURES[measure].unit
    return GOAL_METRICS[measure][0] if measure in GOAL_METRICS else stored_unit


def better_direction(measure: str) -> str:
    """``"higher"``, ``"lower"`` or ``""`` (not known) for a goal's measure."""
    if measure in oc.MEASURES:
        return "lower" if oc.MEASURES[measure].mcid.lower_is_better else "higher"
    return GOAL_METRICS.get(measure, ("", ""))[1]


def check_measure(measure: str, stored: bool) -> None:
    """A goal's measure must be a questionnaire, a :data:`GOAL_METRICS` metric or one already
    stored for the client (``stored``); a clear error otherwise."""
    if measure in oc.MEASURES or measure in GOAL_METRICS or stored:
        return
    if ":" not in measure:
        raise MovekitError(f"measure {measure!r}: a questionnaire ({', '.join(oc.MEASURES)}) or TEST:METRIC")
    raise MovekitError(f"measure {measure!r} is not stored for this client and not one movekit lists for goals "
                       "(movekit goal measures)")  # fmt: skip


@dataclass(frozen=True)
class GoalProgress:
    goal_id: int
    measure: str
    context: str
    baseline: float | None  #: None while a goal waits for its first result
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
    #: "given" (typed or the latest stored value when the goal was set), "first result <date>" or
    #: "waiting for the first result"
    baseline_from: str = "given"
    better: str = ""  #: "higher", "lower" or "" (see :func:`better_direction`)

    def as_dict(self) -> dict:
        return asdict(self)


def _after_goal_set(goal: dict, value: dict) -> bool:
    """Whether a stored value came after the goal was set: dated after its set date, or on it and
    entered after the goal was (``stored_utc`` vs ``created_utc``; the default baseline is the latest
    value on or before the set date, entered before the goal)."""
    if value["date"] != goal["set_date"]:
        return value["date"] > goal["set_date"]
    return str(value.get("stored_utc") or "") > str(goal.get("created_utc") or "")


def _baseline_and_after(goal: dict, values: list[dict], day: str) -> tuple[float | None, str, list[dict]]:
    """The goal's baseline, where it came from, and the values that count as progress (up to ``day``)."""
    if goal["baseline"] is not None:
        return float(goal["baseline"]), "given", [v for v in values if _after_goal_set(goal, v) and v["date"] <= day]
    arrived = [v for v in values if goal["set_date"] <= v["date"] <= day]
    if not arrived:
        return None, "waiting for the first result", []
    first = arrived[0]
    return float(first["value"]), f"first result {first['date']}", arrived[1:]


def _status(prog: float | None, expected: float, overdue: bool) -> str:
    if prog is None:
        return "overdue" if overdue else "no data"
    if prog >= 1.0:
        return "reached"
    if overdue:
        return "overdue"
    return "on track" if prog >= expected - TOLERANCE else "at risk"


def goal_progress(goal: dict, values: list[dict], today: _dt.date | str | None = None) -> GoalProgress:
    """Progress of one goal (a row of ``Store.goals``) from the measure's stored values
    (``Store.measure_values``: dicts with ``date`` and ``value``) as of ``today``.

    A goal without a baseline takes the first value stored on or after its set date as baseline;
    the values after that one are its progress.
    """
    day = _dt.date.fromisoformat(str(today)) if today is not None else _dt.date.today()
    start = _dt.date.fromisoformat(goal["set_date"])
    due = _dt.date.fromisoformat(goal["deadline"])
    t = float(goal["target"])
    b, source, after = _baseline_and_after(goal, values, day.isoformat())
    expected = min(1.0, max(0.0, (day - start).days / max((due - start).days, 1)))
    latest = latest_date = prog = None
    if after and b is not None and b != t:
        latest, latest_date = float(after[-1]["value"]), after[-1]["date"]
        prog = (latest - b) / (t - b)
    status = _status(prog, expected, day > due)
    mcid = None
    if latest is not None and goal["measure"] in oc.MEASURES:
        ch = oc.change_from_baseline(goal["measure"], b, latest)
        mcid = f"{ch.verdict()}: {ch.mcid.describe()}"
    return GoalProgress(
        int(goal["id"]), goal["measure"], goal.get("context", ""), b, t, goal.get("unit", ""), goal["set_date"],
        goal["deadline"], latest, latest_date, prog, expected, status, mcid, source, better_direction(goal["measure"]),
    )  # fmt: skip


def goal_measures(store, code: str) -> list[dict]:
    """What a goal can be set on for this client: every questionnaire, every metric of
    :data:`GOAL_METRICS` and every metric already stored for the client; counts (``*_count``:
    valid reps, stands, steps) in their own group. Each: ``key`` (the store's measure name),
    ``label``, ``group``, ``unit``, ``better`` ("higher", "lower" or "") and the ``latest`` stored
    value with its ``date`` (None when nothing is stored: the baseline is then typed or the first
    result that arrives)."""
    out = []
    for key, m in oc.MEASURES.items():
        values = store.measure_values(code, key)
        last = values[-1] if values else None
        out.append({"key": key, "label": m.title, "group": "Questionnaires", "unit": m.unit,
                    "better": better_direction(key), "latest": last and last["value"], "date": last and last["date"]})  # fmt: skip
    stored: dict[str, dict] = {}
    for r in store.metric_series(code):
        if r["value"] is not None:
            stored[f"{r['test']}:{r['name']}"] = r  # date order: the last one wins
    for key in sorted(set(GOAL_METRICS) | set(stored)):
        r = stored.get(key)
        name = key.split(":", 1)[1]
        group = "Counts (valid reps, stands, steps)" if name.endswith("_count") else "Assessment metrics"
        out.append({"key": key, "label": key, "group": group, "unit": measure_unit(key, r["unit"] if r else ""),
                    "better": better_direction(key), "latest": None if r is None else float(r["value"]),
                    "date": None if r is None else r["session_date"]})  # fmt: skip
    return out


def client_goal_progress(store, code: str, today=None) -> list[GoalProgress]:
    """Every goal of a client with its progress (:func:`goal_progress`)."""
    return [goal_progress(g, store.measure_values(code, g["measure"]), today) for g in store.goals(code)]


__all__ = [
    "GOAL_METRICS",
    "TOLERANCE",
    "GoalProgress",
    "better_direction",
    "check_measure",
    "client_goal_progress",
    "goal_measures",
    "goal_progress",
    "measure_unit",
]
