"""Run capture, angles and assessments over every session of a study folder, on Dask.

A *session* is a recording (``*.mkrec`` folder), a video (captured first into a recording in the
work folder beside the output, never beside the input) or a file :func:`movekit.assess.sources.load_trial`
reads (CoP/force-plate CSV or text). Each session is one task; the client (this process) writes
each finished session's rows atomically to ``OUT.parts/<key>.parquet`` (temporary file, then
rename), so a killed run leaves only whole parts and a rerun skips every session whose part
exists for an unchanged input (size and mtime of the file, or of every file of a recording) and
the same tests. Sessions that failed are tried again on a rerun. The final table is assembled
from the parts:

``session, client, test, metric, value, unit, validity, source_path``

``test == "angles"`` rows summarise :func:`movekit.commands.angles.compute_table` (offline
filtering) per angle: ``<angle>_min_deg``, ``<angle>_max_deg``, ``<angle>_mean_deg`` over the
frames the error model accepts, and ``<angle>_valid_frames`` (count). Assessment rows are the
result's metrics with their units; ``validity`` is ``valid`` or the failed checks' messages; an
assessment that refuses the session (a :class:`MovekitError`) is one row with no metric and the
reason as validity. Failures (any other error; a session that cannot be read or captured) go to
``OUT.failures.csv`` (session, stage, error) and do not stop the other sessions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movekit.errors import MovekitError
from movekit.outputs import CSV, TABLE, check_output

COLUMNS = ("session", "client", "test", "metric", "value", "unit", "validity", "source_path")
FILE_SUFFIXES = (".csv", ".txt", ".tsv", ".dat", ".asc")
FAILURE_COLUMNS = ("session", "stage", "error")
_FP_KEY = b"movekit_batch"


@dataclass(frozen=True)
class Source:
    """One session's input: ``kind`` is ``recording``, ``video`` or ``file``."""

    path: Path
    kind: str

    @property
    def key(self) -> str:
        """Stable name of the session's part: hash of its resolved path."""
        return hashlib.sha1(str(self.path.resolve()).encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.path.name


def work_paths(out: Path) -> tuple[Path, Path, Path]:
    """(parts folder, captures folder, failures CSV) beside the output ``out``."""
    return (
        out.with_name(out.name + ".parts"),
        out.with_name(out.name + ".captures"),
        out.with_name(out.stem + ".failures.csv"),
    )


def find_sessions(study_dir: str | Path, exclude: Iterable[Path] = ()) -> list[Source]:
    """Every session under ``study_dir``, sorted by path; recordings are not descended into."""
    from movekit.assess.sources import VIDEO_SUFFIXES

    root = Path(study_dir)
    if not root.is_dir():
        raise MovekitError(f"{root}: not a folder")
    skip = {p.resolve() for p in exclude}
    found: list[Source] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            p = here / d
            if p.resolve() in skip:
                continue
            if d.endswith(".mkrec"):
                found.append(Source(p, "recording"))
            else:
                keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            p = here / f
            suffix = p.suffix.lower()
            if f.startswith(".") or p.resolve() in skip:
                continue
            if suffix in VIDEO_SUFFIXES:
                found.append(Source(p, "video"))
            elif suffix in FILE_SUFFIXES:
                found.append(Source(p, "file"))
    return sorted(found, key=lambda s: str(s.path))


def fingerprint(src: Source, tests: tuple[str, ...]) -> str:
    """Size and mtime (ns) of the input (every file of a recording) and the tests asked for."""
    files = sorted(p for p in src.path.rglob("*") if p.is_file()) if src.path.is_dir() else [src.path]
    h = hashlib.sha1(",".join(tests).encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(src.path) if src.path.is_dir() else p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return msg if isinstance(exc, MovekitError) else f"{type(exc).__name__}: {msg}"


def _capture(src: Source, captures: Path) -> Path:
    """The video's recording in ``captures`` (made once; a half-made one from a killed run is redone)."""
    from movekit.capture.pipeline import capture

    final = captures / f"{src.path.stem}-{src.key}.mkrec"
    if final.is_dir():
        return final
    captures.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = captures / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    capture(src.path, tmp, keys=False, metadata={"source_video": src.path.name})
    os.replace(tmp, final)
    return final


def angle_rows(pose) -> list[tuple[str, float | None, str]]:
    """(metric, value, unit) summaries of the angles table of ``pose`` (see the module docstring)."""
    import numpy as np

    from movekit.commands.angles import compute_table

    cols, _ = compute_table(pose, offline=True)
    rows: list[tuple[str, float | None, str]] = []
    for name, a in cols.items():
        if not name.endswith("_deg") or name.endswith("_err_deg") or name == "body_yaw_deg":
            continue
        a = np.asarray(a, dtype=np.float64)
        ok = a[np.isfinite(a)]
        base = name.removesuffix("_deg")
        for stat, fn in (("min", np.min), ("max", np.max), ("mean", np.mean)):
            rows.append((f"{base}_{stat}_deg", float(fn(ok)) if ok.size else None, "deg"))
        rows.append((f"{base}_valid_frames", float(ok.size), "1"))
    return rows


def result_validity(result) -> str:
    """``valid``, or the messages of the failed checks joined by ``; ``."""
    bad = [c.message for c in result.validity.values() if not c.ok]
    return "valid" if not bad else "; ".join(" ".join(m.split()) for m in bad)


def process(src: Source, tests: tuple[str, ...], captures: Path) -> dict[str, Any]:
    """Run one session (on a worker): ``{"rows": [...], "failures": [(stage, error)]}``."""
    from movekit import assess
    from movekit.assess.sources import load_trial

    rows: list[dict[str, Any]] = []
    failures: list[tuple[str, str]] = []
    path = src.path
    try:
        if src.kind == "video":
            path = _capture(src, captures)
        session = load_trial(path)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the batch
        return {
            "rows": rows,
            "failures": [("capture" if src.kind == "video" and path == src.path else "load", _one_line(exc))],
        }
    client = session.metadata.get("client")
    client = None if client is None else str(client)

    def add(test, metric, value, unit, validity):
        rows.append(
            {
                "session": src.name,
                "client": client,
                "test": test,
                "metric": metric,
                "value": None if value is None else float(value),
                "unit": unit,
                "validity": validity,
                "source_path": str(src.path),
            }
        )

    if session.pose is not None:
        try:
            for metric, value, unit in angle_rows(session.pose):
                add("angles", metric, value, unit, "valid" if value is not None else "no accepted frame")
        except Exception as exc:  # noqa: BLE001
            failures.append(("angles", _one_line(exc)))
    for test in tests:
        try:
            result = assess.run(test, session)
        except MovekitError as exc:  # the assessment refuses this session: a result, not a failure
            add(test, None, None, None, _one_line(exc))
            continue
        except Exception as exc:  # noqa: BLE001
            failures.append((f"assess:{test}", _one_line(exc)))
            continue
        validity = result_validity(result)
        if not result.metrics:
            add(test, None, None, None, validity)
        for name, m in result.metrics.items():
            add(test, name, m.value, m.unit, validity)
    return {"rows": rows, "failures": failures}


def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("session", pa.string()),
            ("client", pa.string()),
            ("test", pa.string()),
            ("metric", pa.string()),
            ("value", pa.float64()),
            ("unit", pa.string()),
            ("validity", pa.string()),
            ("source_path", pa.string()),
        ]
    )


