"""Clinic records on top of :class:`movekit.clinic.store.db.Database`: clients, sessions,
linked recordings, assessment results (JSON + queryable metrics), outcome measures,
home-program items/logs, and each client's paired BLE devices and MVC recordings.

Every method that changes something runs in one transaction. Rows come back as
plain dicts.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from movekit.clinic.store.db import Database, utc_now
from movekit.errors import MovekitError
from movekit.outputs import strict_json

SESSION_TYPES = ("baseline", "treatment", "reassessment", "other")


def _past_date(value: str | _dt.date | None, what: str) -> str:
    """:func:`_date`, refusing a date after today (``what`` names the record in the message):
    a score or a home session cannot have been taken in the future."""
    d = _date(value)
    if d > _dt.date.today().isoformat():
        raise MovekitError(f"{what} date {d} is in the future (today is {_dt.date.today().isoformat()})")
    return d


def _date(value: str | _dt.date | None) -> str:
    """ISO date string; today when None. Rejects anything that is not YYYY-MM-DD."""
    if value is None:
        return _dt.date.today().isoformat()
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    from movekit.argtypes import MAX_YEAR, MIN_YEAR

    try:
        d = _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise MovekitError(f"date {value!r} is not YYYY-MM-DD") from None
    if not MIN_YEAR <= d.year <= MAX_YEAR:  # 9999-12-31 would overflow every later date sum
        raise MovekitError(f"date {value!r} is outside {MIN_YEAR}-{MAX_YEAR}")
    return d.isoformat()


def _check_counts(**values) -> None:
    """Sets, reps and hold times: finite and not negative."""
    for label, v in values.items():
        if v is not None and not (math.isfinite(float(v)) and float(v) >= 0):
            raise MovekitError(f"{label} {v} must be a finite number, not negative")


def _check_window(lo: int, hi: int) -> None:
    if not (1 <= int(lo) <= int(hi) <= 100):
        raise MovekitError(f"re-assessment window {lo}-{hi} sessions is not valid (need 1 <= min <= max)")


#: the records that can be amended and removed (with history) -> their table
RECORD_TABLES = {"goal": "goals", "pain_mark": "pain_marks", "treatment": "treatments"}
RECORD_WORDS = {"goal": "goal", "pain_mark": "pain mark", "treatment": "treatment entry"}
MAX_REASON = 500
MAX_CONTEXT = 120
_TREATMENT_FIELDS = ("part", "technique", "region", "muscle", "side", "duration_min", "pressure_0_10", "sets", "reps",
                     "feedback", "response")  # fmt: skip


def _table(kind: str) -> str:
    if kind not in RECORD_TABLES:
        raise MovekitError(f"record kind {kind!r}: one of {', '.join(RECORD_TABLES)}")
    return RECORD_TABLES[kind]


def _reason(reason: str | None) -> str:
    """An amendment's or a removal's reason: required, one line of at most :data:`MAX_REASON` characters."""
    text = " ".join(str(reason or "").split())
    if not text:
        raise MovekitError("a reason is required to amend or remove a record (e.g. 'typed 6, client said 4')")
    if len(text) > MAX_REASON:
        raise MovekitError(f"reason: at most {MAX_REASON} characters")
    return text


def _who(who: str | None) -> str:
    """Who made a change: as given, else the operating-system user."""
    text = " ".join(str(who or "").split())
    if not text:
        import getpass

        try:
            text = getpass.getuser()
        except (KeyError, OSError):  # no user name (e.g. a container without passwd entry)
            text = "unknown"
    if len(text) > 80:
        raise MovekitError("who: at most 80 characters")
    return text


def _context(context: str | None) -> str:
    text = (context or "").strip()
    if len(text) > MAX_CONTEXT:
        raise MovekitError(f"goal context: at most {MAX_CONTEXT} characters")
    return text


def _check_goal(set_date: str, deadline, target, baseline, measure: str) -> tuple[str, float, float | None]:
    """``(deadline, target, baseline)`` of a goal, checked: the deadline after the set date, finite
    numbers, a baseline (None: the first result) different from the target, both within a
    questionnaire's range (NPRS 0-10, ODI 0-100 ...)."""
    due = _date(deadline)
    if due <= set_date:
        raise MovekitError(f"goal deadline {due} must be after the day it is set ({set_date})")
    try:
        t = float(target)
        b = None if baseline is None else float(baseline)
    except (TypeError, ValueError):
        raise MovekitError(f"goal target {target!r} and baseline {baseline!r} must be numbers") from None
    if not math.isfinite(t):
        raise MovekitError(f"goal target {target} must be a finite number")
    if b is not None and (not math.isfinite(b) or b == t):
        raise MovekitError(f"goal baseline {baseline} must be finite and differ from the target {target}")
    from movekit.clinic import outcomes as oc

    if measure in oc.MEASURES:
        lo, hi = oc.MEASURES[measure].range
        for what, v in (("target", t), ("baseline", b)):
            if v is not None and not lo <= v <= hi:
                raise MovekitError(f"goal {what} {v:g} is outside the {measure.upper()} range {lo:g}-{hi:g}")
    return due, t, b


