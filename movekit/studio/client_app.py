"""The client's home screens of the studio: today's drills, the drill screen, pairing, the MVC step.

``routes(config, env)`` gives the Starlette routes :func:`movekit.studio.app.create_app` mounts:

========================================  ===========================================================
``/home/{code}``                          start screen: today's assigned drills (home program)
``/home/{code}/drills/{item}`` POST       start that drill (server-side thread) -> the drill screen
``/home/{code}/run``                      the drill screen (state over ``/ws/drill``, ~10 per s)
``/home/{code}/run/control`` POST         start / pause / resume / stop (the page's buttons)
``/home/{code}/run/result``               the logged result and the spoken set summaries
``/home/{code}/mvc`` GET, POST            the guided MVC step (record it, store it per muscle)
``/home/{code}/devices`` GET, POST        pairing: the client's devices, scan, pick, label, muscles
``/home/{code}/devices/{label}/test``     a test signal of one paired device
``/devices``                              which client's devices to pair (a list of clients)
``/ws/drill``                             the drill state WebSocket (controls come back on it too)
========================================  ===========================================================

The logic is in :mod:`movekit.studio.home` and the library (Drill, clinic store, BLE transport);
devices and MVC recordings are the client's, in the clinic database.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from movekit.errors import MovekitError
from movekit.studio import home
from movekit.studio.pages import form_int


class ClientPages:
    """Page builders for the client's screens (one store connection per call)."""

    def __init__(self, config, env) -> None:
        self.config, self.env = config, env
        self._start_lock = threading.Lock()  # two quick clicks on Start start one drill

    def render(self, template: str, **ctx) -> str:
        return self.env.get_template(template).render(live=self.config.live, **ctx)

    def _store(self):
        """The clinic store, with the studio's old devices.json / mvc.json moved into it (once)."""
        from movekit.clinic.store import Store

        st = Store(self.config.db)
        try:
            home.import_legacy_files(st)
        except BaseException:
            st.close()
            raise
        return st

    # -- start screen ---------------------------------------------------------------------------
    def today(self, code: str) -> str:
        with self._store() as st:
            c = st.client(code)
            items = home.todays_items(st, code)
            devices, mvc = home.load_devices(st, code), home.load_mvc(st, code)
        drills, exercises = [], []
        for it in items:
            if it["kind"] != "drill":
                exercises.append(it)
                continue
            try:
                p = home.resolve_protocol(it["drill_id"])
                it = {**it, "title": p.title, "todo": home.readiness(p, devices, mvc)}
            except MovekitError as exc:
                it = {**it, "title": it["name"], "todo": [str(exc)]}
            drills.append(it)
        run = self.config.drill_run
        running = run is not None and run.info.client == code and run.phase in ("connecting", "running")
        return self.render("client_home.html", c=c, drills=drills, exercises=exercises, mvc=mvc,
                           today=_dt.date.today().isoformat(), running=running)  # fmt: skip

    # -- the drill -------------------------------------------------------------------------------
    def start_drill(self, code: str, item_id: int) -> None:
        from movekit.outputs import RECORDING, check_output, make_private_dir

        with self._store() as st:
            st.client(code)
            item = next((it for it in home.todays_items(st, code) if it["id"] == item_id), None)
            devices, mvc = home.load_devices(st, code), home.load_mvc(st, code)
        if item is None or item["kind"] != "drill":
            raise MovekitError(f"item {item_id} is not one of {code}'s drills for today")
        protocol = home.resolve_protocol(item["drill_id"])
        todo = home.readiness(protocol, devices, mvc)
        if todo:
            raise MovekitError("; ".join(todo))
        with self._start_lock:
            old = self.config.drill_run
            if old is not None and old.phase in ("connecting", "running"):
                raise MovekitError("a drill is already running: stop it first")
            folder = make_private_dir(self.config.recordings_dir / code, exist_ok=True)
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            rec = check_output(folder / f"drill-{protocol.name}-{stamp}.mkrec", RECORDING)
            info = home.RunInfo(code, item_id, item["name"], rec, rec.with_suffix(".wav"))
            self.config.drill_run = home.new_run(
                protocol, info, devices, (mvc or {}).get("mvc_uv"),
                hub=self.config.drill_hub, db=self.config.db, result_url=f"/home/{code}/run/result",
            )  # fmt: skip

    def run_page(self, code: str) -> str:
        run = self._run(code)
        return self.render("drill.html", c={"code": code}, run=run, title=run.drill.protocol.title)

    def _run(self, code: str):
        run = self.config.drill_run
        if run is None or run.info.client != code:
            raise MovekitError(f"no drill is running for {code}: start one from the drill list")
        return run

    def result(self, code: str) -> str:
        run = self._run(code)
        if run.phase not in ("done", "error"):
            raise MovekitError("the drill is still running")
        with self._store() as st:
            logs = [lg for lg in st.program_logs(code) if lg["item_id"] == run.info.item_id]
        res = run.result
        return self.render(
            "drill_done.html", c={"code": code}, run=run, res=res, logs=logs[-3:],
            logged=res.program_log.message() if res is not None and res.program_log is not None else None,
            summaries=[s.get("say") for s in run.summaries if s.get("say")],
            final=next((e.get("say") for e in reversed(res.events) if e["kind"] == "drill_end"), None) if res else None,
        )  # fmt: skip

    # -- MVC ---------------------------------------------------------------------------------------
    def mvc_page(self, code: str, just_recorded: bool = False) -> str:
        with self._store() as st:
            c = st.client(code)
            devices = [d for d in home.load_devices(st, code) if d.roles]
            mvc = home.load_mvc(st, code)
        return self.render("mvc.html", c=c, devices=devices, mvc=mvc,
                           seconds=home.MVC_RECORD_S, just_recorded=just_recorded)  # fmt: skip

    def record_mvc(self, code: str) -> None:
        """Record the MVC trial into the client's recordings folder and store it (with its path)."""
        from movekit.outputs import RECORDING, check_output, make_private_dir

        with self._store() as st:  # an open connection holds no lock while it records (WAL)
            devices = home.load_devices(st, code)
            self._devices_free()
            folder = make_private_dir(self.config.recordings_dir / code, exist_ok=True)
            out = check_output(folder / f"mvc-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.mkrec", RECORDING)
            home.record_mvc(st, code, devices, out)

    def _devices_free(self) -> None:
        """The sensors serve one reader at a time: refuse while a drill uses them."""
        run = self.config.drill_run
        if run is not None and run.phase in ("connecting", "running"):
            raise MovekitError("a drill is using the sensors: stop it first")

    # -- pairing -----------------------------------------------------------------------------------
    def clients_page(self) -> str:
        """Which client's devices to pair (each client has their own)."""
        with self._store() as st:
            clients = st.clients()
        return self.render("pair.html", c=None, clients=clients, devices=[], found=None, saved=None)

    def devices_page(self, code: str, found: list[dict] | None = None, saved: str | None = None) -> str:
        with self._store() as st:
            c = st.client(code)
            devices = home.load_devices(st, code)
        return self.render("pair.html", c=c, clients=None, devices=devices, found=found, saved=saved)

    def save_device(self, code: str, form: dict) -> str:
        from functools import partial

        from movekit.studio.app import _one

        one = partial(_one, form)
        profile = one("profile")
        roles = {ch: one(f"role_{ch}").lower() for ch in home.profile_channels(profile) if one(f"role_{ch}")}
        dev = home.PairedDevice(one("address").upper(), profile, one("label"), roles, one("name"))
        with self._store() as st:
            home.save_device(st, code, dev)
        return dev.label

    def remove_device(self, code: str, label: str) -> None:
        with self._store() as st:
            home.remove_device(st, code, label)

    def test_signal(self, code: str, label: str) -> dict:
        with self._store() as st:
            dev = next((d for d in home.load_devices(st, code) if d.label == label), None)
        if dev is None:
            raise MovekitError(f"{code} has no paired device labelled {label!r}")
        self._devices_free()
        return home.test_signal(dev)


