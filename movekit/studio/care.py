"""The studio's care forms: a client's goals, the session's pain map and treatment log (issues 18, 23).

``routes(config, env)`` gives the Starlette routes :func:`movekit.studio.app.create_app` mounts:

==========================================  ==========================================================
``/clients/{code}/goals`` POST              add a goal (the client page shows the goals and the form)
``/clients/{code}/goals/{gid}`` GET, POST   one goal: its history and the forms to amend or remove it
``/sessions/{sid}/painmap`` GET, POST       the clickable front/back body chart of a session; a
                                            region and side already marked is amended (with a reason)
``/sessions/{sid}/painmap/{mid}`` POST      amend or remove one stored mark (reason required)
``/sessions/{sid}/treatment`` GET, POST     the session's treatment log: what was done (each entry
                                            with its history), and the form to add an entry
``/sessions/{sid}/treatment/{tid}`` POST    amend or remove one entry (reason required)
==========================================  ==========================================================

Nothing is deleted: an amendment keeps the earlier version and a removal marks the record removed
(``Store.amend_*`` / ``Store.remove_*``, :meth:`movekit.clinic.store.Store.history`).

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
from movekit.studio.app import _one

#: a goal's status (movekit.clinic.goals) in plain words for the client page
STATUS_WORDS = {
    "reached": "reached",
    "on track": "on track",
    "at risk": "at risk (behind the straight line from baseline to target)",
    "overdue": "overdue (the deadline passed before the target was reached)",
    "no data": "no result since the goal was set",
}
MAX_TEXT = {"context": 120, "response": 500, "exercise": 80, "reason": 500}


# -- parsing: the CLI's argtypes, with the form field's name in the message -----------------------
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


def _with_history(store, kind: str, rows: list[dict]) -> list[dict]:
    """``rows`` each with ``history``: its versions in words (movekit.clinic.store.history_lines),
    empty for a record never changed."""
    from movekit.clinic.store import history_lines

    for r in rows:
        h = store.history(kind, r["id"])
        r["history"] = history_lines(h) if len(h) > 1 else []
    return rows


def _reason(form: dict) -> str:
    """The reason of an amendment or removal (the store refuses a blank one)."""
    return _text(form, "reason", "reason")


def _action(form: dict) -> str:
    action = _one(form, "action")
    if action not in ("amend", "remove"):
        raise MovekitError(f"action {action!r}: amend or remove")
    return action


# -- goals -------------------------------------------------------------------------------------------
def _metric_title(test: str, name: str) -> str:
    from movekit.studio.app import SCREEN_TITLES
    from movekit.studio.pages import _metric_label

    return f"{SCREEN_TITLES.get(test, test)}: {_metric_label(name)}"


def measure_choices(store, code: str) -> list[dict]:
    """What a goal can be set on for this client (:func:`movekit.clinic.goals.goal_measures`: every
    questionnaire, every assessment metric movekit lists for goals, what is stored for the client;
    counts apart), each with a label in words, its ``unit``, which way is ``better`` and the
    ``latest`` stored value and its ``date`` (None when nothing is stored: a baseline may be typed,
    else the first result that arrives is the baseline)."""
    from movekit.clinic.goals import goal_measures

    out = goal_measures(store, code)
    for m in out:
        if ":" in m["key"]:
            m["label"] = _metric_title(*m["key"].split(":", 1))
    return out


def _goal_row(p, labels: dict[str, str], units: dict[str, str]) -> dict:
    """One goal's line on the client page (``p``: a movekit.clinic.goals.GoalProgress)."""
    unit = p.unit or units.get(p.measure, "")
    latest = "no result yet" if p.latest is None else f"{p.latest:g}"
    base = "first result" if p.baseline is None else f"{p.baseline:g}"
    share = (
        "" if p.progress is None else f"; {100 * p.progress:.0f}% of the change in {100 * p.expected:.0f}% of the time"
    )
    words = STATUS_WORDS.get(p.status, p.status)
    label = labels.get(p.measure, p.measure) + (f" ({p.context})" if p.context else "")
    return {"id": p.goal_id, "label": label, "baseline": base, "baseline_from": p.baseline_from, "latest": latest,
            "latest_date": p.latest_date or "", "target": f"{p.target:g}", "unit": unit, "deadline": p.deadline,
            "status": p.status, "words": words, "mcid": p.mcid or "",
            "text": f"{label}: {base} -> {latest} -> {p.target:g} {unit} by {p.deadline}: {words}{share}"}  # fmt: skip


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
    return store.add_goal(code, key, target, deadline, baseline=baseline, context=context, date=day)


