"""The studio's care forms: a client's goals, the session's pain map and treatment log (issues 18, 23).

``routes(config, env)`` gives the Starlette routes :func:`movekit.studio.app.create_app` mounts:

=====================================  ==============================================================
``/clients/{code}/goals`` POST         add a goal (the client page shows the goals and the form)
``/sessions/{sid}/painmap`` GET, POST  the clickable front/back body chart of a session
``/sessions/{sid}/treatment`` GET,     the session's treatment log: what was done, and the form to
POST                                   add one manual-therapy or movement entry
=====================================  ==============================================================

Nothing clinical is computed here: progress is :func:`movekit.clinic.goals.client_goal_progress`,
the vocabularies and their checks are :mod:`movekit.clinic.painmap` (``check_mark``) and
:mod:`movekit.clinic.treatment` (``check_treatment``), numbers and dates are parsed by the CLI's own
:mod:`movekit.argtypes`, and the store (:mod:`movekit.clinic.store`) refuses what it refuses for the
CLI. A whole form is checked before anything is stored; a refused form stores nothing.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from collections.abc import Callable
from typing import Any

from movekit.clinic import outcomes as oc
from movekit.clinic import painmap as pm
from movekit.clinic import treatment as tx
from movekit.errors import MovekitError

#: a goal's status (movekit.clinic.goals) in plain words for the client page
STATUS_WORDS = {
    "reached": "reached",
    "on track": "on track",
    "at risk": "at risk (behind the straight line from baseline to target)",
    "overdue": "overdue (the deadline passed before the target was reached)",
    "no data": "no result since the goal was set",
}
MAX_TEXT = {"context": 120, "response": 500, "exercise": 80}


# -- parsing: the CLI's argtypes, with the form field's name in the message -----------------------
def _one(form: dict, key: str) -> str:
    return (form.get(key) or [""])[0].strip()


def _parse(parse: Callable[[str], Any], text: str, what: str) -> Any:
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise MovekitError(f"{what} {exc}") from None


def _optional(parse: Callable[[str], Any], text: str, what: str) -> Any:
    return None if text == "" else _parse(parse, text, what)


def _text(form: dict, key: str, what: str) -> str:
    value = _one(form, key)
    if len(value) > MAX_TEXT[key]:
        raise MovekitError(f"{what}: at most {MAX_TEXT[key]} characters")
    return value


def _session_marks(store, sid: int) -> list[dict]:
    s = store.session(sid)
    return [m for m in store.pain_marks(s["client_code"]) if m["session_id"] == s["id"]]


def _session_treatments(store, sid: int) -> list[dict]:
    s = store.session(sid)
    return [t for t in store.treatments(s["client_code"]) if t["session_id"] == s["id"]]


# -- goals -------------------------------------------------------------------------------------------
def _metric_title(test: str, name: str) -> str:
    from movekit.studio.app import SCREEN_TITLES
    from movekit.studio.pages import _metric_label

    return f"{SCREEN_TITLES.get(test, test)}: {_metric_label(name)}"


def measure_choices(store, code: str) -> list[dict]:
    """What a goal can be set on for this client: the questionnaires (always), then the assessment
    metrics stored for the client, counts (``*_count``: valid reps, stands, steps) apart. Each:
    ``key`` (the store's measure name), ``label``, ``group``, ``unit`` and the ``latest`` stored
    value and its ``date`` (None when nothing is stored: a baseline must then be typed)."""
    out = []
    for key, m in oc.MEASURES.items():
        values = store.measure_values(code, key)
        last = values[-1] if values else None
        out.append({"key": key, "label": m.title, "group": "Questionnaires", "unit": m.unit,
                    "latest": last and last["value"], "date": last and last["date"]})  # fmt: skip
    latest: dict[tuple[str, str], dict] = {}
    for r in store.metric_series(code):
        if r["value"] is not None:
            latest[(r["test"], r["name"])] = r  # date order: the last one wins
    for (test, name), r in sorted(latest.items()):
        group = "Counts (valid reps, stands, steps)" if name.endswith("_count") else "Assessment metrics"
        out.append({"key": f"{test}:{name}", "label": _metric_title(test, name), "group": group,
                    "unit": r["unit"], "latest": float(r["value"]), "date": r["session_date"]})  # fmt: skip
    return out


def _goal_row(p, labels: dict[str, str], units: dict[str, str]) -> dict:
    """One goal's line on the client page (``p``: a movekit.clinic.goals.GoalProgress)."""
    unit = p.unit or units.get(p.measure, "")
    latest = "no result yet" if p.latest is None else f"{p.latest:g}"
    share = (
        "" if p.progress is None else f"; {100 * p.progress:.0f}% of the change in {100 * p.expected:.0f}% of the time"
    )
    words = STATUS_WORDS.get(p.status, p.status)
    label = labels.get(p.measure, p.measure) + (f" ({p.context})" if p.context else "")
    return {"id": p.goal_id, "label": label, "baseline": f"{p.baseline:g}", "latest": latest,
            "latest_date": p.latest_date or "", "target": f"{p.target:g}", "unit": unit, "deadline": p.deadline,
            "status": p.status, "words": words, "mcid": p.mcid or "",
            "text": f"{label}: {p.baseline:g} -> {latest} -> {p.target:g} {unit} by {p.deadline}: {words}{share}"}  # fmt: skip


def goal_rows(store, code: str, choices: list[dict], today=None) -> list[dict]:
    """The client's goals with their progress as of ``today`` (default: today), in words."""
    from movekit.clinic.goals import client_goal_progress

    labels = {c["key"]: c["label"] for c in choices}
    units = {c["key"]: c["unit"] for c in choices}
    return [_goal_row(p, labels, units) for p in client_goal_progress(store, code, today)]


def _check_in_range(key: str, value: float | None, what: str) -> None:
    """A questionnaire's baseline or target inside its score range (movekit.clinic.outcomes)."""
    if value is not None and key in oc.MEASURES:
        lo, hi = oc.MEASURES[key].range
        if not lo <= value <= hi:
            raise MovekitError(f"{what} {value:g} is outside the {oc.MEASURES[key].title}'s range {lo:g}-{hi:g}")


def add_goal(store, code: str, form: dict, today: _dt.date | None = None) -> dict:
    """Check a goal form (measure offered for this client, target, deadline, optional baseline and
    context) and store it (``Store.add_goal``: a blank baseline is the latest stored value)."""
    from movekit.argtypes import finite_float, iso_date

    key = _one(form, "measure")
    if key not in {c["key"] for c in measure_choices(store, code)}:
        raise MovekitError(f"measure {key!r}: choose one of the list (a questionnaire or a stored result)")
    target = _parse(finite_float, _one(form, "target"), "target")
    baseline = _optional(finite_float, _one(form, "baseline"), "baseline")
    deadline = _parse(iso_date, _one(form, "deadline"), "deadline")
    context = _text(form, "context", "context")
    _check_in_range(key, target, "target")
    _check_in_range(key, baseline, "baseline")
    for g in store.goals(code):
        if (g["measure"], g["target"], g["deadline"], g["context"]) == (key, target, deadline, context):
            raise MovekitError(f"goal {g['id']} already sets {key} to {target:g} by {deadline}: not added twice")
    day = (today or _dt.date.today()).isoformat()
    if baseline is None and not [v for v in store.measure_values(code, key) if v["date"] <= day]:
        raise MovekitError(f"no stored {key} for {code} yet: type the baseline")
    return store.add_goal(code, key, target, deadline, baseline=baseline, context=context, date=day)


# -- the pain map ------------------------------------------------------------------------------------
def chart_shapes() -> list[dict]:
    """The clickable regions of the front and back charts, as :func:`movekit.clinic.painmap.body_chart_svg`
    draws them (100 x 200 per chart, the back chart 110 to the right): ``chart``, ``region``,
    ``side`` (from the client's view), ``cx``, ``cy``, ``rx``, ``ry`` (chart units) and ``home``:
    True on the chart a mark of the region is drawn on (limbs show on both, marked on the front)."""
    from movekit.clinic.painmap import LIMB_X, mark_position  # the chart's own geometry (see the report)

    shapes = []
    for k, chart in enumerate(("front", "back")):
        for region, (home, _x, _y, w, h) in pm.REGIONS.items():
            if home != chart and region not in LIMB_X:
                continue
            for side in ("left", "right") if region in LIMB_X else ("midline",):
                x, y = mark_position(region, side, chart)
                shapes.append({"chart": chart, "region": region, "side": side, "cx": 10 + 110 * k + x,
                               "cy": y + 4, "rx": w, "ry": h, "home": home == chart})  # fmt: skip
    return shapes


def parse_marks(form: dict) -> list[tuple[str, str, float, str | None]]:
    """The marks of a pain-map form (fields ``region``, ``side``, ``intensity``, ``quality`` repeated,
    one of each per mark), each checked by :func:`movekit.clinic.painmap.check_mark`."""
    from movekit.argtypes import float_range

    cols = [form.get(k) or [] for k in ("region", "side", "intensity", "quality")]
    if len({len(c) for c in cols}) != 1:
        raise MovekitError("each mark needs a region, a side, an intensity and a quality (may be blank)")
    if not cols[0]:
        raise MovekitError("no region marked: click the chart where it hurts")
    marks, seen = [], set()
    for region, side, inten, quality in zip(*cols):
        region, side, quality = region.strip(), side.strip(), quality.strip() or None
        where = f"{side} {region}".strip()
        value = _parse(float_range(0.0, 10.0), inten.strip(), f"intensity of {where}")
        pm.check_mark(region, side, value, quality)
        if (region, side) in seen:
            raise MovekitError(f"{where} is marked twice in this form")
        seen.add((region, side))
        marks.append((region, side, value, quality))
    return marks


def add_marks(store, sid: int, form: dict) -> list[dict]:
    """Check a pain-map form and store its marks; a region and side already marked in the session
    is refused (the store keeps every mark and the charts show one per region and side)."""
    marks = parse_marks(form)
    stored = {(m["region"], m["side"]): m for m in _session_marks(store, sid)}
    for region, side, _, _ in marks:
        if (region, side) in stored:
            old = stored[(region, side)]["intensity_0_10"]
            raise MovekitError(f"{side} {region} is already marked in this session ({old:g}/10): not marked twice")
    return [store.add_pain_mark(sid, region, side, value, quality) for region, side, value, quality in marks]


def pain_compare(store, code: str) -> dict | None:
    """The first and the latest session's body charts side by side (None without marks)."""
    marks = store.pain_marks(code)
    if not marks:
        return None
    first, last, by, rows = pm.first_and_latest(marks)
    sessions = list(dict.fromkeys((first, last)))
    charts = [{"date": s[0], "session_id": s[1], "svg": pm.body_chart_svg(list(by[s].values()), f"{code} {s[0]}")}
              for s in sessions]  # fmt: skip
    return {"charts": charts, "rows": rows, "first": first[0], "latest": last[0]}


# -- the treatment log -------------------------------------------------------------------------------
def parse_treatment(form: dict) -> dict:
    """Keyword arguments of ``Store.add_treatment`` from a treatment form: a manual entry (technique,
    region, muscle, side: :func:`movekit.clinic.treatment.check_treatment`; minutes; pressure 0-10)
    or a movement entry (exercise, sets, reps, feedback); both: the client's response."""
    from movekit.argtypes import float_range

    part = _one(form, "part")
    minutes = _optional(float_range(0.0, 240.0, lo_open=True, unit="min"), _one(form, "minutes"), "minutes")
    entry = {"part": part, "duration_min": minutes, "response": _text(form, "response", "response")}
    if part == "manual":
        return {**entry, **_manual(form)}
    if part == "movement":
        return {**entry, **_movement(form)}
    raise MovekitError(f"part {part!r}: manual therapy or movement")


def _manual(form: dict) -> dict:
    from movekit.argtypes import float_range

    technique, region, side = _one(form, "technique"), _one(form, "region"), _one(form, "side")
    muscle = _one(form, "muscle") or None
    tx.check_treatment(technique, region, muscle, side)
    pressure = _optional(float_range(0.0, 10.0), _one(form, "pressure"), "pressure")
    return {"technique": technique, "region": region, "muscle": muscle, "side": side, "pressure_0_10": pressure}


def _movement(form: dict) -> dict:
    from movekit.argtypes import int_range

    exercise = _text(form, "exercise", "exercise")
    if not exercise:
        raise MovekitError("a movement entry needs the exercise's name")
    sets = _optional(int_range(1, 100), _one(form, "sets"), "sets")
    reps = _optional(int_range(1, 1000), _one(form, "reps"), "reps")
    feedback = _one(form, "feedback") or None
    if feedback is not None and feedback not in tx.FEEDBACK:
        raise MovekitError(f"feedback {feedback!r}: one of {', '.join(tx.FEEDBACK)}")
    return {"technique": exercise, "sets": sets, "reps": reps, "feedback": feedback}


def treatment_rows(entries: list[dict]) -> list[dict]:
    """A session's log in words (:func:`movekit.clinic.treatment.describe`)."""
    rows = []
    for t in entries:
        where, dose = tx.describe(t)
        rows.append({"id": t["id"], "part": t["part"], "what": t["technique"], "where": where, "dose": dose,
                     "response": t["response"]})  # fmt: skip
    return rows


# -- page context ------------------------------------------------------------------------------------
def client_context(store, code: str) -> dict:
    """What the client page shows of goals and pain maps (see ``templates/client.html``)."""
    choices = measure_choices(store, code)
    return {"goals": goal_rows(store, code, choices), "goal_measures": choices, "pain": pain_compare(store, code),
            "first_deadline": (_dt.date.today() + _dt.timedelta(days=1)).isoformat()}  # fmt: skip


def session_context(store, sid: int) -> dict:
    """What the session page shows of its pain map and treatment log (``templates/session.html``)."""
    marks = _session_marks(store, sid)
    svg = pm.body_chart_svg(marks, "pain map of this session") if marks else None
    return {"marks": marks, "marks_svg": svg, "treatments": treatment_rows(_session_treatments(store, sid))}


class CarePages:
    """Page builders for the care forms (one store connection per call)."""

    def __init__(self, config, env) -> None:
        self.config, self.env = config, env

    def _store(self):
        from movekit.clinic.store import Store

        return Store(self.config.db)

    def render(self, template: str, **ctx: Any) -> str:
        return self.env.get_template(template).render(live=self.config.live, **ctx)

    def add_goal(self, code: str, form: dict) -> int:
        with self._store() as st:
            return add_goal(st, code, form)["id"]

    def painmap(self, sid: int, saved: str | None = None) -> str:
        with self._store() as st:
            s = st.session(sid)
            marks = _session_marks(st, sid)
        return self.render("painmap.html", s=s, marks=marks, shapes=chart_shapes(), regions=list(pm.REGIONS),
                           sides=pm.SIDES, qualities=pm.QUALITIES, saved=saved,
                           svg=pm.body_chart_svg(marks) if marks else None)  # fmt: skip

    def painmap_save(self, sid: int, form: dict) -> int:
        with self._store() as st:
            return len(add_marks(st, sid, form))

    def treatment(self, sid: int, saved: str | None = None) -> str:
        with self._store() as st:
            s = st.session(sid)
            rows = treatment_rows(_session_treatments(st, sid))
            program = [p["name"] for p in st.program_items(s["client_code"])]
        return self.render("treatment.html", s=s, rows=rows, techniques=tx.TECHNIQUES, regions=tx.REGIONS,
                           sides=tx.SIDES, feedback=tx.FEEDBACK, program=program, saved=saved)  # fmt: skip

    def treatment_save(self, sid: int, form: dict) -> int:
        entry = parse_treatment(form)
        with self._store() as st:
            return st.add_treatment(sid, **entry)["id"]


def routes(config, env) -> list:
    """The care routes (see the module docstring) for ``config`` (a StudioConfig)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route

    from movekit.studio.app import _form

    view = CarePages(config, env)

    async def goal_save(request: Request) -> Response:
        code = request.path_params["code"]
        await run_in_threadpool(view.add_goal, code, await _form(request))
        return RedirectResponse(f"/clients/{code}?saved=goal#goals", 303)

    async def painmap(request: Request) -> Response:
        sid, saved = request.path_params["sid"], request.query_params.get("saved")
        return HTMLResponse(await run_in_threadpool(view.painmap, sid, saved))

    async def painmap_save(request: Request) -> Response:
        sid = request.path_params["sid"]
        n = await run_in_threadpool(view.painmap_save, sid, await _form(request))
        return RedirectResponse(f"/sessions/{sid}/painmap?saved={n}", 303)

    async def treatment(request: Request) -> Response:
        sid, saved = request.path_params["sid"], request.query_params.get("saved")
        return HTMLResponse(await run_in_threadpool(view.treatment, sid, saved))

    async def treatment_save(request: Request) -> Response:
        sid = request.path_params["sid"]
        tid = await run_in_threadpool(view.treatment_save, sid, await _form(request))
        return RedirectResponse(f"/sessions/{sid}/treatment?saved={tid}", 303)

    return [
        Route("/clients/{code}/goals", goal_save, methods=["POST"]),
        Route("/sessions/{sid:int}/painmap", painmap),
        Route("/sessions/{sid:int}/painmap", painmap_save, methods=["POST"]),
        Route("/sessions/{sid:int}/treatment", treatment),
        Route("/sessions/{sid:int}/treatment", treatment_save, methods=["POST"]),
    ]


__all__ = ["STATUS_WORDS", "CarePages", "add_goal", "add_marks", "chart_shapes", "client_context",
           "goal_rows", "measure_choices", "pain_compare", "parse_marks", "parse_treatment", "routes",
           "session_context", "treatment_rows"]  # fmt: skip
