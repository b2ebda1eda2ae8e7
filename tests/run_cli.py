"""Run the movekit command line in a subprocess, as a user would (imported by the tests)."""

from __future__ import annotations

import subprocess
import sys


def movekit(*args, cwd=None, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """``python -m movekit.cli ARGS`` with text output captured; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "movekit.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        **kw,
    )