def _treatment_fields(f: dict) -> dict:
    """The columns of a treatment entry (:data:`_TREATMENT_FIELDS`), checked against the
    vocabularies of :mod:`movekit.clinic.treatment` and the ranges; the region under its name now."""
    from movekit.clinic.treatment import FEEDBACK, check_treatment

    f = {k: f.get(k) for k in _TREATMENT_FIELDS}
    if f["part"] == "manual":
        f["region"] = check_treatment(f["technique"], f["region"] or "", f["muscle"], f["side"] or "")
    elif f["part"] == "movement":
        if f["feedback"] is not None and f["feedback"] not in FEEDBACK:
            raise MovekitError(f"feedback {f['feedback']!r}: one of {', '.join(FEEDBACK)}")
        if not str(f["technique"] or "").strip():
            raise MovekitError("a movement entry needs the exercise's name")
    else:
        raise MovekitError(f"part {f['part']!r} is manual or movement")
    _check_counts(sets=f["sets"], reps=f["reps"])
    for label, v, hi in (("minutes", f["duration_min"], 240.0), ("pressure", f["pressure_0_10"], 10.0)):
        if v is not None and not (math.isfinite(float(v)) and 0 <= float(v) <= hi and (label != "minutes" or v > 0)):
            raise MovekitError(f"{label} {v} is outside {'0-10' if hi == 10 else '0-240 (above 0)'}")
    f["response"] = f["response"] or ""
    return f


def _dicts(rows) -> list[dict]:
    return [dict(r) for r in rows]


