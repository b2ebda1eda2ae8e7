"""What every benchmark prints beside its figure: the machine it ran on."""

from __future__ import annotations

import os
import platform
import sys


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {sys.version.split()[0]}, numpy {numpy.__version__}")