def routes(config, env) -> list:  # ~80 lines: one short endpoint per route, then the table
    """The client's routes (see the module docstring) for ``config`` (a StudioConfig)."""
    from movekit.studio.app import _form, _one

    view = ClientPages(config, env)

    async def today(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.today, request.path_params["code"]))

    async def start(request: Request) -> Response:
        p = request.path_params
        await run_in_threadpool(view.start_drill, p["code"], form_int(p["item"], "item"))
        return RedirectResponse(f"/home/{p['code']}/run", 303)

    async def run_page(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.run_page, request.path_params["code"]))

    async def control(request: Request) -> Response:
        f = await _form(request)
        run = view._run(request.path_params["code"])
        await run_in_threadpool(run.control, _one(f, "action"))
        return JSONResponse(run.message())

    async def result(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.result, request.path_params["code"]))

    async def mvc_page(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.mvc_page, request.path_params["code"]))

    async def mvc_record(request: Request) -> Response:
        code = request.path_params["code"]
        await run_in_threadpool(view.record_mvc, code)
        return HTMLResponse(await run_in_threadpool(view.mvc_page, code, True))

    async def chooser(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(view.clients_page))

    async def devices(request: Request) -> Response:
        code, saved = request.path_params["code"], request.query_params.get("saved")
        return HTMLResponse(await run_in_threadpool(view.devices_page, code, None, saved))

    async def scan(request: Request) -> Response:
        found = await run_in_threadpool(home.scan_devices)
        return HTMLResponse(await run_in_threadpool(view.devices_page, request.path_params["code"], found))

    async def save(request: Request) -> Response:
        code = request.path_params["code"]
        label = await run_in_threadpool(view.save_device, code, await _form(request))
        return RedirectResponse(f"/home/{code}/devices?saved={label}", 303)

    async def remove(request: Request) -> Response:
        p = request.path_params
        await run_in_threadpool(view.remove_device, p["code"], p["label"])
        return RedirectResponse(f"/home/{p['code']}/devices", 303)

    async def signal(request: Request) -> Response:
        p = request.path_params
        try:
            return JSONResponse(await run_in_threadpool(view.test_signal, p["code"], p["label"]))
        except MovekitError as exc:
            return JSONResponse({"error": str(exc)}, 400)

    return [
        Route("/home/{code}", today),
        Route("/home/{code}/drills/{item}", start, methods=["POST"]),
        Route("/home/{code}/run", run_page),
        Route("/home/{code}/run/control", control, methods=["POST"]),
        Route("/home/{code}/run/result", result),
        Route("/home/{code}/mvc", mvc_page),
        Route("/home/{code}/mvc", mvc_record, methods=["POST"]),
        Route("/devices", chooser),
        Route("/home/{code}/devices", devices),
        Route("/home/{code}/devices/scan", scan, methods=["POST"]),
        Route("/home/{code}/devices", save, methods=["POST"]),
        Route("/home/{code}/devices/{label}/remove", remove, methods=["POST"]),
        Route("/home/{code}/devices/{label}/test", signal),
        WebSocketRoute("/ws/drill", _drill_socket(config)),
    ]


def _drill_socket(config):
    """The drill page's WebSocket: state out (``config.drill_hub``), ``{"type": "control"}`` in."""

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        hub = config.drill_hub
        hub.loop = asyncio.get_running_loop()
        hub.add(ws)
        run = config.drill_run
        await ws.send_json(run.message() if run is not None else {"type": "state", "phase": "none"})
        try:
            while True:
                msg = await ws.receive_json()
                run = config.drill_run
                if run is not None and isinstance(msg, dict) and msg.get("type") == "control":
                    try:
                        await run_in_threadpool(run.control, str(msg.get("action")))
                    except MovekitError as exc:
                        await ws.send_json({"type": "notice", "text": str(exc)})
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.sockets.discard(ws)

    return endpoint


def close(config) -> None:
    """Stop a running drill (the studio is shutting down)."""
    if config.drill_run is not None:
        config.drill_run.close()


__all__ = ["ClientPages", "close", "routes"]