def meta_sha256(recording_path: str | os.PathLike) -> str:
    """SHA-256 of a recording's ``meta.json`` (the content hash the store links by)."""
    meta = Path(recording_path) / "meta.json"
    try:
        return hashlib.sha256(meta.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise MovekitError(f"{recording_path} is not a movekit recording: no meta.json") from None
    except OSError as exc:
        raise MovekitError(f"cannot read {meta}: {exc}") from None


class Store:
    """The progress store. ``Store(path)`` opens (creating and migrating) the SQLite file."""

    def __init__(self, path=None, **kwargs):
        self.db = Database(path, **kwargs)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ clients
    def add_client(
        self, code: str, name: str | None = None, *, reassess_min_sessions: int = 4, reassess_max_sessions: int = 6
    ) -> dict:
        code = (code or "").strip()
        if not code:
            raise MovekitError("a client needs a pseudonymous id (e.g. C-0042)")
        _check_window(reassess_min_sessions, reassess_max_sessions)
        with self.db.write() as c:
            if row := c.execute("SELECT code FROM clients WHERE lower(code) = lower(?)", (code,)).fetchone():
                same = "" if row[0] == code else f" ({code} differs from it only in case)"
                raise MovekitError(f"client {row[0]} already exists{same}")
            c.execute(
                "INSERT INTO clients (code, name, created_utc, reassess_min_sessions, reassess_max_sessions) "
                "VALUES (?, ?, ?, ?, ?)",
                (code, name or None, utc_now(), int(reassess_min_sessions), int(reassess_max_sessions)),
            )
        return self.client(code)

    def client(self, code: str) -> dict:
        rows = self.db.read("SELECT * FROM clients WHERE code = ?", (code,))
        if not rows:
            raise MovekitError(f"no client {code!r} in {self.path} (add it with: movekit client add {code})")
        return dict(rows[0])

    def clients(self) -> list[dict]:
        return _dicts(
            self.db.read(
                """SELECT c.*, (SELECT count(*) FROM sessions s WHERE s.client_id = c.id) AS n_sessions,
                      (SELECT max(session_date) FROM sessions s WHERE s.client_id = c.id) AS last_session
               FROM clients c ORDER BY c.code"""
            )
        )

    def set_reassess_window(self, code: str, min_sessions: int, max_sessions: int) -> None:
        _check_window(min_sessions, max_sessions)
        cid = self.client(code)["id"]
        with self.db.write() as c:
            c.execute(
                "UPDATE clients SET reassess_min_sessions = ?, reassess_max_sessions = ? WHERE id = ?",
                (min_sessions, max_sessions, cid),
            )

    # ----------------------------------------------------------------- sessions
    def start_session(self, code: str, type: str = "treatment", date=None, notes: str = "") -> dict:
        if type not in SESSION_TYPES:
            raise MovekitError(f"session type {type!r} is not one of {', '.join(SESSION_TYPES)}")
        cid = self.client(code)["id"]
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO sessions (client_id, session_date, type, started_utc, therapist_notes) "
                "VALUES (?, ?, ?, ?, ?)",
                (cid, _date(date), type, utc_now(), notes or ""),
            )
            sid = cur.lastrowid
        return self.session(sid)

    def session(self, session_id: int) -> dict:
        rows = self.db.read(
            "SELECT s.*, c.code AS client_code FROM sessions s JOIN clients c ON c.id = s.client_id WHERE s.id = ?",
            (int(session_id),),
        )
        if not rows:
            raise MovekitError(f"no session {session_id} in {self.path}")
        return dict(rows[0])

    def open_session(self, code: str) -> dict | None:
        cid = self.client(code)["id"]
        rows = self.db.read(
            "SELECT id FROM sessions WHERE client_id = ? AND ended_utc IS NULL ORDER BY id DESC LIMIT 1", (cid,)
        )
        return self.session(rows[0]["id"]) if rows else None

    def end_session(self, session_id: int, notes: str | None = None) -> dict:
        s = self.session(session_id)
        with self.db.write() as c:
            if notes:
                text = (s["therapist_notes"] + "\n" + notes).strip() if s["therapist_notes"] else notes
                c.execute("UPDATE sessions SET therapist_notes = ? WHERE id = ?", (text, s["id"]))
            c.execute("UPDATE sessions SET ended_utc = coalesce(ended_utc, ?) WHERE id = ?", (utc_now(), s["id"]))
        return self.session(session_id)

    def sessions(self, code: str) -> list[dict]:
        cid = self.client(code)["id"]
        return _dicts(
            self.db.read(
                """SELECT s.*, (SELECT count(*) FROM assessments a WHERE a.session_id = s.id) AS n_assessments,
                      (SELECT count(*) FROM recordings r WHERE r.session_id = s.id) AS n_recordings
               FROM sessions s WHERE s.client_id = ? ORDER BY s.session_date, s.id""",
                (cid,),
            )
        )

    # --------------------------------------------------------------- recordings
    def link_recording(self, session_id: int, path: str | os.PathLike) -> dict:
        """Link a recording directory by absolute path and the SHA-256 of its meta.json."""
        s = self.session(session_id)
        p = Path(path).expanduser().resolve()
        digest = meta_sha256(p)
        with self.db.write() as c:
            c.execute(
                "INSERT INTO recordings (session_id, path, meta_sha256, linked_utc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session_id, path) DO UPDATE SET meta_sha256 = excluded.meta_sha256",
                (s["id"], str(p), digest, utc_now()),
            )
        return dict(self.db.read("SELECT * FROM recordings WHERE session_id = ? AND path = ?", (s["id"], str(p)))[0])

    def recordings(self, session_id: int) -> list[dict]:
        """Linked recordings with ``status``: ok, missing, or changed (meta.json differs)."""
        out = []
        for r in _dicts(self.db.read("SELECT * FROM recordings WHERE session_id = ? ORDER BY id", (int(session_id),))):
            p = Path(r["path"])
            if not (p / "meta.json").exists():
                r["status"] = "missing"
            else:
                try:
                    r["status"] = "ok" if meta_sha256(p) == r["meta_sha256"] else "changed"
                except MovekitError:
                    r["status"] = "missing"
            out.append(r)
        return out

    # -------------------------------------------------------------- assessments
    def add_assessment(self, session_id: int, result: dict | str | os.PathLike) -> int:
        """Store one assessment result (dict, JSON text or a .json file) and its metrics (those of a
        result that is not valid too; :meth:`metric_series` leaves them out)."""
        result = load_assessment_result(result)
        test = result.get("test")
        if not test or not isinstance(result.get("metrics", {}), dict):
            raise MovekitError('an assessment result needs "test" and a "metrics" object')
        rows = []
        for name, m in (result.get("metrics") or {}).items():
            if isinstance(m, dict):
                value, unit = m.get("value"), m.get("unit", "")
            else:
                value, unit = m, ""
            try:
                value = None if value is None else float(value)
            except (TypeError, ValueError):
                continue  # non-numeric metric (e.g. a label): kept in the JSON only
            if value is not None and not math.isfinite(value):
                value = None
            rows.append((name, value, unit or ""))
        s = self.session(session_id)
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO assessments (session_id, test, result_json, created_utc) VALUES (?, ?, ?, ?)",
                (s["id"], test, json.dumps(strict_json(result), allow_nan=False, default=_json_default), utc_now()),
            )
            aid = cur.lastrowid
            c.executemany(
                "INSERT INTO metrics (assessment_id, session_id, test, name, value, unit) VALUES (?, ?, ?, ?, ?, ?)",
                [(aid, s["id"], test, n, v, u) for n, v, u in rows],
            )
        return aid

    def assessments(self, session_id: int) -> list[dict]:
        out = []
        for r in _dicts(self.db.read("SELECT * FROM assessments WHERE session_id = ? ORDER BY id", (int(session_id),))):
            r["result"] = json.loads(r.pop("result_json"))
            out.append(r)
        return out

    def metric_series(
        self, code: str, test: str | None = None, name: str | None = None, *, valid_only: bool = True
    ) -> list[dict]:
        """Metric values over a client's sessions: session_id, session_date, session_type, test, name,
        value, unit. ``valid_only``: only those of results whose validity checks all passed
        (:func:`result_is_valid`): a NOT VALID step-down's "0 points judged" was read as the baseline
        score of the progress report."""
        cid = self.client(code)["id"]
        sql = (
            "SELECT m.session_id, s.session_date, s.type AS session_type, m.test, m.name, m.value, m.unit, "
            "m.assessment_id, a.result_json, a.created_utc AS stored_utc FROM metrics m JOIN sessions s ON s.id = m.session_id "
            "JOIN assessments a ON a.id = m.assessment_id WHERE s.client_id = ?"
        )
        params: list[Any] = [cid]
        if test:
            sql += " AND m.test = ?"
            params.append(test)
        if name:
            sql += " AND m.name = ?"
            params.append(name)
        rows = _dicts(self.db.read(sql + " ORDER BY s.session_date, s.id, m.id", tuple(params)))
        valid: dict[int, bool] = {}
        out = []
        for r in rows:
            aid, text = r.pop("assessment_id"), r.pop("result_json")
            if aid not in valid:
                valid[aid] = not valid_only or result_is_valid(json.loads(text))
            if valid[aid]:
                out.append(r)
        return out

    # ----------------------------------------------------------------- outcomes
    def add_outcome(
        self,
        code: str,
        measure: str,
        score: float,
        *,
        date=None,
        items=None,
        n_answered: int | None = None,
        session_id: int | None = None,
        labels=None,
    ) -> int:
        """Store a scored outcome; ``labels`` names each item (PSFS: the client's activities)."""
        cid = self.client(code)["id"]
        if session_id is not None:
            s = self.session(session_id)
            if s["client_id"] != cid:
                raise MovekitError(f"session {session_id} belongs to client {s['client_code']}, not {code}")
            if date is None:
                date = s["session_date"]  # taken at that session
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO outcomes (client_id, session_id, measure, taken_date, score, n_answered, "
                "items_json, created_utc, item_labels_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    session_id,
                    measure,
                    _past_date(date, f"{measure} score"),
                    float(score),
                    n_answered,
                    json.dumps(list(items)) if items is not None else None,
                    utc_now(),
                    json.dumps(list(labels)) if labels else None,
                ),
            )
            return cur.lastrowid

    def add_outcomes(self, entries: list[dict]) -> int:
        """Store many scored outcomes in ONE transaction (all or none): each entry has
        client, measure, score, and optionally date, items, n_answered, labels."""
        ids = {}
        for e in entries:
            if e["client"] not in ids:
                ids[e["client"]] = self.client(e["client"])["id"]
        with self.db.write() as c:
            c.executemany(
                "INSERT INTO outcomes (client_id, session_id, measure, taken_date, score, n_answered, "
                "items_json, created_utc, item_labels_json) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        ids[e["client"]],
                        e["measure"],
                        _past_date(e.get("date"), f"{e['client']} {e['measure']} score"),
                        float(e["score"]),
                        e.get("n_answered"),
                        json.dumps(list(e["items"])) if e.get("items") is not None else None,
                        utc_now(),
                        json.dumps(list(e["labels"])) if e.get("labels") else None,
                    )
                    for e in entries
                ],
            )
        return len(entries)

    def outcomes(self, code: str, measure: str | None = None) -> list[dict]:
        cid = self.client(code)["id"]
        sql = "SELECT * FROM outcomes WHERE client_id = ?"
        params: list[Any] = [cid]
        if measure:
            sql += " AND measure = ?"
            params.append(measure)
        out = _dicts(self.db.read(sql + " ORDER BY taken_date, id", tuple(params)))
        for r in out:
            r["items"] = json.loads(r.pop("items_json")) if r.get("items_json") else None
            r["labels"] = json.loads(r.pop("item_labels_json")) if r.get("item_labels_json") else None
        return out

    # ------------------------------------------------------------------- goals
    def add_goal(
        self,
        code: str,
        measure: str,
        target: float,
        deadline,
        *,
        baseline: float | None = None,
        context: str = "",
        date=None,
    ) -> dict:
        """A goal: ``measure`` is an outcome questionnaire (``nprs``, ``odi`` ...) or an assessment
        metric as ``<test>:<metric>`` (e.g. ``lumbar-flexion:lumbar_flexion_deg``), stored for the
        client or listed in :data:`movekit.clinic.goals.GOAL_METRICS`. ``baseline`` defaults to the
        latest stored value on or before ``date``; with none stored it stays open and the first
        result that arrives on or after ``date`` becomes the baseline."""
        from movekit.clinic.goals import check_measure, measure_unit

        values = self.measure_values(code, measure)
        check_measure(measure, bool(values))
        set_date = _date(date)
        if baseline is None:
            before = [v for v in values if v["date"] <= set_date]
            baseline = before[-1]["value"] if before else None
        due, target, baseline = _check_goal(set_date, deadline, target, baseline, measure)
        unit = measure_unit(measure, values[-1]["unit"] if values else "")
        cid = self.client(code)["id"]
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO goals (client_id, measure, baseline, target, unit, set_date, deadline, context, "
                "created_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, measure, baseline, target, unit, set_date, due, _context(context), utc_now()),
            )
            gid = cur.lastrowid
        return self.goals(code, goal_id=gid)[0]

    def goals(self, code: str, *, goal_id: int | None = None, include_removed: bool = False) -> list[dict]:
        """A client's goals as they are now (removed ones only with ``include_removed`` or ``goal_id``)."""
        cid = self.client(code)["id"]
        sql, params = "SELECT * FROM goals WHERE client_id = ?", [cid]
        if goal_id is not None:
            sql += " AND id = ?"
            params.append(goal_id)
        elif not include_removed:
            sql += " AND removed_utc IS NULL"
        return _dicts(self.db.read(sql + " ORDER BY id", tuple(params)))

    def amend_goal(self, goal_id: int, reason: str, *, who: str | None = None, **changes) -> dict:
        """Amend a goal's ``target``, ``deadline``, ``baseline`` (None: the first result that arrives)
        or ``context``; the earlier version stays in :meth:`history` with ``who``, when and ``reason``."""
        allowed = {"target", "deadline", "baseline", "context"}
        if not changes or set(changes) - allowed:
            raise MovekitError(f"a goal amendment changes one or more of {', '.join(sorted(allowed))}")
        row = self.record("goal", goal_id)
        new = {**row, **changes}
        due, target, baseline = _check_goal(
            row["set_date"], new["deadline"], new["target"], new["baseline"], row["measure"]
        )
        updates = {"deadline": due, "target": target, "baseline": baseline, "context": _context(new["context"])}
        return self._change("goal", row, "amend", reason, who, updates)

    def remove_goal(self, goal_id: int, reason: str, *, who: str | None = None) -> dict:
        """Remove a goal (soft: it stays stored, marked removed, with the reason)."""
        return self._change("goal", self.record("goal", goal_id), "remove", reason, who)

    def measure_values(self, code: str, measure: str) -> list[dict]:
        """Stored values of an outcome measure or a ``<test>:<metric>``, in date order:
        ``{"date", "value", "unit", "source", "stored_utc"}`` (NULL metric values left out;
        ``stored_utc``: when the value was entered)."""
        if ":" in measure:
            test, name = measure.split(":", 1)
            rows = self.metric_series(code, test=test, name=name)
            return [{"date": r["session_date"], "value": float(r["value"]), "unit": r["unit"],
                     "source": f"session {r['session_id']}", "stored_utc": r["stored_utc"]}
                    for r in rows if r["value"] is not None]  # fmt: skip
        rows = self.outcomes(code, measure)
        return [{"date": r["taken_date"], "value": float(r["score"]), "unit": "points", "source": "outcome",
                 "stored_utc": r["created_utc"]} for r in rows]  # fmt: skip

    # --------------------------------------------------------------- treatment
    def add_treatment(
        self,
        session_id: int,
        technique: str,
        *,
        part: str = "manual",
        region: str | None = None,
        muscle: str | None = None,
        side: str | None = None,
        duration_min: float | None = None,
        pressure_0_10: float | None = None,
        sets: int | None = None,
        reps: int | None = None,
        feedback: str | None = None,
        response: str = "",
    ) -> dict:
        """One entry of a session's log: a manual technique on a region (and muscle, side, minutes,
        pressure 0-10 as the client reported it) or a movement exercise (sets, reps, the feedback
        used), with the client's response (vocabularies: :mod:`movekit.clinic.treatment`; a region's
        old name is stored under its name now, :mod:`movekit.clinic.regions`)."""
        self.session(session_id)
        f = _treatment_fields(dict(part=part, technique=technique, region=region, muscle=muscle, side=side,
                                   duration_min=duration_min, pressure_0_10=pressure_0_10, sets=sets, reps=reps,
                                   feedback=feedback, response=response))  # fmt: skip
        with self.db.write() as c:
            cur = c.execute(
                f"INSERT INTO treatments (session_id, {', '.join(f)}, created_utc) "
                f"VALUES (?, {', '.join('?' * len(f))}, ?)",
                (int(session_id), *f.values(), utc_now()),
            )
            tid = cur.lastrowid
        return self.record("treatment", tid)

    def treatments(self, code: str, *, include_removed: bool = False) -> list[dict]:
        """A client's treatment log over all sessions as it is now, with each session's date, in date
        order (removed entries only with ``include_removed``)."""
        cid = self.client(code)["id"]
        live = "" if include_removed else " AND t.removed_utc IS NULL"
        return _dicts(
            self.db.read(
                "SELECT t.*, s.session_date FROM treatments t JOIN sessions s ON s.id = t.session_id "
                f"WHERE s.client_id = ?{live} ORDER BY s.session_date, t.id",
                (cid,),
            )
        )

    def amend_treatment(self, treatment_id: int, reason: str, *, who: str | None = None, **changes) -> dict:
        """Amend fields of a logged entry (those of :meth:`add_treatment`), checked as a new entry is;
        the earlier version stays in :meth:`history`."""
        row = self.record("treatment", treatment_id)
        unknown = set(changes) - set(_TREATMENT_FIELDS)
        if not changes or unknown:
            raise MovekitError(f"a treatment amendment changes one or more of {', '.join(_TREATMENT_FIELDS)}")
        fields = _treatment_fields({k: changes.get(k, row[k]) for k in _TREATMENT_FIELDS})
        return self._change("treatment", row, "amend", reason, who, fields)

    def remove_treatment(self, treatment_id: int, reason: str, *, who: str | None = None) -> dict:
        """Remove a logged entry (soft: it stays stored, marked removed, with the reason)."""
        return self._change("treatment", self.record("treatment", treatment_id), "remove", reason, who)

    # ---------------------------------------------------------------- pain map
    def add_pain_mark(self, session_id: int, region: str, side: str, intensity_0_10: float,
                      quality: str | None = None) -> dict:  # fmt: skip
        """Where it hurts in a session (vocabularies: :mod:`movekit.clinic.painmap`; an old region
        name is stored under its name now). A region and side already marked in the session is
        refused: amend that mark instead (:meth:`amend_pain_mark`)."""
        from movekit.clinic.painmap import check_mark

        self.session(session_id)
        region = check_mark(region, side, intensity_0_10, quality)
        self._check_unmarked(int(session_id), region, side)
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO pain_marks (session_id, region, side, intensity_0_10, quality, created_utc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (int(session_id), region, side, float(intensity_0_10), quality, utc_now()),
            )
            mid = cur.lastrowid
        return self.record("pain_mark", mid)

    def session_mark(self, session_id: int, region: str, side: str) -> dict | None:
        """The session's current (not removed) mark of ``region`` and ``side``, or None."""
        rows = self.db.read(
            "SELECT * FROM pain_marks WHERE session_id = ? AND region = ? AND side = ? AND removed_utc IS NULL "
            "ORDER BY id LIMIT 1",
            (int(session_id), region, side),
        )
        return dict(rows[0]) if rows else None

    def _check_unmarked(self, session_id: int, region: str, side: str, mark_id: int | None = None) -> None:
        old = self.session_mark(session_id, region, side)
        if old is not None and old["id"] != mark_id:
            raise MovekitError(
                f"{side} {region} is already marked in session {session_id} (mark {old['id']}: "
                f"{old['intensity_0_10']:g}/10): amend that mark (movekit pain-map amend {old['id']} ... --reason ...)"
            )

    def pain_marks(self, code: str, *, include_removed: bool = False) -> list[dict]:
        """A client's pain marks over all sessions as they are now, with each session's id and date,
        in date order (removed marks only with ``include_removed``)."""
        cid = self.client(code)["id"]
        live = "" if include_removed else " AND p.removed_utc IS NULL"
        return _dicts(
            self.db.read(
                "SELECT p.*, s.session_date FROM pain_marks p JOIN sessions s ON s.id = p.session_id "
                f"WHERE s.client_id = ?{live} ORDER BY s.session_date, s.id, p.id",
                (cid,),
            )
        )

    def amend_pain_mark(self, mark_id: int, reason: str, *, who: str | None = None, **changes) -> dict:
        """Amend a mark's ``intensity_0_10``, ``quality``, ``region`` or ``side`` (checked as a new
        mark is); the earlier version stays in :meth:`history`."""
        from movekit.clinic.painmap import check_mark

        allowed = ("region", "side", "intensity_0_10", "quality")
        if not changes or set(changes) - set(allowed):
            raise MovekitError(f"a pain-mark amendment changes one or more of {', '.join(allowed)}")
        row = self.record("pain_mark", mark_id)
        new = {k: changes.get(k, row[k]) for k in allowed}
        new["region"] = check_mark(new["region"], new["side"], new["intensity_0_10"], new["quality"])
        new["intensity_0_10"] = float(new["intensity_0_10"])
        self._check_unmarked(row["session_id"], new["region"], new["side"], mark_id=row["id"])
        return self._change("pain_mark", row, "amend", reason, who, new)

    def remove_pain_mark(self, mark_id: int, reason: str, *, who: str | None = None) -> dict:
        """Remove a mark (soft: it stays stored, marked removed, with the reason)."""
        return self._change("pain_mark", self.record("pain_mark", mark_id), "remove", reason, who)

    # ------------------------------------------------ amendments, removals, history
    def record(self, kind: str, record_id: int) -> dict:
        """One goal, pain mark or treatment entry (``kind``: a key of :data:`RECORD_TABLES`) as it
        is now, removed or not, with its client's code."""
        table = _table(kind)
        rows = self.db.read(
            f"SELECT r.*, c.code AS client_code FROM {table} r "
            + (
                "JOIN clients c ON c.id = r.client_id"
                if kind == "goal"
                else "JOIN sessions s ON s.id = r.session_id JOIN clients c ON c.id = s.client_id"
            )  # fmt: skip
            + " WHERE r.id = ?",
            (int(record_id),),
        )
        if not rows:
            raise MovekitError(f"no {RECORD_WORDS[kind]} {record_id} in {self.path}")
        return dict(rows[0])

    def _change(self, kind: str, row: dict, action: str, reason: str, who: str | None, updates=None) -> dict:
        """Store an amendment (``updates``: column -> new value) or a removal of ``row`` in one
        transaction, its earlier version first in ``record_history``."""
        reason, who, now, word = _reason(reason), _who(who), utc_now(), RECORD_WORDS[kind]
        if row["removed_utc"]:
            raise MovekitError(f"{word} {row['id']} was removed on {row['removed_utc'][:10]}: nothing to change")
        if action == "amend":
            updates = {k: v for k, v in updates.items() if row[k] != v}
            if not updates:
                raise MovekitError(f"{word} {row['id']} already has these values: nothing to amend")
        else:
            updates = {"removed_reason": reason}
        updates["removed_utc" if action == "remove" else "updated_utc"] = now
        table, before = _table(kind), {k: v for k, v in row.items() if k not in ("client_code", "session_date")}
        with self.db.write() as c:
            stored = dict(c.execute(f"SELECT * FROM {table} WHERE id = ?", (row["id"],)).fetchone())
            if stored != before:  # another window or process changed it since it was read
                raise MovekitError(f"{word} {row['id']} was changed meanwhile: look at it again - nothing was saved")
            c.execute(
                "INSERT INTO record_history (kind, record_id, action, before_json, who, reason, changed_utc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, row["id"], action, json.dumps(before), who, reason, now),
            )
            c.execute(f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in updates)} WHERE id = ?",
                      (*updates.values(), row["id"]))  # fmt: skip
        return self.record(kind, row["id"])

    def history(self, kind: str, record_id: int) -> list[dict]:
        """Every version of a record, oldest first: ``{"action"`` (created, amend, rename, remove),
        ``"when"`` (UTC), ``"who"``, ``"reason"``, ``"values"`` (the record after this step) and
        ``"changed"`` (field -> (before, after))``}``; the last entry is the record as it is now."""
        now = self.record(kind, record_id)
        rows = _dicts(self.db.read(
            "SELECT * FROM record_history WHERE kind = ? AND record_id = ? ORDER BY id", (kind, int(record_id))))  # fmt: skip
        versions = [json.loads(r["before_json"]) for r in rows] + [now]
        out = [{"action": "created", "when": now["created_utc"], "who": "", "reason": "", "values": versions[0],
                "changed": {}}]  # fmt: skip
        for r, before, after in zip(rows, versions, versions[1:]):
            changed = {k: (before.get(k), after.get(k)) for k in before
                       if k not in ("updated_utc", "removed_utc", "removed_reason") and before.get(k) != after.get(k)}  # fmt: skip
            out.append({"action": r["action"], "when": r["changed_utc"], "who": r["who"], "reason": r["reason"],
                        "values": after, "changed": changed})  # fmt: skip
        return out

    # ------------------------------------------------------------ home program
    def add_program_item(
        self,
        code: str,
        name: str,
        *,
        kind: str = "exercise",
        drill_id: str | None = None,
        sets: int | None = None,
        reps: int | None = None,
        hold_s: float | None = None,
        per_week: int = 7,
        notes: str = "",
        date=None,
    ) -> dict:
        if kind not in ("drill", "exercise"):
            raise MovekitError(f"program item kind {kind!r} is not drill or exercise")
        if not (1 <= int(per_week) <= 21):
            raise MovekitError(f"frequency {per_week} per week is out of range 1-21")
        _check_counts(sets=sets, reps=reps, hold_s=hold_s)
        cid = self.client(code)["id"]
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO program_items (client_id, name, kind, drill_id, sets, reps, hold_s, per_week, "
                "notes, assigned_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, name, kind, drill_id, sets, reps, hold_s, int(per_week), notes or "", _date(date)),
            )
            iid = cur.lastrowid
        return self.program_item(iid)

    def program_item(self, item_id: int) -> dict:
        rows = self.db.read(
            "SELECT p.*, c.code AS client_code FROM program_items p "
            "JOIN clients c ON c.id = p.client_id WHERE p.id = ?",
            (int(item_id),),
        )
        if not rows:
            raise MovekitError(f"no home-program item {item_id} in {self.path}")
        return dict(rows[0])

    def end_program_item(self, item_id: int, date=None) -> None:
        self.program_item(item_id)
        with self.db.write() as c:
            c.execute("UPDATE program_items SET ended_date = ? WHERE id = ?", (_date(date), int(item_id)))

    def program_items(self, code: str, active_on=None) -> list[dict]:
        cid = self.client(code)["id"]
        rows = _dicts(self.db.read("SELECT * FROM program_items WHERE client_id = ? ORDER BY id", (cid,)))
        if active_on is not None:
            d = _date(active_on)
            rows = [r for r in rows if r["assigned_date"] <= d and (r["ended_date"] is None or r["ended_date"] >= d)]
        return rows

    def add_program_log(
        self,
        item_id: int,
        *,
        done: bool = True,
        date=None,
        sets: int | None = None,
        reps: int | None = None,
        pain_0_10: float | None = None,
        difficulty_0_10: float | None = None,
        notes: str = "",
        source: str = "manual",
    ) -> int:
        _check_counts(sets=sets, reps=reps)
        for label, v in (("pain", pain_0_10), ("difficulty", difficulty_0_10)):
            if v is not None and not (0 <= float(v) <= 10):
                raise MovekitError(f"{label} {v} is outside 0-10")
        self.program_item(item_id)
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO program_logs (item_id, log_date, done, sets, reps, pain_0_10, difficulty_0_10, "
                "notes, source, created_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(item_id),
                    _past_date(date, "home-program log"),
                    1 if done else 0,
                    sets,
                    reps,
                    pain_0_10,
                    difficulty_0_10,
                    notes or "",
                    source,
                    utc_now(),
                ),
            )
            return cur.lastrowid

    def program_logs(self, code: str) -> list[dict]:
        cid = self.client(code)["id"]
        return _dicts(
            self.db.read(
                "SELECT l.*, p.name AS item_name FROM program_logs l JOIN program_items p ON p.id = l.item_id "
                "WHERE p.client_id = ? ORDER BY l.log_date, l.id",
                (cid,),
            )
        )

    # ------------------------------------------------------ paired devices, MVC
    def add_paired_device(
        self, code: str, address: str, profile: str, label: str, channels: dict[str, str] | None = None, name: str = ""
    ) -> dict:
        """Pair a BLE device with ``code`` (replacing the device of the same label).

        ``channels``: EMG channel name -> muscle (``{"ch1": "vmo"}``). Refused: the address paired
        under another label, a channel or a muscle already on another of the client's devices.
        """
        cid = self.client(code)["id"]
        channels = dict(channels or {})
        for d in self.paired_devices(code):
            if d["label"] == label:
                continue
            if d["address"] == address:
                raise MovekitError(f"{address} is already paired as {d['label']!r}; remove that first")
            clash = set(d["channels"]) & set(channels)
            if clash:  # a drill maps channel names to muscles over all of a client's devices
                raise MovekitError(f"channel {sorted(clash)[0]} already has a muscle on {d['label']!r}")
            if set(d["channels"].values()) & set(channels.values()):
                raise MovekitError(f"a muscle of {label!r} is already measured by {d['label']!r}")
        with self.db.write() as c:
            c.execute(
                "DELETE FROM device_channels WHERE device_id IN "
                "(SELECT id FROM paired_devices WHERE client_id = ? AND label = ?)",
                (cid, label),
            )
            c.execute("DELETE FROM paired_devices WHERE client_id = ? AND label = ?", (cid, label))
            cur = c.execute(
                "INSERT INTO paired_devices (client_id, address, profile, label, name, paired_utc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (cid, address, profile, label, name or "", utc_now()),
            )
            c.executemany(
                "INSERT INTO device_channels (device_id, channel, muscle) VALUES (?, ?, ?)",
                [(cur.lastrowid, ch, m) for ch, m in channels.items()],
            )
        return next(d for d in self.paired_devices(code) if d["label"] == label)

    def paired_devices(self, code: str) -> list[dict]:
        """The client's paired devices, each with ``channels`` (channel -> muscle), by label."""
        cid = self.client(code)["id"]
        devices = _dicts(self.db.read("SELECT * FROM paired_devices WHERE client_id = ? ORDER BY label", (cid,)))
        for d in devices:
            rows = self.db.read(
                "SELECT channel, muscle FROM device_channels WHERE device_id = ? ORDER BY channel", (d["id"],)
            )
            d["channels"] = {r["channel"]: r["muscle"] for r in rows}
        return devices

    def remove_paired_device(self, code: str, label: str) -> bool:
        """Unpair the client's device ``label``; False when there was none."""
        cid = self.client(code)["id"]
        with self.db.write() as c:
            c.execute(
                "DELETE FROM device_channels WHERE device_id IN "
                "(SELECT id FROM paired_devices WHERE client_id = ? AND label = ?)",
                (cid, label),
            )
            return c.execute("DELETE FROM paired_devices WHERE client_id = ? AND label = ?", (cid, label)).rowcount > 0

    def add_mvc(
        self,
        code: str,
        mvc_uv: dict[str, float],
        *,
        channels: dict[str, str] | None = None,
        recorded_utc: str | None = None,
        duration_s: float | None = None,
        recording_path: str | os.PathLike | None = None,
        source: str = "studio",
    ) -> dict:
        """Store an MVC recording: the reference amplitude (uV, > 0) per muscle; ``channels``:
        muscle -> the device channel it was measured on. Returns :meth:`latest_mvc`."""
        cid = self.client(code)["id"]
        if not mvc_uv:
            raise MovekitError("an MVC recording needs at least one muscle's value")
        for muscle, v in mvc_uv.items():
            if not (math.isfinite(float(v)) and float(v) > 0):
                raise MovekitError(f"MVC of {muscle} is {v} uV: it must be a positive number")
        path = str(Path(recording_path).resolve()) if recording_path is not None else None
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO mvc_recordings (client_id, recorded_utc, duration_s, recording_path, source) "
                "VALUES (?, ?, ?, ?, ?)",
                (cid, recorded_utc or utc_now(), duration_s, path, source),
            )
            c.executemany(
                "INSERT INTO mvc_values (mvc_id, muscle, channel, mvc_uv) VALUES (?, ?, ?, ?)",
                [(cur.lastrowid, m, (channels or {}).get(m), float(v)) for m, v in mvc_uv.items()],
            )
        return self.latest_mvc(code)

    def latest_mvc(self, code: str) -> dict | None:
        """The client's newest MVC recording: ``mvc_uv`` (muscle -> uV), ``channels``,
        ``recorded_utc``, ``duration_s``, ``recording_path``, ``source``; None before the first."""
        cid = self.client(code)["id"]
        rows = self.db.read(
            "SELECT * FROM mvc_recordings WHERE client_id = ? ORDER BY recorded_utc DESC, id DESC LIMIT 1", (cid,)
        )
        if not rows:
            return None
        out = dict(rows[0])
        vals = self.db.read("SELECT * FROM mvc_values WHERE mvc_id = ? ORDER BY muscle", (out["id"],))
        out["mvc_uv"] = {r["muscle"]: r["mvc_uv"] for r in vals}
        out["channels"] = {r["muscle"]: r["channel"] for r in vals if r["channel"]}
        return out


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