def change_goal(store, code: str, gid: int, form: dict, who: str | None = None) -> dict:
    """Amend (``target``, ``deadline``, ``baseline``: a number or blank for the first result,
    ``context``) or remove a goal of this client, with the form's ``reason``."""
    from movekit.argtypes import finite_float, iso_date

    goal = store.record("goal", gid)
    if goal["client_code"] != code:
        raise MovekitError(f"goal {gid} is not a goal of {code}")
    action, reason = _action(form), _reason(form)
    if action == "remove":
        return store.remove_goal(gid, reason, who=who)
    target = _parse(finite_float, _one(form, "target"), "target")
    baseline = _optional(finite_float, _one(form, "baseline"), "baseline")
    deadline = _parse(iso_date, _one(form, "deadline"), "deadline")
    _check_in_range(goal["measure"], target, "target")
    _check_in_range(goal["measure"], baseline, "baseline")
    return store.amend_goal(gid, reason, who=who, target=target, baseline=baseline, deadline=deadline,
                            context=_text(form, "context", "context"))  # fmt: skip


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


def parse_marks(form: dict) -> list[tuple[str, str, float, str | None, str]]:
    """The marks of a pain-map form (fields ``region``, ``side``, ``intensity``, ``quality`` and
    optionally ``reason`` repeated, one of each per mark), each checked by
    :func:`movekit.clinic.painmap.check_mark` (an old region name is mapped to its name now):
    ``(region, side, intensity 0-10, quality, reason)``."""
    from movekit.argtypes import float_range

    cols = [form.get(k) or [] for k in ("region", "side", "intensity", "quality")]
    reasons = form.get("reason") or [""] * len(cols[0])
    if len({len(c) for c in (*cols, reasons)}) != 1:
        raise MovekitError("each mark needs a region, a side, an intensity and a quality (may be blank)")
    if not cols[0]:
        raise MovekitError("no region marked: click the chart where it hurts")
    marks, seen = [], set()
    for region, side, inten, quality, reason in zip(*cols, reasons):
        region, side, quality = region.strip(), side.strip(), quality.strip() or None
        where = f"{side} {region}".strip()
        value = _parse(float_range(0.0, 10.0), inten.strip(), f"intensity of {where}")
        region = pm.check_mark(region, side, value, quality)
        if (region, side) in seen:
            raise MovekitError(f"{where} is marked twice in this form")
        if len(reason.strip()) > MAX_TEXT["reason"]:
            raise MovekitError(f"reason for {where}: at most {MAX_TEXT['reason']} characters")
        seen.add((region, side))
        marks.append((region, side, value, quality, reason.strip()))
    return marks


def add_marks(store, sid: int, form: dict, who: str | None = None) -> list[dict]:
    """Check a pain-map form and store its marks. A region and side already marked in the session
    becomes an amendment of that mark, which needs the row's reason (the earlier value stays in its
    history); the whole form is checked before anything is stored."""
    marks = parse_marks(form)
    stored = {(m["region"], m["side"]): m for m in _session_marks(store, sid)}
    for region, side, value, quality, reason in marks:
        old = stored.get((region, side))
        if old is not None and not reason:
            raise MovekitError(f"{side} {region} is already marked in this session ({old['intensity_0_10']:g}/10): "
                               "give a reason to amend it")  # fmt: skip
        if old is not None and (old["intensity_0_10"], old["quality"]) == (value, quality):
            raise MovekitError(
                f"{side} {region} already has {value:g}/10 {quality or ''}: nothing to amend".replace(" :", ":")
            )
    out = []
    for region, side, value, quality, reason in marks:
        old = stored.get((region, side))
        if old is None:
            out.append(store.add_pain_mark(sid, region, side, value, quality))
        else:
            out.append(store.amend_pain_mark(old["id"], reason, who=who, intensity_0_10=value, quality=quality))
    return out


