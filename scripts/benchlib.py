"""Shared by the benchmarks: the machine a figure was measured on, and docs/benchmarks.md sections."""

from __future__ import annotations

import os
import platform
import re
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"


def machine(*packages: str) -> str:
    """CPU model, cores, load average, OS, Python, numpy and the named packages' versions, date."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    versions = ", ".join(f"{p} {version(p)}" for p in ("numpy", *packages))
    return (
        f"{cpu}, {os.cpu_count()} logical cores (load average {load:.1f} when measured), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, {versions}; "
        f"{time.strftime('%Y-%m-%d')}"
    )


def write_section(title: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) ``## title`` in docs/benchmarks.md, keeping every other section."""
    text = path.read_text() if path.exists() else "# movekit benchmarks\n"
    block = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text.rstrip("\n") + "\n")


def read_frames(path) -> tuple[list, float]:
    """Every frame (BGR) of a video file and its nominal rate (frames/s), for composing bench clips."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames, fps
