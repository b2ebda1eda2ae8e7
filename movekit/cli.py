"""``movekit`` command line: finds the subcommands in :mod:`movekit.commands`.

Exit status
-----------
0 done; 1 no command given (help printed); 2 a problem the user can fix, told in one line on
stderr (:class:`~movekit.errors.MovekitError`; argparse's usage errors too); 3 an assessment ran
but its result is NOT VALID (:data:`EXIT_NOT_VALID`, ``movekit assess``); 130 interrupted (Ctrl-C);
141 the reader of the output went away (``movekit info --json REC | head``), as for SIGPIPE.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import os
import subprocess
import sys
from pathlib import Path

from movekit import __version__
from movekit.errors import MovekitError


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``movekit capture: error: ...``) and exit status 2, like
    every other error of the command line (sub-parsers inherit it)."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command`` (the first word typed), only the module of that name
    when it registers that command, so ``movekit capture`` does not import what ``movekit assess``
    or ``movekit devices`` need (about 0.1 s of a short capture's start-up). Any other word gets the
    whole parser, so help, suggestions and usage errors are the same as ever."""
    parser = _Parser(
        prog="movekit",
        description="Movement assessment and biofeedback from webcam pose and BLE sensors.",
    )
    parser.add_argument("--version", action="version", version=f"movekit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    import movekit.commands as pkg

    # the folder's files, not pkgutil.iter_modules (which imports inspect: 0.02 s)
    names = sorted(f.stem for d in pkg.__path__ for f in Path(d).glob("[!_]*.py"))
    if command is not None and command.replace("-", "_") in names:
        names = [command.replace("-", "_")]
    for name in names:
        register = getattr(importlib.import_module(f"movekit.commands.{name}"), "register", None)
        if register is not None:
            register(subparsers)
    if len(names) == 1 and command not in subparsers.choices:
        return build_parser()  # the module of that name registers other words
    return parser


EXIT_ERROR = 2  #: a MovekitError: bad input a user can fix, told in one line
EXIT_NOT_VALID = 3  #: the assessment ran but its validity checks failed (result printed, NOT VALID)
EXIT_INTERRUPTED = 130  #: Ctrl-C
EXIT_BROKEN_PIPE = 141  #: stdout closed by its reader (128 + SIGPIPE, what a C tool would give)

#: Quiet defaults for the native libraries' own logging, set by the command line only (importing
#: movekit changes no environment). Set any of them before running movekit to see those logs.
NATIVE_LOG_DEFAULTS = {
    "OPENCV_LOG_LEVEL": "OFF",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",
    "GLOG_minloglevel": "2",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}

#: Lines native code writes to fd 2 that are start-up chatter, not problems: TFLite's "INFO: ...",
#: absl's pre-initialisation notice and glog/absl INFO and WARNING lines ("I1204 ...", "W0000 ...").
#: Everything else (glog E/F lines, "Check failed", "terminate called ...", crash reports) passes.
NATIVE_CHATTER = rb"^(?:INFO: |WARNING: All log messages before absl::InitializeLog|[IW]\d{4} )"

_FILTER = f"""
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # outlive a Ctrl-C of movekit to pass its last words
chatter = re.compile({NATIVE_CHATTER!r})
for line in sys.stdin.buffer:
    if not chatter.match(line):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
"""


def _filter_native_stderr() -> None:
    """Drop native libraries' start-up chatter from file descriptor 2, let their errors through.

    MediaPipe's TFLite and absl print chatter ("Created TensorFlow Lite XNNPACK delegate",
    "Feedback manager requires ...") straight to fd 2, some of it from their own threads at any
    time. fd 2 becomes a pipe to a small filter process that drops :data:`NATIVE_CHATTER` lines
    and copies the rest to the terminal; being a separate process, it still passes what native
    code wrote just before a crash (a glog ``F`` line before ``abort()``). movekit's errors,
    progress bars and tracebacks go through ``sys.stderr``, re-pointed at a copy of the original
    fd 2, and :mod:`faulthandler` reports a fatal signal there with the Python stack. Set
    ``MOVEKIT_NATIVE_LOGS=1`` to see every native line.
    """
    if os.environ.get("MOVEKIT_NATIVE_LOGS") or sys.stderr is not sys.__stderr__:
        return  # asked not to, already done, or stderr is captured (tests, an embedding program)
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        filt = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER],
            stdin=subprocess.PIPE,
            stdout=terminal,
            stderr=subprocess.DEVNULL,
        )
        os.dup2(filt.stdin.fileno(), 2)
        filt.stdin.close()  # fd 2 is now the only write end: the filter ends when movekit does
        sys.stderr = os.fdopen(terminal, "w", buffering=1, errors="backslashreplace")
        faulthandler.enable(file=sys.stderr)
    except OSError:
        pass


def _quiet_native_logs() -> None:
    for name, value in NATIVE_LOG_DEFAULTS.items():
        os.environ.setdefault(name, value)


def main(argv: list[str] | None = None) -> int:
    _quiet_native_logs()
    _filter_native_stderr()
    try:
        words = sys.argv[1:] if argv is None else argv
        parser = build_parser(words[0] if words and not words[0].startswith("-") else None)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error already told in one line
            return exc.code if isinstance(exc.code, int) else EXIT_ERROR
        if not getattr(args, "func", None):
            parser.print_help()
            return 1
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except MovekitError as exc:
        print(f"movekit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("movekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Python would complain again when flushing stdout at exit: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
