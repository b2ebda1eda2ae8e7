"""movekit: sensor-driven movement assessment and biofeedback for chronic-pain rehabilitation."""

import os
from importlib.metadata import PackageNotFoundError, version

# OpenCV, FFmpeg and MediaPipe log to stderr on their own; movekit reports problems itself in
# one clear line. Set these variables before running movekit to see their logs again.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    __version__ = version("movekit")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

from movekit.errors import MovekitError

__all__ = ["MovekitError", "__version__"]