def change_mark(store, sid: int, mid: int, form: dict, who: str | None = None) -> dict:
    """Amend (``intensity``, ``quality``) or remove one stored mark of session ``sid``, with the
    form's ``reason``."""
    from movekit.argtypes import float_range

    mark = store.record("pain_mark", mid)
    if mark["session_id"] != sid:
        raise MovekitError(f"mark {mid} is not in session {sid}")
    action, reason = _action(form), _reason(form)
    if action == "remove":
        return store.remove_pain_mark(mid, reason, who=who)
    where = f"{mark['side']} {mark['region']}"
    value = _parse(float_range(0.0, 10.0), _one(form, "intensity"), f"intensity of {where}")
    return store.amend_pain_mark(mid, reason, who=who, intensity_0_10=value, quality=_one(form, "quality") or None)


def pain_compare(store, code: str) -> dict | None:
    """The first and the latest session's body charts side by side (None without marks)."""
    marks = store.pain_marks(code)
    if not marks:
        return None
    shown, by, rows = pm.first_and_latest(marks)
    charts = [{"date": s[0], "session_id": s[1], "svg": pm.body_chart_svg(list(by[s].values()), f"{code} {s[0]}")}
              for s in shown]  # fmt: skip
    return {"charts": charts, "rows": rows, "first": shown[0][0], "latest": shown[-1][0] if len(shown) > 1 else None}


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


def change_treatment(store, sid: int, tid: int, form: dict, who: str | None = None) -> dict:
    """Amend (the whole entry, read as the add form is: :func:`parse_treatment`) or remove one entry
    of session ``sid``, with the form's ``reason``."""
    entry = store.record("treatment", tid)
    if entry["session_id"] != sid:
        raise MovekitError(f"treatment entry {tid} is not in session {sid}")
    action, reason = _action(form), _reason(form)
    if action == "remove":
        return store.remove_treatment(tid, reason, who=who)
    fields = {"region": None, "muscle": None, "side": None, "pressure_0_10": None, "sets": None, "reps": None,
              "feedback": None, **parse_treatment(form)}  # fmt: skip
    return store.amend_treatment(tid, reason, who=who, **fields)


