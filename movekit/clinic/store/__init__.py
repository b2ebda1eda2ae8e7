"""Progress store: one SQLite file holding clients, sessions, linked recordings,
assessment results, outcome measures and home-program logs.

>>> from movekit.clinic.store import Store
>>> with Store("/tmp/clinic.sqlite3") as st:           # doctest: +SKIP
...     st.add_client("C-0042")
...     s = st.start_session("C-0042", "baseline")

The default file is ``movekit.sqlite3`` in the user's data directory; ``--db`` or
``MOVEKIT_DB`` point elsewhere.
"""

from __future__ import annotations

from movekit.clinic.store.db import (
    DEFAULT_BUSY_TIMEOUT_S,
    ENV_DB,
    MIGRATIONS,
    SCHEMA_VERSION,
    Database,
    default_db_path,
    existing_db_path,
)
from movekit.clinic.store.models import RECORD_TABLES, SESSION_TYPES, Store, history_lines, meta_sha256

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_S",
    "ENV_DB",
    "MIGRATIONS",
    "RECORD_TABLES",
    "SCHEMA_VERSION",
    "SESSION_TYPES",
    "Database",
    "Store",
    "add_db_argument",
    "default_db_path",
    "history_lines",
    "meta_sha256",
    "store_from_args",
]


def add_db_argument(parser) -> None:
    """Add ``--db PATH`` to a CLI (sub)parser."""
    parser.add_argument(
        "--db", metavar="PATH", default=None, help=f"progress database (default: ${ENV_DB} or {default_db_path()})"
    )


def store_from_args(args, *, read_only: bool = False, **kwargs) -> Store:
    """The store of ``--db`` (or ``$MOVEKIT_DB``, or the default file).

    Parameters
    ----------
    args : the parsed arguments (``db``)
    read_only : the command only reads: a missing or empty database is refused in one line
        (:func:`existing_db_path`), never created
    kwargs : passed to :class:`Store`
    """
    path = getattr(args, "db", None) or None
    if read_only:
        path = existing_db_path(path)
    return Store(path, **kwargs)
