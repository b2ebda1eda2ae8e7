"""``movekit`` command line: finds the subcommands in :mod:`movekit.commands`."""

from __future__ import annotations

import argparse
import importlib
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


def main(argv: list[str] | None = None) -> int:
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
