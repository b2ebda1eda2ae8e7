"""Benchmark ``movekit batch``: sessions per second with 1 and 2 Dask workers, and the analysis stage alone.

The study folder is made once in a temporary folder: ``--copies`` copies of one real capture of the
Sports2D demo clip (the capture itself is not timed) under different clients, plus the real Kistler
force-plate exports. Figures:
  * whole-process: ``python -m movekit.cli batch`` in a subprocess with ``--workers 1`` and ``2``, from
    process start to exit (interpreter, Dask local cluster start-up, all sessions, the final table);
  * inner: :func:`movekit.batch.process` (load, angles, the assessments) on each recording in this
    process, no Dask, no Parquet: recordings per second of the analysis stage.

Usage: python scripts/bench_batch.py [--copies 20] [--tests posture,squat,balance] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, write_section  # noqa: E402

from movekit.batch import find_sessions, process  # noqa: E402
from movekit.datasets import fetch  # noqa: E402

FORCE_FILES = ("kistler_cop", "kistler_cmj", "kistler_dj_2plates")


def make_study(root: Path, copies: int) -> Path:
    """``root/study`` with ``copies`` recordings of the demo clip and the force-plate files."""
    from movekit.capture.pipeline import capture

    demo = root / "demo.mkrec"
    capture(fetch("sports2d_demo"), demo, keys=False, metadata={"client": "bench"})
    study = root / "study"
    study.mkdir()
    for i in range(copies):
        dst = study / f"s{i + 1:03d}.mkrec"
        shutil.copytree(demo, dst)
        meta = json.loads((dst / "meta.json").read_text())
        meta["client"] = f"c{i + 1:03d}"
        (dst / "meta.json").write_text(json.dumps(meta))
    for name in FORCE_FILES:
        shutil.copy(fetch(name), study / f"{name}.txt")
    return study


def whole_process(study: Path, out: Path, workers: int, tests: str) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "movekit.cli",
            "batch",
            str(study),
            "-o",
            str(out),
            "--tests",
            tests,
            "--workers",
            str(workers),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"batch failed: {r.stderr.strip()}")
    return dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--tests", default="posture,squat,balance")
    ap.add_argument("--write", metavar="MD", help="replace the 'Batch (Dask)' section of this file")
    args = ap.parse_args(argv)
    tests = tuple(args.tests.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        study = make_study(root, args.copies)
        sources = find_sessions(study)
        n = len(sources)
        per_workers = {}
        for w in (1, 2):
            (root / f"out{w}").mkdir()
            per_workers[w] = whole_process(study, root / f"out{w}" / "r.parquet", w, args.tests)
        recs = [s for s in sources if s.kind == "recording"]
        process(recs[0], tests, root / "captures")  # warm-up: imports, not timed
        t0 = time.perf_counter()
        for s in recs:
            process(s, tests, root / "captures")
        inner_s = time.perf_counter() - t0
    lines = [
        f"`movekit batch` over {n} sessions ({len(recs)} copies of the demo recording, "
        f"{n - len(recs)} Kistler force-plate files), tests {args.tests}:",
        "",
    ]
    for w, dt in per_workers.items():
        lines.append(
            f"- {w} worker{'s' * (w > 1)}: {n / dt:.2f} sessions/s ({dt:.1f} s whole-process: "
            "interpreter, Dask local cluster start-up, all sessions, final table)"
        )
    lines.append(
        f"- analysis stage alone (load, angles, assessments; no Dask): {len(recs) / inner_s:.2f} "
        f"recordings/s (inner, {inner_s / len(recs) * 1000:.0f} ms per recording, one process)"
    )
    lines += ["", f"Machine: {machine('dask', 'distributed', 'pyarrow')}."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("Batch (Dask)", text, Path(args.write))
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
