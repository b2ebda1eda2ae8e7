"""``movekit client add|list``: clients in the progress store."""

from __future__ import annotations

from movekit.clinic.store import add_db_argument, store_from_args
from movekit.clinic.store.models import check_client_code


def register(subparsers) -> None:
    p = subparsers.add_parser("client", help="add and list clients in the progress store")
    sub = p.add_subparsers(dest="client_cmd", metavar="ACTION", required=True)

    a = sub.add_parser("add", help="add a client by pseudonymous id")
    a.add_argument("code", help="pseudonymous client id, e.g. C-0042")
    a.add_argument("--name", default=None, help="optional name (stored in the database file)")
    a.add_argument(
        "--reassess", metavar="MIN-MAX", default=None, help="re-assess every MIN-MAX sessions (default 4-6), or N"
    )
    add_db_argument(a)
    a.set_defaults(func=_add)

    ls = sub.add_parser("list", help="list clients")
    add_db_argument(ls)
    ls.set_defaults(func=_list)


def _parse_window(text: str) -> tuple[int, int]:
    from movekit.errors import MovekitError

    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
        else:
            lo = hi = int(text)
    except ValueError:
        raise MovekitError(f"--reassess {text!r} is not N or MIN-MAX") from None
    return lo, hi


def _add(args) -> int:
    lo, hi = _parse_window(args.reassess) if args.reassess else (4, 6)
    code = check_client_code(args.code)  # before the database is opened (or made)
    with store_from_args(args) as st:
        c = st.add_client(code, args.name, reassess_min_sessions=lo, reassess_max_sessions=hi)
        window = f"{lo}-{hi}" if lo != hi else f"{lo}"
        name = f" ({c['name']})" if c["name"] else ""
        print(f"added client {c['code']}{name} to {st.path}; re-assess every {window} sessions")
    return 0


def _list(args) -> int:
    with store_from_args(args, read_only=True) as st:
        rows = st.clients()
        if not rows:
            print(f"no clients in {st.path}")
            return 0
        print(f"{'client':<14} {'name':<22} {'sessions':>8}  last session")
        for r in rows:
            print(f"{r['code']:<14} {(r['name'] or ''):<22} {r['n_sessions']:>8}  {r['last_session'] or '-'}")
    return 0
