"""``movekit batch STUDY_DIR -o results.parquet``."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch",
        help="capture, angles and assessments over every session of a study folder, on Dask",
        description="Sessions: recordings (*.mkrec), videos (captured first into OUT.captures/, never beside "
        "the input) and CoP/force-plate CSV or text files. One tidy Parquet table (session, client, "
        "test, metric, value, unit, validity, source_path); failures in OUT-stem.failures.csv. "
        "Resumable: finished sessions are kept in OUT.parts/ and skipped on a rerun while their "
        "input is unchanged. Outputs are written 0600 and never replace a file without --overwrite.",
    )
    p.add_argument("study_dir")
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="the Parquet table to write")
    p.add_argument(
        "--tests",
        default=None,
        help="comma-separated assessments (default: every test; those a session cannot do say why)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="a running Dask scheduler (default: a local cluster)",
    )
    p.add_argument("--workers", type=int, default=2, help="local cluster worker processes (default 2)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT and its failure list if they exist")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.batch import run_batch

    tests = None if args.tests is None else [t.strip() for t in args.tests.split(",") if t.strip()]
    s = run_batch(
        args.study_dir,
        args.out,
        tests=tests,
        scheduler=args.scheduler,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    print(
        f"{s.sessions} sessions ({s.skipped} done earlier), {s.rows} rows -> {s.out}; "
        f"{len(s.failures)} failures -> {s.failures_path}",
        file=sys.stderr,
    )
    return 0
