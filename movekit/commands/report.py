"""``movekit report CLIENT -o report.html``: one self-contained HTML report."""

from __future__ import annotations

from movekit.errors import MovekitError
from movekit.store import add_db_argument, store_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write a client's progress report (or one session's) as HTML")
    p.add_argument("client", help="client id")
    p.add_argument("-o", "--out", default=None, help="output .html (default: <client>-report.html)")
    p.add_argument("--session", type=int, default=None, help="report on this session only")
    p.add_argument("--hide-name", action="store_true", help="leave the client's name out (pseudonymous id only)")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.report import build_client_report, build_session_report

    with store_from_args(args) as st:
        st.client(args.client)
        if args.session is not None:
            s = st.session(args.session)
            if s["client_code"] != args.client:
                raise MovekitError(f"session {args.session} belongs to {s['client_code']}, not {args.client}")
            out = build_session_report(st, args.session, args.out or f"{args.client}-session-{args.session}.html")
        else:
            out = build_client_report(st, args.client, args.out or f"{args.client}-report.html",
                                      show_name=not args.hide_name)
    print(f"wrote {out}")
    return 0
