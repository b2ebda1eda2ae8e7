"""``movekit`` command line: finds the subcommands in :mod:`movekit.commands`."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from movekit import __version__
from movekit.errors import MovekitError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="movekit",
        description="Movement assessment and biofeedback from webcam pose and BLE sensors.",
    )
    parser.add_argument("--version", action="version", version=f"movekit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    import movekit.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"movekit.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def _silence_native_stderr() -> None:
    """Send what native libraries write to file descriptor 2 to /dev/null, keep Python's stderr.

    MediaPipe's TFLite and absl print start-up chatter ("Created TensorFlow Lite XNNPACK
    delegate", "Feedback manager requires ...") straight to fd 2, some of it from their own
    threads at any time. movekit's errors, warnings, progress bars and tracebacks go through
    ``sys.stderr``, which is re-pointed at a copy of the original fd 2. Set
    ``MOVEKIT_NATIVE_LOGS=1`` to see the native logs.
    """
    if os.environ.get("MOVEKIT_NATIVE_LOGS") or sys.stderr is not sys.__stderr__:
        return  # asked not to, already done, or stderr is captured (tests, an embedding program)
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = os.fdopen(terminal, "w", buffering=1, errors="backslashreplace")
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    _silence_native_stderr()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except MovekitError as exc:
        print(f"movekit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("movekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
