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

#: the notebook API (movekit.api), loaded on first use so that ``import movekit`` stays light
_API = ("angles", "emg", "reps", "rom", "screen", "sway", "views")


def __getattr__(name: str):
    if name in _API:
        from movekit import api

        return getattr(api, name)
    raise AttributeError(f"module 'movekit' has no attribute {name!r}")


__all__ = ["MovekitError", "__version__", *_API]
