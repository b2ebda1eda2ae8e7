"""``movekit report CLIENT -o report.html``: one self-contained HTML report."""

from __future__ import annotations

import re

from movekit.argtypes import row_id
from movekit.errors import MovekitError
from movekit.outputs import HTML, add_overwrite_argument, check_output
from movekit.store import add_db_argument, default_db_path, store_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write a client's progress report (or one session's) as HTML")
    p.add_argument("client", help="client id")
    p.add_argument("-o", "--out", default=None, help="output .html (default: <client>-report.html)")
    p.add_argument("--session", type=row_id, default=None, help="report on this session only")
    p.add_argument("--hide-name", action="store_true", help="leave the client's name out (pseudonymous id only)")
    add_overwrite_argument(p, "reports")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.report import build_client_report, build_session_report

    stem = re.sub(r"[^A-Za-z0-9._-]", "_", args.client).lstrip(".") or "client"  # stays in this folder
    default = f"{stem}-session-{args.session}.html" if args.session is not None else f"{stem}-report.html"
    db = args.db or default_db_path()
    out = check_output(args.out or default, HTML, overwrite=args.overwrite, inputs=[db, f"{db}-wal", f"{db}-shm"])
    with store_from_args(args) as st:
        st.client(args.client)
        if args.session is not None:
            s = st.session(args.session)
            if s["client_code"] != args.client:
                raise MovekitError(f"session {args.session} belongs to {s['client_code']}, not {args.client}")
            out = build_session_report(st, args.session, out)
        else:
            out = build_client_report(st, args.client, out, show_name=not args.hide_name)
    print(f"wrote {out}")
    return 0
