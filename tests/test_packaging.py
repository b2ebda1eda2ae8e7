"""The built wheel works on its own: installed outside the repository, ``movekit demo`` runs with no
network (the clip is package data) and calibration profiles go to the user's data folder.

The wheel is built from a copy of the sources (pip's isolated build, setuptools from the package
registry) and installed with ``--no-deps`` into a fresh venv in a temporary folder; a ``.pth``
file lends it the dependencies already installed in the test environment (but not the editable
movekit: ``.pth`` files of a folder named in a ``.pth`` file are not run).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from movekit.datasets import PINNED

REPO = Path(__file__).resolve().parents[1]
DEMO_SHA256 = PINNED["sports2d_demo"].sha256


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, check=False, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("build")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "movekit", src / "movekit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", src])
    assert done.returncode == 0, done.stderr[-2000:]
    (whl,) = (tmp / "dist").glob("movekit-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A venv outside the repository with the wheel installed; env for running it offline."""
    home = tmp_path_factory.mktemp("user")
    venv = home / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", venv]).returncode == 0
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    done = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])
    assert done.returncode == 0, done.stderr[-2000:]
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "_movekit_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "MOVEKIT_", "PYTHON")) and k != "VIRTUAL_ENV"
    }
    env.update(
        {
            "HOME": str(home),
            "MOVEKIT_DATA_DIR": str(home / "data"),
            "MOVEKIT_DATA_CACHE": str(home / "cache"),
            # any download attempt fails at once: no index, no config files, no route
            "PIP_NO_INDEX": "1",
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_FIND_LINKS": "",
            "http_proxy": "http://127.0.0.1:9",
            "https_proxy": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "no_proxy": "",
        }
    )
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    return {"home": home, "python": python, "movekit": scripts / "movekit", "site": site, "env": env}


def test_wheel_holds_the_demo_clip_and_the_profile_folder(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        clip = zf.read("movekit/data/sports2d_demo/demo.mp4")
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert hashlib.sha256(clip).hexdigest() == DEMO_SHA256 and len(clip) == 3_968_304
    assert {
        "movekit/data/sports2d_demo/LICENSE",
        "movekit/data/calibration/README.md",
        "movekit/analysis/data/angle_errors.json",
    } <= names
    assert not any(n.startswith(("calibration/", "sample_recordings/", "tests/")) for n in names)
    assert "Requires-Python: <3.13,>=3.11" in meta
    requires = {line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")}
    assert {"opencv-contrib-python>=4.8", "sounddevice>=0.4.4", "mediapipe==0.10.14"} <= requires
    assert not any(r.startswith("opencv-python") for r in requires)


def test_installed_movekit_runs_the_demo_offline(installed):
    home, env = installed["home"], installed["env"]
    where = _run([installed["python"], "-c", "import movekit; print(movekit.__file__)"], env=env, cwd=home)
    assert Path(where.stdout.strip()).is_relative_to(installed["site"]), where  # not the repository's copy
    done = _run([installed["movekit"], "demo", "--out", home / "demo"], env=env, cwd=home)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MediaPipe Pose on demo.mp4" in done.stdout and "Traceback" not in done.stderr
    # the native libraries' start-up chatter is filtered out of stderr
    assert "Feedback manager" not in done.stderr and "XNNPACK" not in done.stderr
    assert not (home / "cache").exists()  # datasets.fetch never ran
    info = _run([installed["movekit"], "info", "--json", home / "demo" / "demo.mkrec"], env=env, cwd=home)
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert summary["streams"]["pose_image_px"]["samples"] == 230  # every frame of the 7.67 s clip, 30 fps
    assert Path(summary["source"]).is_relative_to(installed["site"])  # the clip inside the package


def test_calibration_profiles_land_in_the_data_folder(installed):
    home, env = installed["home"], installed["env"]
    done = _run(
        [installed["movekit"], "calibrate", "level", "--reading", "14,-2", "--name", "room2"], env=env, cwd=home
    )
    assert done.returncode == 0, done.stderr
    profile = home / "data" / "calibration" / "room2.tilt.json"
    assert json.loads(profile.read_text())["pitch_deg"] == 14.0
    read = (
        "from movekit.calibration import load_tilt, profile_dir; t = load_tilt('room2'); "
        "print(t.pitch_deg, t.roll_deg, profile_dir())"
    )
    back = _run([installed["python"], "-c", read], env=env, cwd=home)
    assert back.returncode == 0, back.stderr
    assert back.stdout.split() == ["14.0", "-2.0", str(home / "data" / "calibration")]
    assert not list(installed["site"].rglob("*.tilt.json"))  # nothing written into site-packages
