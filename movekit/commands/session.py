"""``movekit session start|end|list|link|add-result``: treatment sessions."""

from __future__ import annotations

from movekit.argtypes import iso_date, row_id
from movekit.clinic.store import SESSION_TYPES, add_db_argument, store_from_args
from movekit.errors import MovekitError


def register(subparsers) -> None:
    p = subparsers.add_parser("session", help="start, end and list a client's sessions")
    sub = p.add_subparsers(dest="session_cmd", metavar="ACTION", required=True)

    s = sub.add_parser("start", help="start a session (prints its id)")
    s.add_argument("client")
    s.add_argument("--type", choices=SESSION_TYPES, default="treatment")
    s.add_argument("--date", type=iso_date, default=None, help="YYYY-MM-DD (default today)")
    s.add_argument("--notes", default="", help="therapist notes")
    add_db_argument(s)
    s.set_defaults(func=_start)

    e = sub.add_parser("end", help="end a session")
    e.add_argument("client", help="client id (ends the client's open session)")
    e.add_argument("--session", type=row_id, default=None, help="session id (default: the open one)")
    e.add_argument("--notes", default=None, help="notes to add")
    add_db_argument(e)
    e.set_defaults(func=_end)

    ls = sub.add_parser("list", help="list a client's sessions")
    ls.add_argument("client")
    add_db_argument(ls)
    ls.set_defaults(func=_list)

    ln = sub.add_parser("link", help="link a recording directory (*.mkrec) to a session")
    ln.add_argument("session", type=row_id)
    ln.add_argument("recording")
    add_db_argument(ln)
    ln.set_defaults(func=_link)

    r = sub.add_parser("add-result", help="store an assessment result JSON file with a session")
    r.add_argument("session", type=row_id)
    r.add_argument("result", nargs="+", help="result .json file(s)")
    add_db_argument(r)
    r.set_defaults(func=_add_result)

    d = sub.add_parser("due", help="is a re-assessment due? (every 4-6 sessions by default)")
    d.add_argument("client", nargs="?", default=None, help="client id (default: every client)")
    add_db_argument(d)
    d.set_defaults(func=_due)

    c = sub.add_parser("compare", help="baseline vs latest for every metric and outcome measure")
    c.add_argument("client")
    c.add_argument("--baseline", type=row_id, default=None, help="baseline session id")
    c.add_argument("--current", type=row_id, default=None, help="current session id")
    add_db_argument(c)
    c.set_defaults(func=_compare)


def _start(args) -> int:
    with store_from_args(args) as st:
        prev = st.open_session(args.client)
        if prev is not None:  # one open session per client: results and links go to the right one
            raise MovekitError(
                f"session {prev['id']} of {args.client} ({prev['session_date']}) is still open; end it first "
                f"with: movekit session end {args.client} --session {prev['id']}"
            )
        s = st.start_session(args.client, args.type, args.date, args.notes)
        print(f"started {s['type']} session {s['id']} for {s['client_code']} on {s['session_date']}")
    return 0


def _end(args) -> int:
    with store_from_args(args) as st:
        if args.client.isdigit() and not any(c["code"] == args.client for c in st.clients()):
            raise MovekitError(
                f"{args.client} is not a client id: session end takes the client, e.g. "
                f"movekit session end C-0042 --session {args.client}"
            )
        if args.session is None:
            s = st.open_session(args.client)
            if s is None:
                raise MovekitError(f"client {args.client} has no open session")
        else:
            s = st.session(args.session)
            if s["client_code"] != args.client:
                raise MovekitError(f"session {args.session} belongs to {s['client_code']}, not {args.client}")
        s = st.end_session(s["id"], args.notes)
        print(f"ended session {s['id']} for {s['client_code']}")
    return 0


def _list(args) -> int:
    with store_from_args(args, read_only=True) as st:
        rows = st.sessions(args.client)
        if not rows:
            print(f"client {args.client} has no sessions")
            return 0
        print(f"{'id':>5}  {'date':<10}  {'type':<12} {'open':<5} {'tests':>5} {'recs':>4}  notes")
        for r in rows:
            notes = (r["therapist_notes"] or "").replace("\n", " ")
            print(
                f"{r['id']:>5}  {r['session_date']:<10}  {r['type']:<12} {'yes' if not r['ended_utc'] else '':<5} "
                f"{r['n_assessments']:>5} {r['n_recordings']:>4}  {notes[:60]}"
            )
    return 0


