"""The therapist pages: what each page shows, read from and written to the library objects.

Each method opens the clinic store (:class:`movekit.clinic.store.Store`) for the one request, calls the
library (store, outcome scorers, report, assessment registry) and renders a template. Bad input
raises :class:`movekit.errors.MovekitError`; the app shows its message and nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from movekit.clinic import outcomes as oc
from movekit.clinic.store.models import result_is_valid
from movekit.errors import MovekitError
from movekit.studio.care import client_context, session_context


def form_int(text: str, what: str) -> int:
    """A whole number typed in a form field or a URL (``what`` names it in the error); the one
    copy the studio's page modules use. Bad input raises :class:`MovekitError`."""
    try:
        return int(text)
    except (TypeError, ValueError):
        raise MovekitError(f"{what} {text!r} is not a whole number") from None


def _metric_label(name: str) -> str:
    """``left_onset_deg`` -> ``left onset`` (the unit is shown in its own column)."""
    from movekit.assess.result import UNIT_SUFFIX

    for suffix in sorted((s for s in UNIT_SUFFIX.values() if s), key=len, reverse=True):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace("_", " ")


def source_label(source) -> str:
    s = str(source)
    return f"webcam {s}" if s.strip().isdigit() else Path(s).name


class Pages:
    """Page builders for :func:`movekit.studio.app.create_app` (one store connection per call)."""

    def __init__(self, config, env) -> None:
        self.config, self.env = config, env

    def render(self, template: str, **ctx: Any) -> str:
        return self.env.get_template(template).render(live=self.config.live, **ctx)

    def _store(self):
        from movekit.clinic.store import Store

        return Store(self.config.db)

    # -- clients ----------------------------------------------------------------------------
    def home(self) -> str:
        with self._store() as st:
            clients = st.clients()
        return self.render("home.html", clients=clients)

    def add_client(self, code: str, name: str) -> str:
        from movekit.clinic.store.models import check_client_code

        with self._store() as st:
            return st.add_client(check_client_code(code), name or None)["code"]

    def client(self, code: str) -> str:
        from movekit.clinic import reassess

        with self._store() as st:
            c = st.client(code)
            sessions = st.sessions(code)
            for s in sessions:
                s["assessments"] = [{"id": a["id"], "test": a["test"]} for a in st.assessments(s["id"])]
            outcomes = st.outcomes(code)
            schedule = reassess.schedule(st, code)
            open_session = st.open_session(code)
            care = client_context(st, code)
        changes = []
        for key in sorted({r["measure"] for r in outcomes if r["measure"] in oc.MEASURES}):
            rows = [r for r in outcomes if r["measure"] == key]
            if len(rows) >= 2 and (why := oc.not_comparable(key, rows[0], rows[-1])):
                changes.append(f"{oc.MEASURES[key].title}: {why}")
            elif len(rows) >= 2:
                ch = oc.change_from_baseline(key, rows[0]["score"], rows[-1]["score"])
                changes.append(f"{oc.MEASURES[key].title}: {ch.change:+.1f} since {rows[0]['taken_date']} "
                               f"(MCID {ch.mcid.describe()}: {ch.verdict()})")  # fmt: skip
        return self.render("client.html", c=c, sessions=sessions, outcomes=outcomes, schedule=schedule.describe(),
                           changes=changes, open_session=open_session, measures=oc.MEASURES, **care)  # fmt: skip

    def start_session(self, code: str, type_: str) -> int:
        with self._store() as st:
            return st.start_session(code, type_)["id"]

    def end_session(self, sid: int) -> str:
        live = self.config.live
        if live is not None and live.options.session_id == sid and live.phase in ("setup", "recording"):
            raise MovekitError(f"session {sid} is live: stop the test first")
        with self._store() as st:
            return st.end_session(sid)["client_code"]

    # -- a session: choose a screen, go live ------------------------------------------------
    def session(self, sid: int) -> str:
        from movekit.assess.setup_check import SCREEN_SETUP
        from movekit.studio.app import SCREEN_TITLES

        with self._store() as st:
            s = st.session(sid)
            done = st.assessments(sid)
            care = session_context(st, sid)
        views = {"frontal": "front view", "sagittal": "side view", "any": "any view"}
        screens = [(k, t, views[SCREEN_SETUP[k].view]) for k, t in SCREEN_TITLES.items()]
        cams = [source_label(x) for x in self.config.sources]
        return self.render("session.html", s=s, screens=screens, cameras=cams, done=done, **care)

    def start_live(self, sid: int, form: dict) -> None:
        from movekit.studio.app import SCREEN_TITLES, _one, new_live
        from movekit.studio.live import LiveOptions

        screen = _one(form, "screen")
        if screen not in SCREEN_TITLES:
            raise MovekitError(f"choose a test (one of {', '.join(SCREEN_TITLES)})")
        side = _one(form, "side") or None
        if side not in (None, "left", "right"):
            raise MovekitError(f"side {side!r}: left, right or detected")
        age = None
        if _one(form, "age"):
            age = float(form_int(_one(form, "age"), "age"))
            if not 0 <= age <= 120:
                raise MovekitError(f"age {age:g} is outside 0-120 years")
        camera = form_int(_one(form, "camera") or "0", "camera")
        with self._store() as st:
            s = st.session(sid)
        if s["ended_utc"]:
            raise MovekitError(f"session {sid} has ended; start a new one from the client's page")
        c = self.config
        if c.live is not None and c.live.phase in ("recording", "analysing"):
            raise MovekitError("a test is being recorded: stop it on the live page first")
        opts = LiveOptions(screen, s["client_code"], sid, list(c.sources), camera, c.recordings_dir, c.db,
                           side, age, c.model_complexity, save_video=_one(form, "save_video") == "yes",
                           max_fps=c.camera_fps)  # fmt: skip
        new_live(c, opts)

    def live(self) -> str:
        from movekit.assess.setup_check import SCREEN_SETUP
        from movekit.studio.app import SCREEN_TITLES

        lv = self.config.live
        cams = [source_label(x) for x in self.config.sources]
        return self.render("live.html", lv=lv, title=SCREEN_TITLES.get(lv.screen, lv.screen),
                           need=SCREEN_SETUP[lv.screen].view, cameras=cams)  # fmt: skip

    # -- the result card --------------------------------------------------------------------
    def result(self, sid: int, aid: int) -> str:
        from movekit.clinic.reassess import noise_floor
        from movekit.studio.app import SCREEN_TITLES
        from movekit.studio.plot import recording_plot

        with self._store() as st:
            s = st.session(sid)
            found = [a for a in st.assessments(sid) if a["id"] == aid]
            recs = st.recordings(sid)
        if not found:
            raise MovekitError(f"no result {aid} in session {sid}")
        r = found[0]["result"]
        test = found[0]["test"]
        metrics = []
        for name, m in (r.get("metrics") or {}).items():
            nf = noise_floor(test, name)
            v = m.get("value")
            shown = "not measured" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
            metrics.append({"label": _metric_label(name), "name": name, "value": shown, "unit": m.get("unit", ""),
                            "noise": nf.describe() if nf else ""})  # fmt: skip
        valid = result_is_valid(r)  # research mode (--ungated) is not valid either
        rec = next((x for x in reversed(recs) if x["status"] == "ok" and test in Path(x["path"]).name), None)
        svg, caption = recording_plot(rec["path"], test) if rec else (None, "no recording linked")
        findings = [f for f in r.get("flags") or [] if not str(f.get("code", "")).startswith("invalid_")]
        return self.render("result.html", s=s, r=r, test=test, title=SCREEN_TITLES.get(test, test), valid=valid,
                           metrics=metrics, svg=svg, caption=caption, recording=rec, findings=findings)  # fmt: skip

    def report(self, code: str) -> str:
        from movekit.report import render_client_report

        with self._store() as st:
            return render_client_report(st, code)

    # -- outcome questionnaires -------------------------------------------------------------
    def outcome_form(self, code: str, measure: str) -> str:
        from movekit.studio.app import OUTCOME_FORMS

        m = oc.measure(measure)
        with self._store() as st:
            c = st.client(code)
        return self.render("outcome.html", c=c, m=m, form=OUTCOME_FORMS[m.key])

    def outcome_save(self, code: str, measure: str, form: dict) -> None:
        from movekit.studio.app import OUTCOME_FORMS, _one

        m = oc.measure(measure)
        n = OUTCOME_FORMS[m.key]["items"]
        items = [_one(form, f"item{i}") or None for i in range(1, n + 1)]
        labels = None
        if m.key == "psfs":
            names = [_one(form, f"activity{i}") for i in range(1, n + 1)]
            for i, (a, v) in enumerate(zip(names, items), 1):
                if (v is None) != (not a):
                    raise MovekitError(f"PSFS activity {i}: give both the activity and its rating 0-10")
                if len(a) > 80:
                    raise MovekitError(f"PSFS activity {i}: at most 80 characters")
            items = [v for v in items if v is not None]
            labels = [a for a in names if a]  # stored beside the ratings (store v7)
        sc = oc.score(m.key, items)
        with self._store() as st:
            open_session = st.open_session(code)
            st.add_outcome(code, sc.measure, sc.score, items=sc.items or None,
                           n_answered=sc.n_answered or None, labels=labels,
                           session_id=open_session["id"] if open_session else None)  # fmt: skip