def _write_atomic(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` through the output policy's atomic, private write (:func:`movekit.outputs.atomic_path`)."""
    from movekit.outputs import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


def write_part(path: Path, fp: str, result: dict[str, Any]) -> None:
    """One session's rows (and failures, in the schema metadata) as a Parquet part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = json.dumps({"fingerprint": fp, "failures": result["failures"]}).encode()
    table = pa.Table.from_pylist(result["rows"], schema=_schema().with_metadata({_FP_KEY: meta}))
    _write_atomic(path, lambda f: pq.write_table(table, f))


def read_part_meta(path: Path) -> dict[str, Any] | None:
    """The fingerprint and failures stored in a part; None when it is unreadable."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[_FP_KEY])
    except Exception:  # noqa: BLE001 - an unreadable part is redone
        return None


@dataclass
class BatchSummary:
    sessions: int
    skipped: int  #: finished in an earlier run, not redone
    rows: int
    failures: list[tuple[str, str, str]]
    out: Path
    failures_path: Path


def _dask_client(scheduler: str | None, workers: int):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise MovekitError(f"cannot reach the Dask scheduler {scheduler}: {_one_line(exc)}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster


def run_batch(
    study_dir: str | Path,
    out: str | Path,
    *,
    tests: Iterable[str] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
) -> BatchSummary:
    """Process every session of ``study_dir`` into the tidy Parquet table ``out`` (module docstring)."""
    from movekit.assess import TESTS

    out = Path(out)
    tests = tuple(TESTS if tests is None else tests)
    unknown = [t for t in tests if t not in TESTS]
    if unknown:
        raise MovekitError(f"unknown test {unknown[0]!r}; choose among {', '.join(TESTS)}")
    if workers < 1:
        raise MovekitError("--workers must be at least 1")
    parts, captures, failures_path = work_paths(out)
    sources = find_sessions(study_dir, exclude=(parts, captures, out, failures_path))
    inputs = [s.path for s in sources]
    check_output(out, TABLE, overwrite=overwrite, inputs=inputs)  # the one output policy (movekit.outputs)
    check_output(failures_path, CSV, overwrite=overwrite, inputs=inputs, flag="failure list")
    if not sources:
        raise MovekitError(f"{study_dir}: no sessions found (recordings *.mkrec, videos, CSV/text files)")
    parts.mkdir(exist_ok=True, mode=0o700)
    for stale in parts.glob(".*.tmp*"):  # left by a killed run (atomic_path's temporary names)
        stale.unlink(missing_ok=True)

    todo: list[tuple[Source, str]] = []
    for s in sources:
        fp = fingerprint(s, tests)
        meta = read_part_meta(parts / f"{s.key}.parquet")
        if meta is None or meta["fingerprint"] != fp or meta["failures"]:
            todo.append((s, fp))
    skipped = len(sources) - len(todo)

    if todo:
        from distributed import as_completed
        from tqdm import tqdm

        client, cluster = _dask_client(scheduler, workers)
        bar = tqdm(
            total=len(sources), initial=skipped, unit="session", disable=not progress, desc="batch", dynamic_ncols=True
        )
        try:
            futures = {
                client.submit(process, s, tests, captures, pure=False, key=f"movekit-batch-{s.key}"): (s, fp)
                for s, fp in todo
            }
            for fut in as_completed(futures):
                s, fp = futures[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker died or the task could not run
                    result = {"rows": [], "failures": [("worker", _one_line(exc))]}
                write_part(parts / f"{s.key}.parquet", fp, result)
                bar.update(1)
        finally:
            bar.close()
            client.close()
            if cluster is not None:
                cluster.close()
    return assemble(sources, out, parts, failures_path, skipped)


def assemble(sources: list[Source], out: Path, parts: Path, failures_path: Path, skipped: int) -> BatchSummary:
    """Concatenate the sessions' parts into ``out`` and write the failure list beside it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables, failures = [], []
    for s in sources:
        p = parts / f"{s.key}.parquet"
        t = pq.read_table(p)
        meta = json.loads(t.schema.metadata[_FP_KEY])
        failures += [(s.name, stage, err) for stage, err in meta["failures"]]
        tables.append(t.replace_schema_metadata(None))
    table = pa.concat_tables(tables) if tables else _schema().empty_table()
    _write_atomic(out, lambda f: pq.write_table(table, f))

    def write_csv(f):
        text = io.StringIO()
        w = csv.writer(text)
        w.writerow(FAILURE_COLUMNS)
        w.writerows(failures)
        f.write(text.getvalue().encode())

    _write_atomic(failures_path, write_csv)
    return BatchSummary(len(sources), skipped, table.num_rows, failures, out, failures_path)


__all__ = [
    "COLUMNS",
    "Source",
    "BatchSummary",
    "find_sessions",
    "fingerprint",
    "process",
    "run_batch",
    "assemble",
    "work_paths",
    "angle_rows",
    "result_validity",
]