def _link(args) -> int:
    import json
    from pathlib import Path

    with store_from_args(args) as st:
        r = st.link_recording(args.session, args.recording)
        print(f"linked {r['path']} to session {args.session} (meta.json sha256 {r['meta_sha256'][:12]})")
        try:
            closed = json.loads((Path(r["path"]) / "meta.json").read_text()).get("closed", True)
        except (OSError, ValueError, AttributeError):
            closed = True
        if not closed:
            print(
                "note: the recording is not closed yet (still recording, or it crashed); link it again "
                "once it is closed, or reports will say it changed since it was linked"
            )
    return 0


def _add_result(args) -> int:
    """Store each result file after checking them all: a file that is not an assessment result of a
    known test stores nothing; one NOT VALID or computed in research mode is stored and says why it
    does not count."""
    from movekit.clinic.store.models import check_assessment_result, load_assessment_result, result_refusals

    results = []
    for f in args.result:
        try:
            r = load_assessment_result(f)
            check_assessment_result(r)
        except MovekitError as exc:
            raise MovekitError(f"{f}: {exc}; nothing stored") from None
        results.append((f, r))
    with store_from_args(args) as st:
        for f, r in results:
            aid = st.add_assessment(args.session, r)
            why = result_refusals(r)
            print(
                f"stored {f} as assessment {aid} of session {args.session}"
                + (
                    f": NOT VALID ({'; '.join(why)}), kept with the session, its metrics left out of "
                    "progress comparisons and the report's plots"
                    if why
                    else ""
                )  # fmt: skip
            )
    return 0


def _due(args) -> int:
    from movekit.clinic import reassess

    with store_from_args(args, read_only=True) as st:
        codes = [args.client] if args.client else [c["code"] for c in st.clients()]
        for code in codes:
            print(reassess.schedule(st, code).describe())
    return 0


def _fmt(v, nd=1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _compare(args) -> int:
    from movekit.clinic import reassess

    with store_from_args(args, read_only=True) as st:
        for flag, sid in (("--baseline", args.baseline), ("--current", args.current)):
            if sid is not None and (owner := st.session(sid)["client_code"]) != args.client:
                raise MovekitError(f"{flag} session {sid} belongs to {owner}, not {args.client}")
        if args.baseline is not None and args.baseline == args.current:
            raise MovekitError(f"--baseline and --current are both session {args.baseline}: nothing to compare")
        cmp = reassess.compare(st, args.client, args.baseline, args.current)
        if not cmp.metrics and not cmp.outcomes and not cmp.not_compared:
            print(f"nothing to compare for {args.client} yet")
            return 0
        for m in cmp.metrics:
            pct = "" if m.change_pct is None else f" ({m.change_pct:+.0f}%)"
            chg = "-" if m.change is None else f"{m.change:+.1f}"
            verdict = {True: "beyond noise", False: "within noise", None: ""}[m.beyond_noise]
            print(
                f"{m.test}/{m.name}: {_fmt(m.baseline)} (session {m.baseline_session_id}, {m.baseline_date}) -> "
                f"{_fmt(m.current)} (session {m.current_session_id}, {m.current_date}) {m.unit}  {chg}{pct}  "
                f"[{m.floor_text()}] {verdict}"
            )
        for line in cmp.not_compared:
            print(line)
        for o in cmp.outcomes:
            ch = o.change
            if o.n < 2:
                print(f"{o.title}: {ch.baseline:.1f} on {o.baseline_date} (one score so far)")
                continue
            if o.not_comparable:
                print(f"{o.title}: {ch.baseline:.1f} ({o.baseline_date}), {ch.current:.1f} ({o.current_date}): "
                      f"{o.not_comparable}")  # fmt: skip
                continue
            pct = "" if ch.change_pct is None else f" ({ch.change_pct:+.0f}%)"
            print(
                f"{o.title}: {ch.baseline:.1f} ({o.baseline_date}) -> {ch.current:.1f} ({o.current_date})  "
                f"{ch.change:+.1f}{pct}  "
                f"[MCID {ch.mcid.describe()}] {ch.verdict()}"
            )
    return 0
