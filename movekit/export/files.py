"""Where exports are written: the one output policy (:mod:`movekit.outputs`) for files, and the
one thing it does not cover, a BIDS export folder (built privately beside its target, then moved
into place; only an earlier movekit BIDS export is ever replaced)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from movekit.errors import MovekitError
from movekit.outputs import DIR_MODE, FILE_MODE, OutputKind, atomic_path, check_output, write_output

#: the files ``movekit export`` writes (and their JSON sidecars), and its BIDS folder
EXPORT = OutputKind("research export file", (".trc", ".mot", ".c3d", ".csv", ".parquet", ".json"))
BIDS = OutputKind("BIDS export", folder=True)


def check_targets(targets: list[Path], source: Path, *, overwrite: bool) -> None:
    """Refuse, with one line, before any work: a file target through :func:`movekit.outputs.check_output`
    (never the input or inside it, never a database or a folder, existing only with ``overwrite``
    and of the export's own kinds); a folder target (BIDS) may replace only an earlier movekit export."""
    for t in targets:
        if not t.exists() or t.is_file():
            check_output(t, BIDS if not t.suffix and not t.exists() else EXPORT, overwrite=overwrite, inputs=[source])
            continue
        check_output(t.parent / f".{t.name}.check", EXPORT, inputs=[source])  # not in an input or a recording
        if t.resolve() == source.resolve() or source.resolve() in t.resolve().parents:
            raise MovekitError(f"-o {t} is also the input; choose another output path")
        if not overwrite:
            raise MovekitError(f"{t} already exists; choose another path or pass --overwrite")
        if not _is_export_folder(t):
            raise MovekitError(f"{t} is a folder that is not a movekit export; not replacing it")


def _is_export_folder(path: Path) -> bool:
    """A folder an earlier ``movekit export --format bids`` wrote (the only folder --overwrite replaces)."""
    try:
        desc = json.loads((path / "dataset_description.json").read_text())
    except (OSError, ValueError):
        return False
    return any(isinstance(g, dict) and g.get("Name") == "movekit" for g in desc.get("GeneratedBy", []))


@contextmanager
def atomic_output(out: str | Path, *, overwrite: bool = False, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path for ``out``; on success it becomes ``out`` (0600 files, 0700 folders).

    A file goes through :func:`movekit.outputs.atomic_path` (its temporary name keeps the
    extension, which writers such as ezc3d go by). A folder is built in a private (0700) folder
    beside ``out`` and moved into place, replacing only an earlier export, with ``overwrite``. On
    any error nothing is left behind and ``out`` is untouched."""
    out = Path(out)
    if not folder:
        if out.exists() and not overwrite:
            raise MovekitError(f"{out} already exists; choose another path or pass --overwrite")
        with atomic_path(out) as tmp:
            yield tmp
        return
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp = work / out.name
    try:
        tmp.mkdir(mode=DIR_MODE)
        yield tmp
        for p in tmp.rglob("*"):
            os.chmod(p, DIR_MODE if p.is_dir() else FILE_MODE)
        os.chmod(tmp, DIR_MODE)
        if out.exists():
            if not (overwrite and _is_export_folder(out)):
                raise MovekitError(f"{out} already exists; choose another path or pass --overwrite")
            shutil.rmtree(out)
        os.rename(tmp, out)
    except OSError as exc:
        raise MovekitError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_text(out: str | Path, text: str, *, overwrite: bool = False) -> None:
    """Write ``text`` to ``out`` atomically with mode 0600 (checked by :func:`check_targets` first)."""
    write_output(out, text)
