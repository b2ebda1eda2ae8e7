"""Shared fixtures: the real sample clip and one real capture of it, made once per test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory):
    """Calibration profiles saved without --dir go to a temporary user data folder, never the
    real one (movekit.calibration.profile_dir honours MOVEKIT_DATA_DIR)."""
    old = os.environ.get("MOVEKIT_DATA_DIR")
    os.environ["MOVEKIT_DATA_DIR"] = str(tmp_path_factory.mktemp("movekit-data"))
    yield Path(os.environ["MOVEKIT_DATA_DIR"])
    if old is None:
        os.environ.pop("MOVEKIT_DATA_DIR", None)
    else:
        os.environ["MOVEKIT_DATA_DIR"] = old


@pytest.fixture(scope="session")
def demo_clip() -> Path:
    """The Sports2D demo clip: the copy shipped as package data, hash-checked against its pinned
    PyPI version (movekit.datasets.fetch)."""
    from movekit.datasets import fetch

    return fetch("sports2d_demo")


@pytest.fixture(scope="session")
def demo_recording(demo_clip, tmp_path_factory) -> Path:
    """A recording of the whole clip through the real pose model (one run per session)."""
    from movekit.capture.pipeline import capture

    out = tmp_path_factory.mktemp("demo") / "demo.mkrec"
    capture(demo_clip, out, keys=False, metadata={"client": "test"})
    return out


@pytest.fixture(scope="session")
def demo_recording_research(demo_clip, tmp_path_factory) -> Path:
    """The demo clip captured in research mode (live angles not refused by their error): a live
    stream full of numbers, for the replay tests."""
    from movekit.analysis.error_model import ungated
    from movekit.capture.pipeline import capture

    out = tmp_path_factory.mktemp("demo_research") / "demo.mkrec"
    with ungated():
        capture(demo_clip, out, keys=False, metadata={"client": "test"})
    return out


@pytest.fixture(scope="session")
def demo_pose(demo_recording):
    """PoseSeries of the demo clip."""
    from movekit.recording import open_recording

    return open_recording(demo_recording).pose()


@pytest.fixture(scope="session")
def captured(tmp_path_factory):
    """``captured(name)``: a recording of the pinned clip ``name`` through the real pose model,
    made once per test session (each Pose2Sim clip is about 5 s of pose on 2 cores)."""
    from movekit.capture.pipeline import capture
    from movekit.datasets import fetch

    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            out = tmp_path_factory.mktemp(name) / f"{name}.mkrec"
            capture(fetch(name), out, keys=False)
            done[name] = out
        return done[name]

    return get


@pytest.fixture
def ungated():
    """Angles not refused by their expected error inside the test (research mode): for tests of
    the logic above the angles (reps, phases, scores) on footage the error model refuses; the
    gated default is tested beside them."""
    from movekit.analysis.error_model import ungated as _ungated

    with _ungated():
        yield
