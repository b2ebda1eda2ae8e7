"""``movekit audit [--since DATE] -o audit.html``: the clinic's de-identified outcome audit."""

from __future__ import annotations

from movekit.argtypes import iso_date
from movekit.clinic.store import add_db_argument, store_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("audit", help="clinic-level, de-identified change in outcomes against their MCIDs")
    p.add_argument("--since", type=iso_date, default=None, metavar="YYYY-MM-DD", help="scores from this day on")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html", help="the audit page to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing audit page")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.clinic.audit import audit, audit_html
    from movekit.clinic.store.db import default_db_path
    from movekit.outputs import HTML, check_output, write_output

    out = check_output(args.output, HTML, overwrite=args.overwrite, inputs=[args.db or default_db_path()])
    with store_from_args(args, read_only=True) as st:
        rows = audit(st, args.since)
    write_output(out, audit_html(rows, args.since))
    for r in rows:
        print(f"{r.measure}: {r.clients} clients, median change {r.median_change:+.1f}, "
              f"{r.improved} improved beyond the MCID, {r.worse} worse")  # fmt: skip
    print(f"audit: {out}")
    return 0
