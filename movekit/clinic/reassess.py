"""Re-assessment: when it is due, and what changed between baseline and now.

Schedule: a client is re-assessed every ``reassess_min_sessions``-``reassess_max_sessions``
sessions (default 4-6) after the last baseline or re-assessment session; it is
"due" from the minimum, "overdue" past the maximum.

Comparison: every assessment metric and outcome measure, baseline vs latest, in
absolute and percent, with the metric's noise floor (MDC or measurement error) or
the measure's MCID beside it. Where no noise floor is published for a metric the
comparison says so instead of inventing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from movekit.clinic import outcomes as oc
from movekit.clinic.store import Store

ASSESSMENT_TYPES = ("baseline", "reassessment")


@dataclass(frozen=True)
class Schedule:
    client: str
    anchor_session_id: int | None  #: last baseline/re-assessment session
    anchor_date: str | None
    sessions_since: int  #: sessions after the anchor
    due_from: int
    due_by: int
    status: str  #: "no baseline", "not due", "due", "overdue"
    tests: tuple[str, ...] = ()  #: assessment tests done at baseline/re-assessment, to repeat
    measures: tuple[str, ...] = ()  #: outcome measures taken so far, to repeat

    def describe(self) -> str:
        if self.status == "no baseline":
            return f"{self.client}: no baseline assessment yet - start one with: movekit session start {self.client} --type baseline"
        left = self.due_from - self.sessions_since
        base = (
            f"{self.client}: {self.sessions_since} session(s) since the assessment on {self.anchor_date}; "
            f"re-assess after {self.due_from}-{self.due_by}"
        )
        if self.status == "not due":
            return base + f" (due in {left} session(s))"
        text = base + (" - DUE now" if self.status == "due" else " - OVERDUE")
        todo = list(self.tests) + [m.upper() if len(m) <= 4 else m for m in self.measures]
        return text + (f"; repeat: {', '.join(todo)}" if todo else "")


def schedule(store: Store, client: str) -> Schedule:
    c = store.client(client)
    lo, hi = int(c["reassess_min_sessions"]), int(c["reassess_max_sessions"])
    sessions = store.sessions(client)
    anchors = [i for i, s in enumerate(sessions) if s["type"] in ASSESSMENT_TYPES]
    if not anchors:
        return Schedule(client, None, None, len(sessions), lo, hi, "no baseline")
    a = anchors[-1]
    since = len(sessions) - a - 1
    status = "not due" if since < lo else ("due" if since <= hi else "overdue")
    tests: list[str] = []
    for i in anchors:
        for t in store.assessments(sessions[i]["id"]):
            if t["test"] not in tests:
                tests.append(t["test"])
    measures = list(dict.fromkeys(o["measure"] for o in store.outcomes(client)))
    return Schedule(
        client, sessions[a]["id"], sessions[a]["session_date"], since, lo, hi, status, tuple(tests), tuple(measures)
    )


# --------------------------------------------------------------------------- noise floors
@dataclass(frozen=True)
class NoiseFloor:
    value: float
    unit: str
    kind: str  #: "MDC95", "MDC90", "measurement error (MAE vs mocap)"
    population: str
    source: str

    def describe(self) -> str:
        return f"{self.kind} {self.value:g} {self.unit} ({self.population}; {self.source})"


#: (test regex, metric-name regex, floor). First match wins. Sources:
#: Goldberg 2011 (Gait Posture 33:737-739): single-leg-stance time MDC95 24.1 s (SEM 8.7 s),
#:   community-dwelling adults 60-89 y (poor absolute reliability: change must be large to be real).
#:   Journal, pages and values checked; the first author's name is from memory (verify).
#: Goldberg 2012 (Aging Clin Exp Res 24:339): five-times sit-to-stand MDC95 2.5 s, women ~74 y.
#: Alghadir 2015 (BMC Musculoskelet Disord 16:174): TUG MDC 1.10 s, knee OA grade 1-3, 45-70 y.
#: Laird 2016 (per DESIGN part 2): lumbar share of hinge/flexion MDC90 8-15 %; the upper end is used.
#: Stenum 2021: markerless 2D sagittal lower-limb (hip, knee, ankle) angles ~4-6 deg MAE vs motion
#:   capture in gait. This is accuracy, not test-retest MDC: treat 6 deg as a lower bound of what a
#:   real change must exceed. Trunk/lumbar and frontal-plane angles have no entry (none verified).
NOISE_FLOORS: list[tuple[str, str, NoiseFloor]] = [
    (
        r"single.?leg|sls|balance",
        r"^stance_time_s$|single_leg.*time_s$",
        NoiseFloor(24.1, "s", "MDC95", "community-dwelling adults 60-89 y", "Goldberg 2011"),
    ),
    (r"five.?times|5x|ftsst|sit.?to.?stand", r"time_s$", NoiseFloor(2.5, "s", "MDC95", "older women", "Goldberg 2012")),
    (r"tug|timed.?up", r"time_s$", NoiseFloor(1.10, "s", "MDC", "knee OA grade 1-3, 45-70 y", "Alghadir 2015")),
    (
        r".*",
        r"lumbar.*(share|contribution|ratio).*pct$",
        NoiseFloor(15.0, "%", "MDC90 (upper end of 8-15 %)", "low back pain / healthy", "Laird 2016"),
    ),
    (
        r".*",
        r"(hip|knee|ankle).*(flexion|extension).*_deg$",
        NoiseFloor(
            6.0,
            "deg",
            "measurement error (MAE vs mocap, not an MDC)",
            "single-camera sagittal view, lower limb",
            "Stenum 2021",
        ),
    ),
]


def noise_floor(test: str, name: str) -> NoiseFloor | None:
    """The cited noise floor of a metric, or None when none is known."""
    for test_re, name_re, nf in NOISE_FLOORS:
        if re.search(test_re, test or "", re.I) and re.search(name_re, name or "", re.I):
            return nf
    return None


# --------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class MetricChange:
    test: str
    name: str
    unit: str
    baseline: float | None
    baseline_date: str
    current: float | None
    current_date: str
    change: float | None
    change_pct: float | None
    floor: NoiseFloor | None
    n_sessions: int
    baseline_session_id: int | None = None
    current_session_id: int | None = None

    @property
    def beyond_noise(self) -> bool | None:
        """True/False against the noise floor; None when no floor is known or values missing."""
        if self.floor is None or self.change is None:
            return None
        return abs(self.change) > self.floor.value

    def floor_text(self) -> str:
        return self.floor.describe() if self.floor else "no published noise floor known for this metric"


@dataclass(frozen=True)
class OutcomeChange:
    measure: str
    title: str
    baseline_date: str
    current_date: str
    change: oc.Change
    n: int
    #: why the baseline and the latest score are not compared ("" when they are; e.g. PSFS activities differ)
    not_comparable: str = ""


@dataclass(frozen=True)
class Comparison:
    client: str
    metrics: list[MetricChange]
    outcomes: list[OutcomeChange]
    #: why a measured metric is not compared, one line per test and reason
    not_compared: list[str] = field(default_factory=list)


def _refused_results(store: Store, client: str) -> dict[str, list[tuple[dict, list[str]]]]:
    """test -> ``[(session, reasons)]`` of the client's stored results that do not count
    (:func:`movekit.clinic.store.models.result_refusals`), in session order."""
    from movekit.clinic.store.models import result_refusals

    out: dict[str, list[tuple[dict, list[str]]]] = {}
    for s in store.sessions(client):
        for a in store.assessments(s["id"]):
            if why := result_refusals(a["result"]):
                out.setdefault(a["test"], []).append((s, why))
    return out


def _session_words(s: dict) -> str:
    kind = {"reassessment": "re-assessment", "baseline": "baseline"}.get(s["type"], f"{s['type']} session")
    return f"the {kind} on {s['session_date']} (session {s['id']})"


def _why_not_compared(test: str, base: dict, current_session: int | None, refused: dict) -> str:
    """Why a metric of ``test`` has no current value other than its baseline's: a later (or the
    asked-for) session whose result of the test is not valid, with the reasons, else that no later
    session holds a valid value."""
    after = (base["session_date"], base["session_id"])
    later = [(s, why) for s, why in refused.get(test, []) if (s["session_date"], s["id"]) > after]
    if current_session is not None:
        later = [(s, why) for s, why in refused.get(test, []) if s["id"] == current_session]
    if later:
        s, why = later[-1]
        return f"{_session_words(s)} has no valid result for {test}: {'; '.join(why)}"
    if current_session is not None:
        return f"session {current_session} has no valid value for it"
    return f"only session {base['session_id']} ({base['session_date']}) has a valid value; nothing to compare yet"


def _per_session(rows: list[dict]) -> list[dict]:
    """A metric's rows grouped by session (first row's fields), ``mean`` of the session's trials."""
    per_session: dict[int, dict] = {}
    for r in rows:
        d = per_session.setdefault(r["session_id"], {"vals": [], **r})
        if r["value"] is not None:
            d["vals"].append(r["value"])
    for d in per_session.values():
        d["mean"] = sum(d["vals"]) / len(d["vals"]) if d["vals"] else None
    return list(per_session.values())


