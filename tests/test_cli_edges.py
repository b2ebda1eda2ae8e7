"""The command line at its edges: exit codes, a closed output pipe, native crash messages, and an
``import movekit`` that leaves the process environment alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from run_cli import movekit

from movekit.cli import EXIT_BROKEN_PIPE, EXIT_NOT_VALID, NATIVE_LOG_DEFAULTS
from movekit.datasets import fetch
from movekit.recording import RecordingWriter, StreamSpec


@pytest.fixture(scope="module")
def kistler_cop():
    """10 s of real standing on a Kistler plate: too short for a sway trial (>= 25 s) by default."""
    return fetch("kistler_cop")


def test_valid_assessment_exits_0(kistler_cop):
    done = movekit("assess", "balance", kistler_cop, "--min-duration", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("balance: valid")


def test_not_valid_assessment_exits_with_its_own_code(kistler_cop):
    done = movekit("assess", "balance", kistler_cop)
    assert done.stdout.startswith("balance: NOT VALID") and "need >= 25 s" in done.stdout
    assert done.returncode == EXIT_NOT_VALID == 3


def test_exit_codes_are_distinct():
    from movekit import cli

    codes = [0, 1, cli.EXIT_ERROR, cli.EXIT_NOT_VALID, cli.EXIT_INTERRUPTED, cli.EXIT_BROKEN_PIPE]
    assert len(set(codes)) == len(codes)
    assert all(f" {c} " in cli.__doc__ or f"\n{c} " in cli.__doc__ for c in codes[1:])  # documented


@pytest.fixture
def recording(tmp_path):
    path = tmp_path / "r.mkrec"
    with RecordingWriter(path, {"client": "c01"}) as w:
        w.add_stream(StreamSpec("angle_deg", (1,), "deg", 100.0))
        w.append("angle_deg", np.arange(500) / 100.0, np.linspace(0, 90, 500, dtype=np.float32)[:, None])
    return path


def _into_closed_pipe(*args) -> subprocess.CompletedProcess:
    """Run the CLI with stdout a pipe whose reader has already gone (``... | head`` after head quit)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "movekit.cli", *map(str, args)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)


def test_closed_output_pipe_is_no_traceback(recording):
    ok = movekit("info", "--json", recording)
    assert ok.returncode == 0 and json.loads(ok.stdout)["streams"]["angle_deg"]["samples"] == 500
    done = _into_closed_pipe("info", "--json", recording)
    assert done.returncode == EXIT_BROKEN_PIPE, done.stderr
    assert done.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored ..."
    assert _into_closed_pipe("--help").stderr == ""  # argparse's own output (it ignores the error)


@pytest.mark.skipif(os.name != "posix", reason="a POSIX shell and head")
def test_shell_pipe_into_head(recording):
    done = subprocess.run(
        f'"{sys.executable}" -m movekit.cli info --json "{recording}" | head -n 2',
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.splitlines() == ["{", f'  "path": "{recording}",']
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


NATIVE = r"""
import os, sys
from movekit.cli import _filter_native_stderr
_filter_native_stderr()
print("movekit's own message", file=sys.stderr, flush=True)
os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
os.write(2, b"W0000 00:00:1796384589.337298   19241 inference_feedback_manager.cc:114] Feedback manager "
            b"requires a model with a single signature inference.\n")
os.write(2, b"E0000 00:00:1796384589.4 19241 gl_context.cc:1] an error a user should see\n")
os.write(2, b"F0000 00:00:1796384589.5 19241 calculator_graph.cc:1] Check failed: graph_ready\n")
os.abort()
"""


@pytest.mark.skipif(os.name != "posix", reason="abort() and fd 2 as on POSIX")
def test_native_chatter_dropped_but_a_fatal_native_error_reaches_the_terminal():
    env = {k: v for k, v in os.environ.items() if k != "MOVEKIT_NATIVE_LOGS"}
    done = subprocess.run(
        [sys.executable, "-c", NATIVE], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == -signal.SIGABRT
    err = done.stderr
    assert "movekit's own message" in err
    assert "XNNPACK" not in err and "Feedback manager" not in err
    assert "an error a user should see" in err
    assert "Check failed: graph_ready" in err  # written just before abort(), still shown
    assert "Fatal Python error: Aborted" in err  # faulthandler names the crash
    shown = subprocess.run(
        [sys.executable, "-c", NATIVE],
        capture_output=True,
        text=True,
        timeout=60,
        env=env | {"MOVEKIT_NATIVE_LOGS": "1"},
        check=False,
    )
    assert "Feedback manager" in shown.stderr and "Check failed: graph_ready" in shown.stderr


def test_import_movekit_leaves_the_environment_alone():
    env = {k: v for k, v in os.environ.items() if k not in NATIVE_LOG_DEFAULTS}
    code = (
        "import os, json; before = dict(os.environ); "
        "import movekit, movekit.calibration, movekit.datasets, movekit.recording, movekit.cli; "
        "changed = {k: v for k, v in os.environ.items() if before.get(k) != v}; "
        "from movekit.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([changed, {{k: os.environ.get(k) for k in {sorted(NATIVE_LOG_DEFAULTS)!r}}}]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    changed, after_cli = json.loads(done.stdout.splitlines()[-1])
    assert changed == {}
    assert after_cli == NATIVE_LOG_DEFAULTS  # the command line sets its quiet defaults itself


def test_usage_errors_are_one_line_with_status_2(capsys):
    """A bad option is told in one line (no usage block) and returns 2 like every other user error;
    --help still prints the help and returns 0."""
    from movekit.cli import main

    assert main(["assess", "balance", "x.csv", "--min-duration", "nan"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("movekit assess: error:"), err
    assert main(["no-such-command"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["info", "--help"]) == 0
    assert "usage:" in capsys.readouterr().out
