"""movekit: sensor-driven movement assessment and biofeedback for chronic-pain rehabilitation.

Importing movekit changes nothing in the process (no environment variables, no logging set-up):
the ``movekit`` command quiets the native libraries' logs itself (:func:`movekit.cli.main`).
"""

#: the one place the version is written (pyproject.toml reads it: ``[tool.setuptools.dynamic]``);
#: a constant, not ``importlib.metadata`` (0.05 s of every command's start-up)
__version__ = "0.1.0"

from movekit.errors import MovekitError

#: the notebook API (movekit.api), loaded on first use so that ``import movekit`` stays light
_API = ("angles", "emg", "reps", "rom", "screen", "sway", "views")


def __getattr__(name: str):
    if name in _API:
        from movekit import api

        return getattr(api, name)
    raise AttributeError(f"module 'movekit' has no attribute {name!r}")


__all__ = ["MovekitError", "__version__", *_API]