def routes(config, env) -> list:  # ~60 lines: one 3-line endpoint per route, then the table
    """The therapist's routes (clients, sessions, result cards, report, questionnaires) for
    :func:`movekit.studio.app.create_app`; the live page and its socket stay in the app."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route

    from movekit.studio.app import _form, _one

    view = Pages(config, env)

    async def home(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.home))

    async def add_client(request: Request) -> Response:
        f = await _form(request)
        code = await run_in_threadpool(view.add_client, _one(f, "code"), _one(f, "name"))
        return RedirectResponse(f"/clients/{code}", 303)

    async def client(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.client, request.path_params["code"]))

    async def start_session(request: Request) -> Response:
        f = await _form(request)
        sid = await run_in_threadpool(view.start_session, request.path_params["code"], _one(f, "type", "treatment"))
        return RedirectResponse(f"/sessions/{sid}", 303)

    async def session(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.session, request.path_params["sid"]))

    async def start_live(request: Request) -> Response:
        f = await _form(request)
        await run_in_threadpool(view.start_live, request.path_params["sid"], f)
        return RedirectResponse("/live", 303)

    async def end_session(request: Request) -> Response:
        code = await run_in_threadpool(view.end_session, request.path_params["sid"])
        return RedirectResponse(f"/clients/{code}", 303)

    async def result(request: Request) -> Response:
        p = request.path_params
        return HTMLResponse(await run_in_threadpool(view.result, p["sid"], p["aid"]))

    async def report(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.report, request.path_params["code"]))

    async def outcome_form(request: Request) -> Response:
        p = request.path_params
        return HTMLResponse(await run_in_threadpool(view.outcome_form, p["code"], p["measure"]))

    async def outcome_save(request: Request) -> Response:
        p, f = request.path_params, await _form(request)
        await run_in_threadpool(view.outcome_save, p["code"], p["measure"], f)
        return RedirectResponse(f"/clients/{p['code']}?saved={p['measure']}", 303)

    return [
        Route("/", home),
        Route("/clients", add_client, methods=["POST"]),
        Route("/clients/{code}", client),
        Route("/clients/{code}/sessions", start_session, methods=["POST"]),
        Route("/clients/{code}/report", report),
        Route("/clients/{code}/outcomes/{measure}", outcome_form),
        Route("/clients/{code}/outcomes/{measure}", outcome_save, methods=["POST"]),
        Route("/sessions/{sid:int}", session),
        Route("/sessions/{sid:int}/live", start_live, methods=["POST"]),
        Route("/sessions/{sid:int}/end", end_session, methods=["POST"]),
        Route("/sessions/{sid:int}/results/{aid:int}", result),
    ]


__all__ = ["Pages", "form_int", "routes", "source_label"]
