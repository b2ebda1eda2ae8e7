"""``movekit batch`` on a local Dask cluster: a study folder of real sessions (copies of the real demo
recording under different clients, real Kistler force-plate exports, a broken recording), the tidy
table against the same assessments run directly, kill-and-resume, and an external scheduler."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from run_cli import movekit  # noqa: E402

from movekit import assess  # noqa: E402
from movekit.assess.sources import load_trial  # noqa: E402
from movekit.batch import angle_rows, read_part_meta, result_validity  # noqa: E402
from movekit.datasets import fetch  # noqa: E402

TESTS = "posture,squat,step-down,balance"
N_COPIES = 18
FORCE_FILES = ("kistler_cop", "kistler_cmj", "kistler_dj_2plates")


def _copy_recording(src: Path, dst: Path, client: str) -> None:
    shutil.copytree(src, dst)
    meta = json.loads((dst / "meta.json").read_text())
    meta["client"] = client
    (dst / "meta.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def study(demo_recording, tmp_path_factory) -> Path:
    """18 copies of the real demo recording (clients c01..c18), 3 real force-plate exports, one
    recording whose meta.json is cut in the middle: 22 sessions."""
    root = tmp_path_factory.mktemp("study") / "study"
    (root / "clinic_a").mkdir(parents=True)
    for i in range(N_COPIES):
        _copy_recording(demo_recording, root / "clinic_a" / f"s{i + 1:02d}.mkrec", f"c{i + 1:02d}")
    for name in FORCE_FILES:
        shutil.copy(fetch(name), root / f"{name}.txt")
    broken = root / "broken.mkrec"
    shutil.copytree(demo_recording, broken)
    text = (broken / "meta.json").read_text()
    (broken / "meta.json").write_text(text[: len(text) // 2])
    return root


def _parts(out: Path) -> dict[str, tuple[int, int]]:
    d = out.with_name(out.name + ".parts")
    # not atomic_path's temporaries (".NAME.parquet.XXXX.tmp.parquet"): a run killed between writing one
    # and renaming it leaves a readable file that the next run deletes and redoes
    parts = [p for p in d.glob("*.parquet") if not p.name.startswith(".")] if d.is_dir() else []
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in parts}


@pytest.fixture(scope="module")
def batch_run(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "results.parquet"
    r = movekit("batch", study, "-o", out, "--tests", TESTS, "--workers", 2, timeout=120)
    return r, out


def test_batch_table_matches_direct_runs(batch_run, study, demo_recording):
    r, out = batch_run
    assert r.returncode == 0, r.stderr
    assert "22 sessions (0 done earlier)" in r.stderr
    assert "1 failures" in r.stderr
    t = pd.read_parquet(out)
    assert list(t.columns) == ["session", "client", "test", "metric", "value", "unit", "validity", "source_path"]
    assert t.session.nunique() == 21  # the broken recording has no rows
    recs = t[t.session.str.endswith(".mkrec")]
    assert sorted(recs.client.unique()) == [f"c{i + 1:02d}" for i in range(N_COPIES)]

    session = load_trial(demo_recording)
    angles = angle_rows(session.pose)
    direct = {test: assess.run(test, session) for test in ("posture", "squat", "step-down", "balance")}
    for _name, g in recs.groupby("session"):
        a = g[g.test == "angles"]
        assert len(a) == len(angles)
        got = dict(zip(a.metric, a.value))
        for metric, value, _unit in angles:
            assert (value is None and np.isnan(got[metric])) or got[metric] == pytest.approx(value, abs=1e-9)
        for test, res in direct.items():
            rows = g[g.test == test]
            if res.metrics:
                assert dict(zip(rows.metric, rows.unit)) == {k: m.unit for k, m in res.metrics.items()}
                for k, m in res.metrics.items():
                    v = rows.set_index("metric").value[k]
                    assert (m.value is None and np.isnan(v)) or v == pytest.approx(m.value)
            assert set(rows.validity) == {result_validity(res)}

    # real numbers from an assessment: one step-down rep in the demo clip, in every copy
    sd = recs[(recs.test == "step-down") & (recs.metric == "reps_count")]
    assert len(sd) == N_COPIES and (sd.value == direct["step-down"].value("reps_count")).all()
    assert direct["step-down"].value("reps_count") == 1 and set(sd.unit) == {"count"}

    cop = t[t.session == "kistler_cop.txt"]
    ref = assess.run("balance", load_trial(fetch("kistler_cop")))  # 10 s trial: sway needs >= 25 s
    assert not ref.metrics and not ref.valid
    bal = cop[cop.test == "balance"]
    assert len(bal) == 1 and bal.metric.isna().all() and bal.validity.iloc[0] == result_validity(ref)
    assert "25 s" in bal.validity.iloc[0]
    # pose tests refuse a force-plate file: a result with its reason, not a failure
    assert cop[cop.test == "posture"].metric.isna().all()
    assert cop[cop.test == "posture"].validity.iloc[0] != "valid"

    fails = pd.read_csv(out.with_name("results.failures.csv"))
    assert list(fails.session) == ["broken.mkrec"] and list(fails.stage) == ["load"]
    assert "\n" not in fails.error[0] and "meta.json" in fails.error[0]
    assert (out.stat().st_mode & 0o777) == 0o600
    assert (out.with_name("results.failures.csv").stat().st_mode & 0o777) == 0o600


def test_batch_refuses_to_overwrite_then_resumes_everything(batch_run, study):
    r, out = batch_run
    before = _parts(out)
    again = movekit("batch", study, "-o", out, "--tests", TESTS, timeout=120)
    assert again.returncode == 2 and "already exists; choose another path or pass --overwrite" in again.stderr
    assert "Traceback" not in again.stderr and len(again.stderr.strip().splitlines()) == 1
    again = movekit("batch", study, "-o", out, "--tests", TESTS, "--overwrite", timeout=120)
    assert again.returncode == 0, again.stderr
    assert "22 sessions (21 done earlier)" in again.stderr  # only the failed one is tried again
    after = _parts(out)
    assert after.keys() == before.keys()
    assert sum(after[k] == before[k] for k in before) == 21  # all but the failed session's part untouched
    # an input changed since (its mtime): that session is done again, the others are not
    meta = study / "clinic_a" / "s05.mkrec" / "meta.json"
    st = meta.stat()
    os.utime(meta, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    try:
        again = movekit("batch", study, "-o", out, "--tests", TESTS, "--overwrite", "--no-progress", timeout=120)
    finally:
        os.utime(meta, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert again.returncode == 0 and "22 sessions (20 done earlier)" in again.stderr, again.stderr


def test_kill_and_resume(study, batch_run, tmp_path):
    out = tmp_path / "results.parquet"
    cmd = [
        sys.executable,
        "-m",
        "movekit.cli",
        "batch",
        str(study),
        "-o",
        str(out),
        "--tests",
        TESTS,
        "--workers",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_parts(out)) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # let the killed workers go
    done = _parts(out)
    assert 4 <= len(done) < 22 and not out.exists()
    parts = out.with_name(out.name + ".parts")
    done = {k: v for k, v in done.items() if not read_part_meta(parts / k)["failures"]}  # failed: tried again
    r = movekit("batch", study, "-o", out, "--tests", TESTS, "--no-progress", timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"22 sessions ({len(done)} done earlier)" in r.stderr
    after = _parts(out)
    assert len(after) == 22 and not list(parts.glob(".*.tmp*"))  # atomic_path's temporary names
    assert {k: after[k] for k in done} == done  # finished parts were not rewritten
    cols = ["session", "test", "metric"]
    full = pd.read_parquet(batch_run[1]).sort_values(cols).reset_index(drop=True)
    resumed = pd.read_parquet(out).sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(full.drop(columns="source_path"), resumed.drop(columns="source_path"))


def test_external_scheduler_and_video_capture(study, demo_clip, batch_run, tmp_path):
    from distributed import LocalCluster

    small = tmp_path / "small"
    small.mkdir()
    shutil.copytree(study / "clinic_a" / "s01.mkrec", small / "s01.mkrec")
    shutil.copy(demo_clip, small / "walk.mp4")
    out = tmp_path / "out" / "r.parquet"
    out.parent.mkdir()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        r = movekit(
            "batch",
            small,
            "-o",
            out,
            "--tests",
            "posture",
            "--scheduler",
            cluster.scheduler_address,
            "--no-progress",
            timeout=120,
        )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in small.iterdir()) == ["s01.mkrec", "walk.mp4"]  # nothing beside the input
    caps = list((tmp_path / "out" / "r.parquet.captures").glob("*.mkrec"))
    assert [c.name.split("-")[0] for c in caps] == ["walk"]
    t = pd.read_parquet(out)
    a = t[t.test == "angles"].pivot(index="metric", columns="session", values="value")
    # the video's capture and the recording are the same clip through the same model
    np.testing.assert_allclose(a["walk.mp4"], a["s01.mkrec"], atol=1e-6, equal_nan=True)
    assert set(t[t.session == "walk.mp4"].source_path) == {str(small / "walk.mp4")}
