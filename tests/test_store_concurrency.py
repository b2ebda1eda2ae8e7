"""Concurrent writers and a process killed mid-write leave a complete, consistent store."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from movekit.clinic.store import Store

WRITER = textwrap.dedent("""
    import sys
    from movekit.clinic.store import Store
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    st = Store(path, busy_timeout_s=30)
    for i in range(n):
        s = st.start_session("C-1", "treatment", notes=f"{who}-{i}")
        st.add_assessment(s["id"], {"test": "rom", "metrics": {"x_deg": {"value": i, "unit": "deg"}}})
        st.add_program_log(1, done=True, notes=f"{who}-{i}")
    print("ok", flush=True)
""")

KILLED = textwrap.dedent("""
    import sys
    from movekit.clinic.store import Store
    st = Store(sys.argv[1], busy_timeout_s=30)
    i = 0
    print("started", flush=True)
    while True:
        # one client = one transaction holding the client, 5 sessions and 50 metric rows
        with st.db.write() as c:
            cid = c.execute("INSERT INTO clients (code, created_utc) VALUES (?, 'now')", (f"K-{i}",)).lastrowid
            for j in range(5):
                sid = c.execute("INSERT INTO sessions (client_id, session_date, type, started_utc) "
                                "VALUES (?, '2026-01-01', 'treatment', 'now')", (cid,)).lastrowid
                aid = c.execute("INSERT INTO assessments (session_id, test, result_json, created_utc) "
                                "VALUES (?, 'rom', '{}', 'now')", (sid,)).lastrowid
                c.executemany("INSERT INTO metrics (assessment_id, session_id, test, name, value, unit) "
                              "VALUES (?, ?, 'rom', ?, ?, 'deg')", [(aid, sid, f"m{k}", k) for k in range(10)])
        i += 1
""")


def _env():
    env = dict(os.environ)
    env.pop("MOVEKIT_DB", None)
    return env


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "c.sqlite3"
    with Store(path) as st:
        st.add_client("C-1")
        st.add_program_item("C-1", "bridge")
    n_proc, n_each = 4, 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{k}", str(n_each)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for k in range(n_proc)
    ]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    with Store(path) as st:
        sessions = st.sessions("C-1")
        assert len(sessions) == n_proc * n_each
        assert {s["therapist_notes"] for s in sessions} == {f"w{k}-{i}" for k in range(n_proc) for i in range(n_each)}
        assert len(st.metric_series("C-1")) == n_proc * n_each
        assert len(st.program_logs("C-1")) == n_proc * n_each
        assert st.db.read("PRAGMA integrity_check")[0][0] == "ok"


@pytest.mark.parametrize("delay_s", [0.3, 0.9, 1.7])
def test_killed_writer_leaves_consistent_database(tmp_path, delay_s):
    path = tmp_path / "k.sqlite3"
    Store(path).close()
    p = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    assert p.stdout.readline().strip() == "started"
    time.sleep(delay_s)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    # the -wal file is left behind as after a crash; the next opener recovers it
    with Store(path) as st:
        assert st.db.read("PRAGMA integrity_check")[0][0] == "ok"
        assert st.db.read("PRAGMA foreign_key_check") == []
        n_clients = st.db.read("SELECT count(*) FROM clients")[0][0]
        assert n_clients > 0, "the writer committed nothing before it was killed"
        per_client = st.db.read("SELECT count(*) FROM sessions GROUP BY client_id")
        assert all(r[0] == 5 for r in per_client) and len(per_client) == n_clients
        per_session = st.db.read("SELECT count(*) FROM metrics GROUP BY session_id")
        assert all(r[0] == 10 for r in per_session) and len(per_session) == 5 * n_clients
        # and it can still be written
        st.add_client("after-crash")
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM clients").fetchone()[0] == n_clients + 1
    raw.close()


FRESH = textwrap.dedent("""
    import sys
    from movekit.clinic.store import Store
    st = Store(sys.argv[1], busy_timeout_s=30)
    st.add_client(sys.argv[2])
    print(st.db.version(), flush=True)
""")


def test_concurrent_first_open_of_a_new_file(tmp_path):
    """Several programs creating and migrating the same new file at once."""
    path = tmp_path / "new" / "fresh.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FRESH, str(path), f"C-{k}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for k in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with Store(path) as st:
        assert sorted(c["code"] for c in st.clients()) == [f"C-{k}" for k in range(4)]
        assert st.db.read("PRAGMA integrity_check")[0][0] == "ok"
