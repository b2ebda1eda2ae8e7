"""SQLite connection, durability settings, error mapping and schema migrations.

One file, no server. Every write runs in its own ``BEGIN IMMEDIATE`` transaction
(:meth:`Database.write`), so an entry is either fully stored or not at all, and a
killed process leaves the previous consistent state (SQLite's journal does the
rest). The journal is WAL with ``synchronous=FULL``: a committed entry survives a
power cut, and a report reading the file never blocks the therapist writing to it.

Migrations are an ordered list of SQL scripts; ``PRAGMA user_version`` holds the
number applied. Opening a database runs the missing ones inside one write
transaction (DDL is transactional in SQLite), after copying the old file to
``<db>.bak-v<N>`` when it already holds data. A database written by a newer
movekit is refused, never silently downgraded.

Keep the file on a local disk: SQLite's WAL mode needs shared memory between the
processes using it and does not work on network shares.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from movekit.errors import MovekitError

#: Environment variable overriding the default database path.
ENV_DB = "MOVEKIT_DB"

#: How long a writer waits for another writer before giving up (seconds).
DEFAULT_BUSY_TIMEOUT_S = 10.0


# Each entry brings the schema from version i to i + 1. Never edit a released
# entry: append a new one.
MIGRATIONS: list[str] = [
    # v1: clients, sessions, linked recordings, assessment results, metrics, outcomes
    """
    CREATE TABLE clients (
        id            INTEGER PRIMARY KEY,
        code          TEXT NOT NULL UNIQUE,          -- pseudonymous id, e.g. "C-0042"
        name          TEXT,                          -- optional, may stay NULL
        created_utc   TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id              INTEGER PRIMARY KEY,
        client_id       INTEGER NOT NULL REFERENCES clients(id),
        session_date    TEXT NOT NULL,                -- ISO date, local clinic day
        type            TEXT NOT NULL CHECK (type IN ('baseline','treatment','reassessment','other')),
        started_utc     TEXT NOT NULL,
        ended_utc       TEXT,
        therapist_notes TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX sessions_client ON sessions(client_id, session_date);
    CREATE TABLE recordings (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER NOT NULL REFERENCES sessions(id),
        path         TEXT NOT NULL,                  -- absolute path of the *.mkrec directory
        meta_sha256  TEXT,                           -- SHA-256 of meta.json when linked
        linked_utc   TEXT NOT NULL,
        UNIQUE (session_id, path)
    );
    CREATE TABLE assessments (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER NOT NULL REFERENCES sessions(id),
        test         TEXT NOT NULL,
        result_json  TEXT NOT NULL,
        created_utc  TEXT NOT NULL
    );
    CREATE TABLE metrics (
        id             INTEGER PRIMARY KEY,
        assessment_id  INTEGER NOT NULL REFERENCES assessments(id),
        session_id     INTEGER NOT NULL REFERENCES sessions(id),
        test           TEXT NOT NULL,
        name           TEXT NOT NULL,
        value          REAL,
        unit           TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX metrics_lookup ON metrics(session_id, test, name);
    CREATE TABLE outcomes (
        id            INTEGER PRIMARY KEY,
        client_id     INTEGER NOT NULL REFERENCES clients(id),
        session_id    INTEGER REFERENCES sessions(id),
        measure       TEXT NOT NULL,
        taken_date    TEXT NOT NULL,
        score         REAL NOT NULL,
        n_answered    INTEGER,
        items_json    TEXT,
        created_utc   TEXT NOT NULL
    );
    CREATE INDEX outcomes_client ON outcomes(client_id, measure, taken_date);
    """,
    # v2: home program and its logs
    """
    CREATE TABLE program_items (
        id             INTEGER PRIMARY KEY,
        client_id      INTEGER NOT NULL REFERENCES clients(id),
        name           TEXT NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('drill','exercise')),
        drill_id       TEXT,                          -- protocol id when kind = 'drill'
        sets           INTEGER,
        reps           INTEGER,
        hold_s         REAL,
        per_week       INTEGER NOT NULL DEFAULT 7,    -- prescribed sessions per week
        notes          TEXT NOT NULL DEFAULT '',
        assigned_date  TEXT NOT NULL,
        ended_date     TEXT
    );
    CREATE INDEX program_items_client ON program_items(client_id);
    CREATE TABLE program_logs (
        id               INTEGER PRIMARY KEY,
        item_id          INTEGER NOT NULL REFERENCES program_items(id),
        log_date         TEXT NOT NULL,
        done             INTEGER NOT NULL CHECK (done IN (0, 1)),
        sets             INTEGER,
        reps             INTEGER,
        pain_0_10        REAL CHECK (pain_0_10 IS NULL OR (pain_0_10 BETWEEN 0 AND 10)),
        difficulty_0_10  REAL CHECK (difficulty_0_10 IS NULL OR (difficulty_0_10 BETWEEN 0 AND 10)),
        notes            TEXT NOT NULL DEFAULT '',
        source           TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual','guided')),
        created_utc      TEXT NOT NULL
    );
    CREATE INDEX program_logs_item ON program_logs(item_id, log_date);
    """,
    # v3: per-client re-assessment window (sessions since the last assessment)
    """
    ALTER TABLE clients ADD COLUMN reassess_min_sessions INTEGER NOT NULL DEFAULT 4;
    ALTER TABLE clients ADD COLUMN reassess_max_sessions INTEGER NOT NULL DEFAULT 6;
    """,
    # v4: goals as clinicians write them: a measure, a baseline, a target, a deadline, a context
    """
    CREATE TABLE goals (
        id            INTEGER PRIMARY KEY,
        client_id     INTEGER NOT NULL REFERENCES clients(id),
        measure       TEXT NOT NULL,                  -- outcome (e.g. "nprs") or "<test>:<metric>"
        baseline      REAL NOT NULL,
        target        REAL NOT NULL CHECK (target <> baseline),
        unit          TEXT NOT NULL DEFAULT '',
        set_date      TEXT NOT NULL,
        deadline      TEXT NOT NULL CHECK (deadline > set_date),
        context       TEXT NOT NULL DEFAULT '',       -- e.g. "during computer work"
        created_utc   TEXT NOT NULL
    );
    CREATE INDEX goals_client ON goals(client_id);
    """,
    # v5: the session's manual-therapy and movement log (movekit.clinic.treatment vocabularies)
    """
    CREATE TABLE treatments (
        id             INTEGER PRIMARY KEY,
        session_id     INTEGER NOT NULL REFERENCES sessions(id),
        part           TEXT NOT NULL CHECK (part IN ('manual','movement')),
        technique      TEXT NOT NULL,                  -- manual: a TECHNIQUES name; movement: the exercise
        region         TEXT,
        muscle         TEXT,
        side           TEXT,
        duration_min   REAL CHECK (duration_min IS NULL OR duration_min > 0),
        pressure_0_10  REAL CHECK (pressure_0_10 IS NULL OR (pressure_0_10 BETWEEN 0 AND 10)),
        sets           INTEGER CHECK (sets IS NULL OR sets >= 0),
        reps           INTEGER CHECK (reps IS NULL OR reps >= 0),
        feedback       TEXT,
        response       TEXT NOT NULL DEFAULT '',
        created_utc    TEXT NOT NULL
    );
    CREATE INDEX treatments_session ON treatments(session_id);
    """,
    # v6: pain map marks per session (movekit.clinic.painmap vocabularies)
    """
    CREATE TABLE pain_marks (
        id              INTEGER PRIMARY KEY,
        session_id      INTEGER NOT NULL REFERENCES sessions(id),
        region          TEXT NOT NULL,
        side            TEXT NOT NULL,
        intensity_0_10  REAL NOT NULL CHECK (intensity_0_10 BETWEEN 0 AND 10),
        quality         TEXT,
        created_utc     TEXT NOT NULL
    );
    CREATE INDEX pain_marks_session ON pain_marks(session_id);
    """,
    # v7: an outcome's item labels (PSFS: the activity the client named for each rating)
    """
    ALTER TABLE outcomes ADD COLUMN item_labels_json TEXT;
    """,
    # v8: a client's paired BLE devices (which muscle each EMG channel is on) and MVC recordings
    # (were the studio's devices.json and mvc.json; movekit.studio.home imports those once)
    """
    CREATE TABLE paired_devices (
        id           INTEGER PRIMARY KEY,
        client_id    INTEGER NOT NULL REFERENCES clients(id),
        address      TEXT NOT NULL,                  -- Bluetooth address, upper case
        profile      TEXT NOT NULL,                  -- decoding profile, e.g. generic_emg
        label        TEXT NOT NULL,                  -- where it is worn; names its streams
        name         TEXT NOT NULL DEFAULT '',       -- advertised name seen at pairing
        paired_utc   TEXT NOT NULL,
        UNIQUE (client_id, label),
        UNIQUE (client_id, address)
    );
    CREATE TABLE device_channels (
        device_id    INTEGER NOT NULL REFERENCES paired_devices(id) ON DELETE CASCADE,
        channel      TEXT NOT NULL,                  -- the device's EMG channel name, e.g. ch1
        muscle       TEXT NOT NULL,                  -- the role drills use, e.g. vmo
        PRIMARY KEY (device_id, channel)
    );
    CREATE TABLE mvc_recordings (
        id              INTEGER PRIMARY KEY,
        client_id       INTEGER NOT NULL REFERENCES clients(id),
        recorded_utc    TEXT NOT NULL,
        duration_s      REAL CHECK (duration_s IS NULL OR duration_s > 0),
        recording_path  TEXT,                        -- the MVC trial (NULL: imported from mvc.json)
        source          TEXT NOT NULL DEFAULT 'studio'
    );
    CREATE INDEX mvc_recordings_client ON mvc_recordings(client_id, recorded_utc);
    CREATE TABLE mvc_values (
        mvc_id       INTEGER NOT NULL REFERENCES mvc_recordings(id) ON DELETE CASCADE,
        muscle       TEXT NOT NULL,
        channel      TEXT,                           -- device channel it was measured on
        mvc_uv       REAL NOT NULL CHECK (mvc_uv > 0),
        PRIMARY KEY (mvc_id, muscle)
    );
    """,
    # v9: amend and remove with history (goals, pain marks, treatment entries: a removal is soft, the
    # earlier version of every change is kept in record_history with who, when and why); one region
    # vocabulary for the pain map and the treatment log (movekit.clinic.regions: the old names are
    # renamed, each renamed row's earlier version kept in record_history); a goal's baseline may be
    # left to the first result that arrives (goals rebuilt: baseline NULL allowed)
    """
    CREATE TABLE record_history (
        id           INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL CHECK (kind IN ('goal','pain_mark','treatment')),
        record_id    INTEGER NOT NULL,
        action       TEXT NOT NULL CHECK (action IN ('amend','remove','rename')),
        before_json  TEXT NOT NULL,                  -- the record as it was before this change
        who          TEXT NOT NULL,
        reason       TEXT NOT NULL CHECK (length(trim(reason)) > 0),
        changed_utc  TEXT NOT NULL
    );
    CREATE INDEX record_history_record ON record_history(kind, record_id, id);
    ALTER TABLE pain_marks ADD COLUMN updated_utc TEXT;
    ALTER TABLE pain_marks ADD COLUMN removed_utc TEXT;
    ALTER TABLE pain_marks ADD COLUMN removed_reason TEXT;
    ALTER TABLE treatments ADD COLUMN updated_utc TEXT;
    ALTER TABLE treatments ADD COLUMN removed_utc TEXT;
    ALTER TABLE treatments ADD COLUMN removed_reason TEXT;
    INSERT INTO record_history (kind, record_id, action, before_json, who, reason, changed_utc)
        SELECT 'pain_mark', id, 'rename', json_object('id', id, 'session_id', session_id, 'region', region, 'side', side, 'intensity_0_10', intensity_0_10, 'quality', quality, 'created_utc', created_utc),
               'movekit schema v9', 'one region vocabulary (movekit.clinic.regions): ' || region || ' -> ' ||
               CASE region WHEN 'neck' THEN 'cervical' WHEN 'upper_back' THEN 'thoracic' WHEN 'lower_back' THEN 'lumbar' WHEN 'buttock' THEN 'gluteal' WHEN 'hip_gluteal' THEN 'gluteal' WHEN 'foot' THEN 'ankle_foot' END, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        FROM pain_marks WHERE region IN ('neck', 'upper_back', 'lower_back', 'buttock', 'hip_gluteal', 'foot');
    UPDATE pain_marks SET region = CASE region WHEN 'neck' THEN 'cervical' WHEN 'upper_back' THEN 'thoracic' WHEN 'lower_back' THEN 'lumbar' WHEN 'buttock' THEN 'gluteal' WHEN 'hip_gluteal' THEN 'gluteal' WHEN 'foot' THEN 'ankle_foot' END WHERE region IN ('neck', 'upper_back', 'lower_back', 'buttock', 'hip_gluteal', 'foot');
    INSERT INTO record_history (kind, record_id, action, before_json, who, reason, changed_utc)
        SELECT 'treatment', id, 'rename', json_object('id', id, 'session_id', session_id, 'part', part, 'technique', technique, 'region', region, 'muscle', muscle, 'side', side, 'duration_min', duration_min, 'pressure_0_10', pressure_0_10, 'sets', sets, 'reps', reps, 'feedback', feedback, 'response', response, 'created_utc', created_utc),
               'movekit schema v9', 'one region vocabulary (movekit.clinic.regions): ' || region || ' -> ' ||
               CASE region WHEN 'neck' THEN 'cervical' WHEN 'upper_back' THEN 'thoracic' WHEN 'lower_back' THEN 'lumbar' WHEN 'buttock' THEN 'gluteal' WHEN 'hip_gluteal' THEN 'gluteal' WHEN 'foot' THEN 'ankle_foot' END, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        FROM treatments WHERE region IN ('neck', 'upper_back', 'lower_back', 'buttock', 'hip_gluteal', 'foot');
    UPDATE treatments SET region = CASE region WHEN 'neck' THEN 'cervical' WHEN 'upper_back' THEN 'thoracic' WHEN 'lower_back' THEN 'lumbar' WHEN 'buttock' THEN 'gluteal' WHEN 'hip_gluteal' THEN 'gluteal' WHEN 'foot' THEN 'ankle_foot' END WHERE region IN ('neck', 'upper_back', 'lower_back', 'buttock', 'hip_gluteal', 'foot');
    CREATE TABLE goals_v9 (
        id              INTEGER PRIMARY KEY,
        client_id       INTEGER NOT NULL REFERENCES clients(id),
        measure         TEXT NOT NULL,                -- outcome (e.g. "nprs") or "<test>:<metric>"
        baseline        REAL CHECK (baseline IS NULL OR baseline <> target),  -- NULL: the first result
        target          REAL NOT NULL,
        unit            TEXT NOT NULL DEFAULT '',
        set_date        TEXT NOT NULL,
        deadline        TEXT NOT NULL CHECK (deadline > set_date),
        context         TEXT NOT NULL DEFAULT '',
        created_utc     TEXT NOT NULL,
        updated_utc     TEXT,
        removed_utc     TEXT,
        removed_reason  TEXT
    );
    INSERT INTO goals_v9 (id, client_id, measure, baseline, target, unit, set_date, deadline, context, created_utc)
        SELECT id, client_id, measure, baseline, target, unit, set_date, deadline, context, created_utc FROM goals;
    DROP TABLE goals;
    ALTER TABLE goals_v9 RENAME TO goals;
    CREATE INDEX goals_client ON goals(client_id);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def default_db_path() -> Path:
    """``$MOVEKIT_DB`` if set, else ``movekit.sqlite3`` in the user's data directory."""
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("movekit")) / "movekit.sqlite3"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _explain(exc: sqlite3.Error, path: Path, timeout_s: float) -> MovekitError:
    """Turn an sqlite3 error a user can fix into a one-line MovekitError."""
    msg = str(exc).lower()
    if "locked" in msg or "busy" in msg:
        return MovekitError(
            f"database {path} is locked by another program (waited {timeout_s:g} s); "
            "close the other movekit window or program using it and try again - nothing was saved"
        )
    if "readonly" in msg or "read-only" in msg:
        return MovekitError(
            f"database {path} is read-only; check the file and folder permissions "
            f"or choose another file with --db / {ENV_DB} - nothing was saved"
        )
    if "unable to open" in msg:
        return MovekitError(
            f"cannot open database {path}: the folder is missing or not writable "
            f"(choose another file with --db / {ENV_DB})"
        )
    if "not a database" in msg or "malformed" in msg:
        return MovekitError(f"{path} is not a movekit database or is damaged ({exc})")
    if "disk" in msg and ("full" in msg or "i/o" in msg):
        return MovekitError(f"cannot write database {path}: {exc} - nothing was saved")
    return MovekitError(f"database {path}: {exc}")


