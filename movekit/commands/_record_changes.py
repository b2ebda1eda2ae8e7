"""What the goal, pain-map and treatment commands share: ``amend``, ``remove`` and ``history`` of a
stored record (schema v9 keeps every earlier version with who, when and why), and the note on an old
region name. Not a command itself (the CLI skips modules whose name starts with ``_``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from movekit.argtypes import row_id
from movekit.clinic.regions import rename_note
from movekit.clinic.store import add_db_argument


def add_change_commands(
    sub,
    *,
    record: str,
    id_name: str,
    listed_by: str,
    amend_help: str,
    history_help: str,
    amend_options: Callable,
    amend: Callable,
    remove: Callable,
    history: Callable,
) -> None:
    """Add ``amend`` (``amend_options(parser)`` adds what can change), ``remove`` and ``history`` to
    ``sub``, each taking the record's id as ``id_name``; ``--reason`` is required to change anything."""
    m = sub.add_parser("amend", help=amend_help)
    m.add_argument(id_name, type=row_id, help=f"{record} id ({listed_by})")
    amend_options(m)
    m.add_argument("--reason", required=True, help="why it is changed (kept in the history)")
    m.add_argument("--who", help="who changes it (default: the system user)")
    add_db_argument(m)
    m.set_defaults(func=amend)
    r = sub.add_parser("remove", help=f"remove a {record} (it stays stored, marked removed, with the reason)")
    r.add_argument(id_name, type=row_id, help=f"{record} id ({listed_by})")
    r.add_argument("--reason", required=True, help="why it is removed (kept in the history)")
    r.add_argument("--who", help="who removes it (default: the system user)")
    add_db_argument(r)
    r.set_defaults(func=remove)
    h = sub.add_parser("history", help=history_help)
    h.add_argument(id_name, type=row_id, help=f"{record} id")
    add_db_argument(h)
    h.set_defaults(func=history)


def note_old_region_name(region: str | None) -> None:
    """Say on stderr when ``region`` is a name from before the one vocabulary (it is still accepted)."""
    note = rename_note(region) if region else None
    if note:
        print(f"movekit: note: {note}", file=sys.stderr)
