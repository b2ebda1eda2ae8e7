"""The project's lint rules and formatting ([tool.ruff] in pyproject.toml) hold over the whole
tree: part of the test command, so .ci/run enforces them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is in the test extra (scripts/setup.sh --test installs it)"
    return subprocess.run([ruff, *args, "movekit", "tests", "scripts"], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_passes():
    p = _ruff("check")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-1000:]


def test_ruff_format_check_passes():
    p = _ruff("format", "--check")
    assert p.returncode == 0, "run: ruff format movekit tests scripts\n" + p.stdout[-3000:]
