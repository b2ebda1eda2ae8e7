"""movekit: sensor-driven movement assessment and biofeedback for chronic-pain rehabilitation.

Importing movekit changes nothing in the process (no environment variables, no logging set-up):
the ``movekit`` command quiets the native libraries' logs itself (:func:`movekit.cli.main`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("movekit")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

from movekit.errors import MovekitError

__all__ = ["MovekitError", "__version__"]
