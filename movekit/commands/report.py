"""``movekit report CLIENT -o report.html``: one self-contained HTML report."""

from __future__ import annotations

import re

from movekit.argtypes import row_id
from movekit.clinic.store import add_db_argument, default_db_path, store_from_args
from movekit.errors import MovekitError
from movekit.outputs import HTML, add_overwrite_argument, check_output


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write a client's progress report (or one session's) as HTML")
    p.add_argument("client", help="client id")
    p.add_argument("-o", "--out", default=None, help="output .html (default: <client>-report.html)")
    p.add_argument("--session", type=row_id, default=None, help="report on this session only")
    p.add_argument("--hide-name", action="store_true", help="leave the client's name out (pseudonymous id only)")
    p.add_argument(
        "--clinic",
        default=None,
        metavar="TOML",
        help="clinic header of the first page: a TOML file with name, address, phone, email, website, logo",
    )
    p.add_argument(
        "--notes",
        default=None,
        help="therapist notes for the first page (default: the latest session's notes in the store)",
    )
    p.add_argument(
        "--no-summary",
        action="store_true",
        help="leave out the one-page client and referrer summary (technical report only)",
    )
    add_overwrite_argument(p, "reports")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.report import build_client_report, build_session_report
    from movekit.report.clinic import load_clinic

    stem = re.sub(r"[^A-Za-z0-9._-]", "_", args.client).lstrip(".") or "client"  # stays in this folder
    default = f"{stem}-session-{args.session}.html" if args.session is not None else f"{stem}-report.html"
    db = args.db or default_db_path()
    inputs = [db, f"{db}-wal", f"{db}-shm"] + ([args.clinic] if args.clinic else [])
    out = check_output(args.out or default, HTML, overwrite=args.overwrite, inputs=inputs)
    if args.session is not None and (args.clinic or args.notes or args.no_summary):
        raise MovekitError("--clinic, --notes and --no-summary apply to the client report, not to --session")
    clinic = load_clinic(args.clinic) if args.clinic else None  # a bad file stops here, before anything is written
    with store_from_args(args, read_only=True) as st:
        st.client(args.client)
        if args.session is not None:
            s = st.session(args.session)
            if s["client_code"] != args.client:
                raise MovekitError(f"session {args.session} belongs to {s['client_code']}, not {args.client}")
            out = build_session_report(st, args.session, out)
        else:
            out = build_client_report(
                st,
                args.client,
                out,
                show_name=not args.hide_name,
                summary=not args.no_summary,
                clinic=clinic,
                notes=args.notes,
            )
    print(f"wrote {out}")
    return 0
