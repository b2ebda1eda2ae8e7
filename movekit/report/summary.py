"""The report's first page: a one-page summary for the client and the referrer.

Clinic header, client and dates, key results in plain language (one sentence per outcome measure
and per screen), the change since baseline with its MCID verdict, goal status, a few keyframes with
the skeleton, and the therapist's notes. Every number here is read from what the clinic layer
stored and judged: :func:`movekit.clinic.reassess.compare` (baseline vs latest, noise floors),
:func:`movekit.clinic.outcomes.change_from_baseline` (MCIDs: Farrar 2001, Ostelo 2008, Franchignoni 2014,
Stratford 1995), :func:`movekit.clinic.goals.client_goal_progress`; nothing is recomputed from raw data.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

from movekit.clinic import outcomes as oc
from movekit.clinic import reassess
from movekit.report.clinic import ClinicHeader
from movekit.report.keyframes import KeyframeSet

__all__ = ["Summary", "fmt_num", "summary_context"]

#: at most this many screen sentences on the page (the rest are in the appendix)
MAX_SCREEN_LINES = 4
#: at most this many goals on the page, the ones due soonest (all are in the appendix's goal table)
MAX_GOAL_LINES = 4
#: short names of the questionnaires for the sentences
SHORT = {"nprs": "Pain (NPRS)", "odi": "Disability (ODI)", "dash": "Arm function (DASH)",
         "quickdash": "Arm function (QuickDASH)", "psfs": "Activities (PSFS)"}  # fmt: skip


def fmt_num(v: float | None) -> str:
    """A stored value as the page prints it: one decimal, a trailing ``.0`` dropped."""
    if v is None:
        return "-"
    s = f"{float(v):.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0" if s == "-0" else s


@dataclass
class Summary:
    """Everything the first page shows (rendered by ``template.SUMMARY``)."""

    clinic: ClinicHeader | None
    client: str
    first_date: str | None
    latest_date: str | None
    n_sessions: int
    report_date: str
    key_results: list[str] = field(default_factory=list)
    outcome_rows: list[dict] = field(default_factory=list)
    goal_lines: list[str] = field(default_factory=list)
    keyframes: KeyframeSet | None = None
    keyframe_note: str = ""
    notes: str = ""
    notes_source: str = ""
    client_name: str = ""  #: empty when the report hides the name


def _direction(change: float) -> str:
    return "rose" if change > 0 else ("fell" if change < 0 else "did not change")


def outcome_sentence(o: reassess.OutcomeChange) -> str:
    """One sentence on a questionnaire: baseline, latest, and the MCID verdict."""
    ch, name = o.change, SHORT.get(o.measure, o.title)
    rule = f"{ch.mcid.points:g} points" + (f" or {ch.mcid.percent:g}%" if ch.mcid.percent is not None else "")
    if o.n < 2:
        return f"{name}: {fmt_num(ch.current)} {oc.MEASURES[o.measure].unit} on {o.current_date}; one score so far."
    if o.not_comparable:
        return f"{name}: {fmt_num(ch.baseline)} at baseline, {fmt_num(ch.current)} on {o.current_date}; {o.not_comparable}."
    move = f"{_direction(ch.change)} from {fmt_num(ch.baseline)} to {fmt_num(ch.current)}"
    if fmt_num(ch.baseline) == fmt_num(ch.current):
        move = f"stayed at {fmt_num(ch.current)}"
    verdict = {
        "improved beyond the MCID": "a clinically important improvement",
        "worse by more than the MCID": "a clinically important worsening",
    }.get(ch.verdict(), "not a clinically important change")
    return f"{name} {move} since baseline: {verdict} (MCID {rule})."


def _metric_words(m: reassess.MetricChange) -> str:
    name = m.name
    for suf in ("_" + m.unit, "_pct", "_deg", "_s", "_mm", "_mm2"):
        if name.endswith(suf):
            name = name[: -len(suf)]
            break
    return name.replace("_", " ")


def metric_sentence(m: reassess.MetricChange) -> str:
    """One sentence on a stored movement metric: baseline, latest, and the noise-floor verdict."""
    unit = "" if m.unit in ("1", "") else f" {m.unit}"
    move = f"{_direction(m.change)} from {fmt_num(m.baseline)} to {fmt_num(m.current)}{unit}"
    if fmt_num(m.baseline) == fmt_num(m.current):
        move = f"stayed at {fmt_num(m.current)}{unit}"
    if m.beyond_noise is None:
        verdict = "no published noise floor, so it cannot yet be called a real change"
    elif m.beyond_noise:
        verdict = f"larger than its noise floor ({m.floor.value:g} {m.floor.unit}, {m.floor.source})"
    else:
        verdict = f"within its noise floor ({m.floor.value:g} {m.floor.unit}, {m.floor.source}): no real change shown"
    screen = SCREEN_TITLES.get(m.test) or m.test.replace("-", " ").capitalize()
    return f"{screen}: {_metric_words(m)} {move} since baseline; {verdict}."


#: the metric a screen's sentence reports, by test (regexes tried in order). The choice is the
#: screen's primary published measure: painful-arc pain-free elevation (Flynn 2008 arc 60-120 deg);
#: sway 95 % prediction ellipse area (Schubert & Kirchner 2014) then mean velocity (Prieto 1996);
#: stance time (Springer 2007); lateral step-down points (Piva 2006); five-times sit-to-stand time
#: (Bohannon 2006) or 30 s chair stands (Rikli & Jones 1999); TUG time (Shumway-Cook 2000); FMS
#: squat score (Cook 2006); lumbar share of the hinge (Laird 2016); gait speed; craniovertebral proxy.
HEADLINE: dict[str, tuple[str, ...]] = {
    "painful-arc": (r"^max_pain_free_elevation_deg$", r"^pain_onset_angle_deg$"),
    "balance": (r"ellipse95_area_mm2$", r"^sway_mean_velocity_mm_per_s$"),
    "single-leg-stance": (r"^stance_time_s$",),
    "step-down": (r"^step_down_total_points$",),
    "sit-to-stand": (r"^five_times_sts_time_s$", r"^chair_stand_30s_count$"),
    "tug": (r"^tug_time_s$",),
    "squat": (r"^fms_composite_points$", r"_points$"),
    "hip-hinge": (r"lumbar.*(share|contribution).*_pct$",),
    "gait": (r"^gait_speed_m_per_s$",),
    "posture": (r"^craniovertebral_proxy_deg$",),
}
#: screen names that do not read well from their id
SCREEN_TITLES = {"tug": "Timed Up and Go (TUG)", "fms": "FMS", "step-down": "Lateral step-down"}
#: metrics that describe the trial rather than its result: never a screen's sentence by default
BOOKKEEPING = re.compile(r"_count$|(^|_)duration_s$|noise_floor|_norm_s$|^stance_side$|^target_angle_deg$")


def _metric_rank(m: reassess.MetricChange) -> int:
    return {True: 0, False: 1, None: 2}[m.beyond_noise]


def headline_metric(test: str, metrics: list[reassess.MetricChange]) -> reassess.MetricChange | None:
    """The metric a screen's sentence reports: its :data:`HEADLINE` metric if stored, else the one
    judged most clearly (beyond its noise floor, then with a floor, then the first stored), leaving
    out trial bookkeeping (:data:`BOOKKEEPING`)."""
    for pattern in HEADLINE.get(test, ()):
        hit = next((m for m in metrics if re.search(pattern, m.name)), None)
        if hit is not None:
            return hit
    results = [m for m in metrics if not BOOKKEEPING.search(m.name)]
    return min(results, key=_metric_rank) if results else None  # min is stable: first stored wins ties


def screen_sentences(metrics: list[reassess.MetricChange], limit: int = MAX_SCREEN_LINES) -> list[str]:
    """One sentence per screen (test) measured at least twice (:func:`headline_metric`); screens
    with a change beyond the noise floor first."""
    by_test: dict[str, list[reassess.MetricChange]] = {}
    for m in metrics:
        if m.n_sessions >= 2 and m.change is not None:
            by_test.setdefault(m.test, []).append(m)
    best = [h for test, ms in by_test.items() if (h := headline_metric(test, ms)) is not None]
    best.sort(key=_metric_rank)
    return [metric_sentence(m) for m in best[:limit]]


#: an outcome's MCID verdict (movekit.clinic.outcomes.Change.verdict) in the table's short words
SHORT_VERDICT = {
    "improved beyond the MCID": "important improvement",
    "worse by more than the MCID": "important worsening",
}


def outcome_rows(outcomes: list[reassess.OutcomeChange]) -> list[dict]:
    """The change-since-baseline table of the questionnaires (the MCID sources go under it)."""
    rows = []
    for o in outcomes:
        ch, compared = o.change, o.n >= 2 and not o.not_comparable
        rule = f"{ch.mcid.points:g} points" + (f" or {ch.mcid.percent:g}%" if ch.mcid.percent is not None else "")
        rows.append(
            {
                "measure": SHORT.get(o.measure, o.title),
                "baseline": fmt_num(ch.baseline),
                "baseline_date": o.baseline_date,
                "current": fmt_num(ch.current),
                "current_date": o.current_date,
                "change": fmt_num(ch.change) if compared else "-",
                "mcid": rule,
                "source": ch.mcid.source,
                "verdict": SHORT_VERDICT.get(ch.verdict(), "no important change")
                if compared
                else (o.not_comparable or "one score so far"),
                "cls": "beyond" if (compared and ch.meets_mcid) else "",
            }
        )
    return rows


def goal_sentence(p) -> str:
    """One sentence on a goal (:class:`movekit.clinic.goals.GoalProgress`)."""
    test, _, metric = p.measure.partition(":")
    if metric:  # an assessment metric goal, "<test>:<metric>"
        label = f"{SCREEN_TITLES.get(test) or test.replace('-', ' ').capitalize()} {metric.replace('_', ' ')}"
    else:
        label = SHORT.get(p.measure, p.measure)
    what = label + (f" {p.context}" if p.context else "")
    base = "the first result to come" if p.baseline is None else fmt_num(p.baseline)
    head = f"{what}: from {base} to {fmt_num(p.target)} by {p.deadline}"
    if p.latest is None:
        return f"{head}: {p.status} (nothing stored since {p.set_date})."
    share = f"{100 * p.progress:.0f}% of the planned change reached" if p.progress is not None else ""
    return f"{head}: {p.status}, {share} (latest {fmt_num(p.latest)} on {p.latest_date})."


def summary_context(
    store,
    client: str,
    cmp: reassess.Comparison,
    *,
    clinic: ClinicHeader | None = None,
    keyframes: KeyframeSet | None = None,
    keyframe_note: str = "",
    notes: str | None = None,
    client_name: str = "",
) -> Summary:
    """The first page of ``client``'s report from the store and the comparison already made.

    Parameters
    ----------
    store : an open :class:`movekit.clinic.store.Store`
    client : client code
    cmp : :func:`movekit.clinic.reassess.compare` of that client
    clinic : the clinic header, or None
    keyframes : from :func:`movekit.report.keyframes.keyframes`, or None (then ``keyframe_note`` says why)
    notes : therapist notes for this report; None uses the latest session's notes in the store
    """
    from movekit.clinic.goals import client_goal_progress

    sessions = store.sessions(client)
    s = Summary(
        clinic=clinic,
        client=client,
        first_date=sessions[0]["session_date"] if sessions else None,
        latest_date=sessions[-1]["session_date"] if sessions else None,
        n_sessions=len(sessions),
        report_date=_dt.date.today().isoformat(),
        keyframes=keyframes,
        keyframe_note=keyframe_note,
        client_name=client_name,
    )
    s.key_results = [outcome_sentence(o) for o in cmp.outcomes] + screen_sentences(cmp.metrics)
    s.outcome_rows = outcome_rows(cmp.outcomes)
    goals = sorted(client_goal_progress(store, client), key=lambda g: g.deadline)
    s.goal_lines = [goal_sentence(p) for p in goals[:MAX_GOAL_LINES]]
    if len(goals) > MAX_GOAL_LINES:
        s.goal_lines.append(f"{len(goals) - MAX_GOAL_LINES} more goal(s) in the appendix's goal table.")
    if notes:
        s.notes, s.notes_source = notes.strip(), "for this report"
    else:
        noted = [x for x in sessions if (x["therapist_notes"] or "").strip()]
        if noted:
            s.notes, s.notes_source = noted[-1]["therapist_notes"].strip(), f"session of {noted[-1]['session_date']}"
    return s