def treatment_rows(entries: list[dict]) -> list[dict]:
    """A session's log in words (:func:`movekit.clinic.treatment.describe`), each entry with its
    stored fields (``entry``, for the amend form) and ``history`` when given."""
    rows = []
    for t in entries:
        where, dose = tx.describe(t)
        rows.append({"id": t["id"], "part": t["part"], "what": t["technique"], "where": where, "dose": dose,
                     "response": t["response"], "entry": t, "history": t.get("history", [])})  # fmt: skip
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

    def goal(self, code: str, gid: int, saved: str | None = None) -> str:
        from movekit.clinic.store import history_lines

        with self._store() as st:
            g = st.record("goal", gid)
            if g["client_code"] != code:
                raise MovekitError(f"goal {gid} is not a goal of {code}")
            rows = {r["id"]: r for r in goal_rows(st, code, measure_choices(st, code))}
            history = history_lines(st.history("goal", gid))
        return self.render("goal.html", code=code, g=g, row=rows.get(gid), history=history, saved=saved)

    def goal_change(self, code: str, gid: int, form: dict) -> str:
        with self._store() as st:
            return "removed" if change_goal(st, code, gid, form)["removed_utc"] else "amended"

    def painmap(self, sid: int, saved: str | None = None) -> str:
        from movekit.clinic.regions import REGIONS

        with self._store() as st:
            s = st.session(sid)
            marks = _with_history(st, "pain_mark", _session_marks(st, sid))
            removed = [m for m in st.pain_marks(s["client_code"], include_removed=True)
                       if m["session_id"] == s["id"] and m["removed_utc"]]  # fmt: skip
            removed = _with_history(st, "pain_mark", removed)
        return self.render("painmap.html", s=s, marks=marks, removed=removed, shapes=chart_shapes(),
                           regions=REGIONS, sides=pm.SIDES, qualities=pm.QUALITIES, saved=saved,
                           svg=pm.body_chart_svg(marks) if marks else None)  # fmt: skip

    def painmap_save(self, sid: int, form: dict) -> int:
        with self._store() as st:
            return len(add_marks(st, sid, form))

    def mark_change(self, sid: int, mid: int, form: dict) -> str:
        with self._store() as st:
            return "removed" if change_mark(st, sid, mid, form)["removed_utc"] else "amended"

    def treatment(self, sid: int, saved: str | None = None) -> str:
        with self._store() as st:
            s = st.session(sid)
            rows = treatment_rows(_with_history(st, "treatment", _session_treatments(st, sid)))
            gone = [t for t in st.treatments(s["client_code"], include_removed=True)
                    if t["session_id"] == s["id"] and t["removed_utc"]]  # fmt: skip
            gone = treatment_rows(_with_history(st, "treatment", gone))
            program = [p["name"] for p in st.program_items(s["client_code"])]
        return self.render("treatment.html", s=s, rows=rows, removed=gone, techniques=tx.TECHNIQUES,
                           regions=tx.REGIONS, sides=tx.SIDES, feedback=tx.FEEDBACK, program=program,
                           saved=saved)  # fmt: skip

    def treatment_save(self, sid: int, form: dict) -> int:
        entry = parse_treatment(form)
        with self._store() as st:
            return st.add_treatment(sid, **entry)["id"]

    def treatment_change(self, sid: int, tid: int, form: dict) -> str:
        with self._store() as st:
            return "removed" if change_treatment(st, sid, tid, form)["removed_utc"] else "amended"


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

    async def goal(request: Request) -> Response:
        p = request.path_params
        return HTMLResponse(await run_in_threadpool(view.goal, p["code"], p["gid"], request.query_params.get("saved")))

    async def goal_change(request: Request) -> Response:
        p = request.path_params
        done = await run_in_threadpool(view.goal_change, p["code"], p["gid"], await _form(request))
        return RedirectResponse(f"/clients/{p['code']}/goals/{p['gid']}?saved={done}", 303)

    async def mark_change(request: Request) -> Response:
        p = request.path_params
        done = await run_in_threadpool(view.mark_change, p["sid"], p["mid"], await _form(request))
        return RedirectResponse(f"/sessions/{p['sid']}/painmap?saved={done}", 303)

    async def treatment_change(request: Request) -> Response:
        p = request.path_params
        done = await run_in_threadpool(view.treatment_change, p["sid"], p["tid"], await _form(request))
        return RedirectResponse(f"/sessions/{p['sid']}/treatment?saved={done}", 303)

    return [
        Route("/clients/{code}/goals", goal_save, methods=["POST"]),
        Route("/clients/{code}/goals/{gid:int}", goal),
        Route("/clients/{code}/goals/{gid:int}", goal_change, methods=["POST"]),
        Route("/sessions/{sid:int}/painmap", painmap),
        Route("/sessions/{sid:int}/painmap", painmap_save, methods=["POST"]),
        Route("/sessions/{sid:int}/painmap/{mid:int}", mark_change, methods=["POST"]),
        Route("/sessions/{sid:int}/treatment", treatment),
        Route("/sessions/{sid:int}/treatment", treatment_save, methods=["POST"]),
        Route("/sessions/{sid:int}/treatment/{tid:int}", treatment_change, methods=["POST"]),
    ]


__all__ = ["STATUS_WORDS", "CarePages", "add_goal", "add_marks", "change_goal", "change_mark", "change_treatment",
           "chart_shapes", "client_context",
           "goal_rows", "measure_choices", "pain_compare", "parse_marks", "parse_treatment", "routes",
           "session_context", "treatment_rows"]  # fmt: skip