def existing_db_path(path: str | os.PathLike | None) -> Path:
    """The database file ``path`` (None: :func:`default_db_path`) for a command that only reads.

    Raises
    ------
    MovekitError
        One line naming the path when there is no database there (missing, a folder or an empty
        file): a mistyped ``--db`` must not make a new empty database.
    """
    p = Path(path).expanduser() if path is not None else default_db_path()
    if not p.is_file() or p.stat().st_size == 0:
        what = "is a folder" if p.is_dir() else ("is empty" if p.is_file() else "does not exist")
        raise MovekitError(f"no movekit database at {p}: it {what} (check --db or ${ENV_DB}); nothing was created")
    return p


class Database:
    """A connection to one movekit SQLite file, migrated to :data:`SCHEMA_VERSION`.

    Use :meth:`write` for every change (one transaction, retried for the busy
    timeout, errors made readable) and :meth:`read` for queries.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        read_only: bool = False,
        migrate: bool = True,
    ):
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.busy_timeout_s = float(busy_timeout_s)
        self.read_only = read_only
        if self.path.is_dir():
            raise MovekitError(
                f"database path {self.path} is a folder; give a file, e.g. {self.path / 'movekit.sqlite3'}"
            )
        if read_only and not self.path.exists():
            raise MovekitError(f"database {self.path} does not exist")
        if not read_only:
            try:
                if not self.path.parent.is_dir():
                    self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                # private whatever the umask: SQLite gives its -wal and -shm files the database's mode
                from movekit.outputs import create_private_file

                create_private_file(self.path)
                if self.path.stat().st_size == 0:  # an empty file made a database now: private too
                    os.chmod(self.path, 0o600)
            except OSError as exc:
                raise MovekitError(f"cannot create the folder for database {self.path}: {exc}") from None
        try:
            if read_only:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                self.conn = sqlite3.connect(
                    uri, uri=True, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
                )
            else:
                self.conn = sqlite3.connect(
                    str(self.path), timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
                )
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if not read_only:
                mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":  # e.g. a filesystem without shared memory
                    self.conn.execute("PRAGMA journal_mode = DELETE")
                self.conn.execute("PRAGMA synchronous = FULL")
            # Touch the file so a non-database is reported now, not at the first write.
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise _explain(exc, self.path, self.busy_timeout_s) from None
        if migrate:
            self.migrate()
        else:
            self._check_not_newer()

    # -- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions ------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back on any error.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers queue
        (for up to the busy timeout) instead of failing half-way.
        """
        if self.read_only:
            raise MovekitError(f"database {self.path} was opened read-only - nothing was saved")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _explain(exc, self.path, self.busy_timeout_s) from None
        try:
            yield self.conn
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.IntegrityError):
                raise MovekitError(f"database {self.path}: rejected entry ({exc})") from None
            if isinstance(exc, sqlite3.Error):
                raise _explain(exc, self.path, self.busy_timeout_s) from None
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise _explain(exc, self.path, self.busy_timeout_s) from None

    def read(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _explain(exc, self.path, self.busy_timeout_s) from None

    # -- schema --------------------------------------------------------------
    def version(self) -> int:
        return int(self.read("PRAGMA user_version")[0][0])

    def _check_not_newer(self) -> None:
        v = self.version()
        if v > SCHEMA_VERSION:
            raise MovekitError(
                f"database {self.path} has schema v{v}, newer than this movekit (v{SCHEMA_VERSION}); update movekit"
            )

    def migrate(self) -> int:
        """Apply the missing migrations; returns the number applied."""
        self._check_not_newer()
        if self.version() == SCHEMA_VERSION:
            return 0
        if self.read_only:
            raise MovekitError(
                f"database {self.path} has schema v{self.version()} and needs an upgrade to "
                f"v{SCHEMA_VERSION}, but it was opened read-only"
            )
        start = self.version()
        if start > 0:
            self._backup(start)
        applied = 0
        with self.write() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise MovekitError(f"database {self.path} has schema v{current}, newer than this movekit")
            for i in range(current, SCHEMA_VERSION):
                for statement in _split_sql(MIGRATIONS[i]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {i + 1}")
                applied += 1
        return applied

    def _backup(self, version: int) -> None:
        target = self.path.with_name(f"{self.path.name}.bak-v{version}")
        if target.exists():
            return
        try:
            from movekit.outputs import create_private_file

            create_private_file(target)
            dst = sqlite3.connect(str(target))
            with dst:
                self.conn.backup(dst)
            dst.close()
        except (sqlite3.Error, OSError) as exc:
            raise MovekitError(f"cannot back up database {self.path} before upgrading it: {exc}") from None


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit)."""
    out, buf = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        buf.append(code)
        if code.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip()
            if sqlite3.complete_statement(stmt):
                out.append(stmt)
                buf = []
    rest = "\n".join(buf).strip()
    if rest:
        out.append(rest)
    return out