#: the flag code a result computed in research mode carries (``movekit assess --ungated``:
#: angles over their error limit were not refused; movekit.assess._pose)
RESEARCH_FLAG = "ungated"


def result_refusals(result: dict) -> list[str]:
    """Why an assessment result is not a clinical result, one reason each: every failed validity
    check (``validity``: name -> ``{"ok": ..., "message": ...}``, as
    :meth:`movekit.assess.result.AssessmentResult.to_json` writes) and research mode (a flag with code
    :data:`RESEARCH_FLAG`). Empty for a clinical result; a result without checks has none."""
    checks = result.get("validity") or {}
    out = [
        f"{name}: {c.get('message') or 'check failed'}"
        for name, c in (checks.items() if isinstance(checks, dict) else ())
        if isinstance(c, dict) and not c.get("ok", True)
    ]
    if any(isinstance(f, dict) and f.get("code") == RESEARCH_FLAG for f in result.get("flags") or []):
        out.append("research mode (--ungated): angles over their error limit were not refused")
    return out


def check_client_code(code: str) -> str:
    """A new client's pseudonymous id, stripped: letters, digits, '.', '_' or '-', not starting with
    '.' (:func:`movekit.argtypes.check_safe_name`): it names report files and studio URLs. The
    entry points (``movekit client add``, the studio) check it; codes stored before are still read."""
    from movekit.argtypes import check_safe_name

    return check_safe_name((code or "").strip(), "client id")