def compare(
    store: Store, client: str, baseline_session: int | None = None, current_session: int | None = None
) -> Comparison:
    """Baseline vs latest for every metric and outcome of a client.

    Baseline of a metric: its value in ``baseline_session`` if given, else in the
    first baseline-type session that has it, else its first value. Current: its
    value in ``current_session`` if given, else the latest valid one. Repeated values in one
    session (several trials) are averaged. A session is never compared with itself: a metric
    without a current value in another session is left out and ``not_compared`` says why
    (e.g. the re-assessment's result was NOT VALID, with its reasons).
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in store.metric_series(client):
        groups.setdefault((r["test"], r["name"]), []).append(r)
    refused = _refused_results(store, client)
    metrics, why_not = [], {}
    for (test, name), rows in groups.items():
        sess = _per_session(rows)
        if baseline_session is not None:
            base = next((d for d in sess if d["session_id"] == baseline_session), None)
        else:
            base = next((d for d in sess if d["session_type"] == "baseline"), None) or sess[0]
        if current_session is not None:
            cur = next((d for d in sess if d["session_id"] == current_session), None)
        else:
            cur = sess[-1]
        if base is None:
            why_not.setdefault((test, f"session {baseline_session} has no valid value for it"), []).append(name)
            continue
        if cur is None or cur["session_id"] == base["session_id"]:
            why_not.setdefault((test, _why_not_compared(test, base, current_session, refused)), []).append(name)
            continue
        b, c = base["mean"], cur["mean"]
        ch = None if b is None or c is None else c - b
        pct = None if ch is None or b == 0 else ch / abs(b) * 100.0
        metrics.append(
            MetricChange(test, name, rows[0]["unit"], b, base["session_date"], c, cur["session_date"], ch, pct,
                         noise_floor(test, name), len(sess), base["session_id"], cur["session_id"])
        )  # fmt: skip
    notes = [f"{test} ({_names(names)}) not compared: {why}" for (test, why), names in why_not.items()]
    for test in [t for t in refused if t not in {t for t, _ in groups}]:
        s, why = refused[test][-1]
        notes.append(f"{test} not compared: no valid result stored; {_session_words(s)}: {'; '.join(why)}")
    return Comparison(client, metrics, _outcome_changes(store, client), notes)


def _names(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _outcome_changes(store: Store, client: str) -> list[OutcomeChange]:
    """First vs latest score of every outcome measure the client has."""
    outs = []
    for key in oc.MEASURES:
        rows = store.outcomes(client, key)
        if not rows:
            continue
        outs.append(
            OutcomeChange(
                key,
                oc.MEASURES[key].title,
                rows[0]["taken_date"],
                rows[-1]["taken_date"],
                oc.change_from_baseline(key, rows[0]["score"], rows[-1]["score"]),
                len(rows),
                oc.not_comparable(key, rows[0], rows[-1]),
            )
        )
    return outs
