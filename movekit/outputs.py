"""The one output policy every command applies before it writes a file or a recording.

Rules
-----
- Never write onto an input, into a recording's own files, or onto a database.
- An existing output is refused unless ``--overwrite``; with it, only a file of the
  kind the command writes is replaced (an HTML report never replaces a SQLite
  database or a folder; a recording never replaces a regular file or a video).
- A missing folder or a directory given as an output file is a one-line error.
- Files are written atomically (a temporary file in the same folder, fsync, rename)
  and are private: files 0600, folders 0700, whatever the umask.

>>> path = check_output("angles.csv", CSV, overwrite=False, inputs=["in.mkrec"])  # doctest: +SKIP
>>> write_output(path, text)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from movekit.errors import MovekitError

#: mode of every file movekit creates (clients' names and scores are health data)
FILE_MODE = 0o600
#: mode of every folder movekit creates
DIR_MODE = 0o700

_SQLITE_MAGIC = b"SQLite format 3\x00"
_RECORDING_META = "meta.json"


@dataclass(frozen=True)
class OutputKind:
    """What a command writes: a file with one of ``suffixes``, or a recording folder (whose
    streams, when ``streams_prefix`` is set, all start with it: a recording holding others is
    another kind, not replaced)."""

    name: str
    suffixes: tuple[str, ...] = ()
    folder: bool = False
    streams_prefix: str = ""


CSV = OutputKind("CSV table", (".csv", ".txt", ".tsv"))
TABLE = OutputKind("table", (".csv", ".parquet", ".txt", ".tsv"))
JSON = OutputKind("JSON file", (".json", ".jsonl", ".txt"))
HTML = OutputKind("HTML report", (".html", ".htm"))
PROFILE = OutputKind("calibration profile", (".json", ".toml"))
VIDEO = OutputKind("video", (".mp4", ".mkv", ".avi", ".mov"))
RECORDING = OutputKind("recording", folder=True)
#: movekit triangulate's output: pose_3d_* streams only (never replaces a camera's recording)
TRIANGULATED = OutputKind("triangulated recording", folder=True, streams_prefix="pose_3d_")
#: suffixes shared by text files of other kinds (a Qualisys calibration is .qca.txt): a file with
#: one is replaced only when its first line looks like this kind's (:func:`_looks_like`)
_AMBIGUOUS_SUFFIXES = (".txt",)


def is_sqlite(path: Path) -> bool:
    """True when ``path`` is a regular file starting with the SQLite header."""
    try:
        with open(path, "rb") as f:
            return f.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def is_recording(path: Path) -> bool:
    """True when ``path`` is a folder holding a movekit ``meta.json``."""
    meta = Path(path) / _RECORDING_META
    if not meta.is_file():
        return False
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("format") == "movekit-recording"
    except (OSError, ValueError, AttributeError):
        return False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_output(
    path: str | os.PathLike,
    kind: OutputKind,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    flag: str = "-o",
) -> Path:
    """Check ``path`` against the output policy; return it as a Path or raise a one-line error.

    Parameters
    ----------
    path : str or PathLike
        The output the command is about to write.
    kind : OutputKind
        What the command writes there.
    overwrite : bool
        The user passed ``--overwrite``: an existing output of the same kind may be replaced.
    inputs : iterable of paths
        Every file or folder the command reads (inputs, recordings, the database): the
        output may be none of them, and may not lie inside an input recording.
    flag : str
        The option that named the output, for the message.
    """
    out = Path(path).expanduser()
    ins = [Path(p).expanduser() for p in inputs if p is not None and str(p) != ""]
    if str(path) == "" or out.name in ("", ".", ".."):
        raise MovekitError(f"{flag} needs a file name, not {str(path)!r}")
    for p in ins:
        if _same(out, p) or out.resolve() == p.resolve():
            raise MovekitError(f"{flag} {out} is also an input; choose another output path")
        if p.is_dir() and _inside(out, p):
            raise MovekitError(f"{flag} {out} lies inside the input {p}; choose a path outside it")
    for ancestor in list(out.parents)[:3]:
        if is_recording(ancestor):
            raise MovekitError(f"{flag} {out} lies inside the recording {ancestor}; write outside it")
    parent = out.parent
    if not parent.is_dir():
        raise MovekitError(
            f"{flag} {out}: folder {parent} does not exist"
            if not parent.exists()
            else f"{flag} {out}: {parent} is not a folder"
        )
    if not (out.exists() or out.is_symlink()):
        return out
    if kind.folder:
        if out.is_dir() and not any(out.iterdir()):
            return out
        if not out.is_dir():
            raise MovekitError(f"{flag} {out} exists and is a file, not a {kind.name}; not replacing it")
        if not overwrite:
            raise MovekitError(f"{out} already exists; choose another path or pass --overwrite")
        if not is_recording(out):
            raise MovekitError(f"{out} is a non-empty folder that is not a {kind.name}; not replacing it")
        other = kind.streams_prefix and sorted(
            f.name.split(".")[0] for f in (out / "streams").glob("*") if not f.name.startswith(kind.streams_prefix)
        )
        if other:
            raise MovekitError(
                f"{out} is a recording with other streams ({', '.join(other[:3])}), not a {kind.name}; "
                "not replacing it even with --overwrite"
            )
        return out
    if out.is_dir():
        raise MovekitError(f"{flag} {out} is a folder; give a file name")
    if is_sqlite(out):
        raise MovekitError(f"{flag} {out} is a SQLite database; not replacing it with a {kind.name}")
    if not overwrite:
        raise MovekitError(f"{out} already exists; choose another path or pass --overwrite")
    if (
        not out.is_file()
        or (kind.suffixes and out.suffix.lower() not in kind.suffixes)
        or (out.suffix.lower() in _AMBIGUOUS_SUFFIXES and not _looks_like(kind, out))
    ):
        raise MovekitError(
            f"{out} is not a {kind.name} ({'/'.join(kind.suffixes)}); not replacing it even with --overwrite"
        )
    return out


def _looks_like(kind: OutputKind, path: Path) -> bool:
    """Whether a text file's first line is one this kind of output starts with: a JSON file's
    ``{`` or ``[``, a table's header of comma- or tab-separated names (not XML such as a
    Qualisys ``.qca.txt``, nor free text)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline().strip()
    except OSError:
        return False
    if kind == JSON:
        return first[:1] in ("{", "[")
    if kind in (CSV, TABLE):
        return not first or (first[:1] != "<" and ("," in first or "\t" in first))
    return True


def make_private_dir(path: str | os.PathLike, *, exist_ok: bool = False) -> Path:
    """Create one folder with mode 0700 whatever the umask (its parent must exist)."""
    path = Path(path)
    try:
        path.mkdir(mode=DIR_MODE, exist_ok=exist_ok)
        if path.stat().st_uid == os.getuid():
            os.chmod(path, DIR_MODE)
    except FileNotFoundError:
        raise MovekitError(f"cannot create {path}: folder {path.parent} does not exist") from None
    except OSError as exc:
        raise MovekitError(f"cannot create {path}: {exc.strerror or exc}") from None
    return path


def create_private_file(path: str | os.PathLike) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (e.g. a database before SQLite opens it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a private temporary path beside ``path``; on success fsync it and rename it onto ``path``.

    For writers that take a file name (pyarrow, numpy). On any error the temporary
    file is removed and ``path`` is left as it was.
    """
    out = Path(path)
    try:
        # the target's extension last: writers that go by it (ezc3d) write the right format
        fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=f".tmp{out.suffix}")
    except OSError as exc:
        raise MovekitError(f"cannot write {out}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
        with contextlib.suppress(OSError):
            dfd = os.open(out.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise MovekitError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_output(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically and privately (call :func:`check_output` first)."""
    out = Path(path)
    with atomic_path(out) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding=encoding)
        else:
            tmp.write_bytes(data)
    return out


def save_output(
    path: str | os.PathLike,
    data: str | bytes,
    kind: OutputKind,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    flag: str = "-o",
) -> Path:
    """:func:`check_output` then :func:`write_output`: the one call for a command writing one file."""
    return write_output(check_output(path, kind, overwrite=overwrite, inputs=inputs, flag=flag), data)


def strict_json(o):
    """``o`` with every NaN or infinite float as None (JSON has no NaN: Python's json writes a bare
    ``NaN`` that strict readers such as JavaScript's ``JSON.parse`` refuse), numpy arrays and
    scalars as lists and Python numbers; dicts, lists and tuples walked."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: strict_json(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [strict_json(v) for v in o]
    np = sys.modules.get("numpy")  # only numpy objects need it, and then it is imported already
    if np is not None and isinstance(o, np.ndarray | np.generic):
        return strict_json(o.tolist() if isinstance(o, np.ndarray) else o.item())
    return o


def add_overwrite_argument(parser, what: str = "outputs") -> None:
    """``--overwrite``, worded the same in every command."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace existing {what} of the same kind (never an input, a folder or a database)",
    )