def result_is_valid(result: dict) -> bool:
    """Whether an assessment result counts as a clinical result (:func:`result_refusals` is empty)."""
    return not result_refusals(result)


def load_assessment_result(result: dict | str | os.PathLike) -> dict:
    """An assessment result as a dict: ``result`` itself, JSON text or a .json file's content.
    Raises :class:`MovekitError` (one line) when it cannot be read or is not a JSON object."""
    if not isinstance(result, dict):
        text = str(result)
        if not text.lstrip().startswith("{"):
            try:
                text = Path(text).read_text(encoding="utf-8")
            except OSError as exc:
                raise MovekitError(f"cannot read assessment result {result}: {exc}") from None
            except UnicodeDecodeError:
                raise MovekitError(f"assessment result {result} is not UTF-8 text") from None
        try:
            result = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MovekitError(f"assessment result is not valid JSON: {exc}") from None
    if not isinstance(result, dict):
        raise MovekitError(f"an assessment result is a JSON object, not a {type(result).__name__}")
    return result


def check_assessment_result(result: dict) -> None:
    """Raise :class:`MovekitError` unless ``result`` has the shape of an assessment result of a known
    test (:meth:`movekit.assess.result.AssessmentResult.to_json`): ``test`` one of
    :data:`movekit.assess.TESTS` or ``fms``; ``metrics`` an object of ``{"value", "unit"}`` with a
    known unit; ``validity`` an object of checks with ``ok``; ``flags`` a list."""
    from movekit.assess import TESTS
    from movekit.assess.result import UNIT_SUFFIX

    test = result.get("test")
    if test not in (*TESTS, "fms"):
        raise MovekitError(f"not an assessment result of a known test (test {test!r}; known: {', '.join(TESTS)}, fms)")
    metrics, checks = result.get("metrics"), result.get("validity")
    if not isinstance(metrics, dict) or not isinstance(checks, dict) or not isinstance(result.get("flags"), list):
        raise MovekitError(f"not a {test} assessment result: it needs a 'metrics' and a 'validity' object and 'flags'")
    bad = [
        n for n, m in metrics.items() if not isinstance(m, dict) or "value" not in m or m.get("unit") not in UNIT_SUFFIX
    ]
    bad += [n for n, c in checks.items() if not isinstance(c, dict) or not isinstance(c.get("ok"), bool)]
    if bad:
        raise MovekitError(f"not a {test} assessment result: {', '.join(map(str, bad[:3]))} malformed")


def history_lines(history: list[dict]) -> list[str]:
    """A record's :meth:`Store.history` in words, one line per version: when, what, who, why and
    the fields that changed ("intensity_0_10 6 -> 4")."""

    def fmt(v) -> str:
        return "-" if v is None or v == "" else (f"{v:g}" if isinstance(v, float) else str(v))

    out = []
    for h in history:
        if h["action"] == "created":
            out.append(f"{h['when']}  created")
            continue
        what = "; ".join(f"{k} {fmt(a)} -> {fmt(b)}" for k, (a, b) in h["changed"].items())
        verb = {"amend": "amended", "remove": "removed", "rename": "renamed"}[h["action"]]
        out.append(f"{h['when']}  {verb} by {h['who']}" + (f": {what}" if what else "") + f" (reason: {h['reason']})")
    return out
