"""argparse ``type=`` functions shared by every command: options are checked at the edge.

Each returns the parsed value or raises :class:`argparse.ArgumentTypeError`, which
argparse prints as one line (``argument --k: must be a finite number, not 'nan'``).

>>> import argparse
>>> p = argparse.ArgumentParser()
>>> _ = p.add_argument("--duration", type=positive_float)
>>> p.parse_args(["--duration", "2.5"]).duration
2.5
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import re
from collections.abc import Callable

#: the dates movekit accepts: clinic records, not history or the far future
MIN_YEAR = 1900
MAX_YEAR = 2200

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _bad(msg: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(msg)


def finite_float(text: str) -> float:
    """A finite number (no nan, inf)."""
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise _bad(f"must be a number, not {text!r}") from None
    if not math.isfinite(x):
        raise _bad(f"must be a finite number, not {text!r}")
    return x


def float_range(
    lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False, unit: str = ""
) -> Callable[[str], float]:
    """A finite number in [lo, hi] (or an open end: lo < x, x < hi)."""
    u = f" {unit}" if unit else ""

    def parse(text: str) -> float:
        x = finite_float(text)
        if lo is not None and (x <= lo if lo_open else x < lo):
            raise _bad(f"must be {'above' if lo_open else 'at least'} {lo:g}{u}, not {text}")
        if hi is not None and (x >= hi if hi_open else x > hi):
            raise _bad(f"must be {'below' if hi_open else 'at most'} {hi:g}{u}, not {text}")
        return x

    parse.__name__ = "number"
    return parse


def int_range(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """A whole number in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            x = int(text)
        except (TypeError, ValueError):
            raise _bad(f"must be a whole number, not {text!r}") from None
        if lo is not None and x < lo:
            raise _bad(f"must be at least {lo}, not {x}")
        if hi is not None and x > hi:
            raise _bad(f"must be at most {hi}, not {x}")
        return x

    parse.__name__ = "whole number"
    return parse


#: a duration or time span in seconds, above 0 (at most one day)
positive_seconds = float_range(0.0, 86400.0, lo_open=True, unit="s")
#: any number above 0
positive_float = float_range(0.0, None, lo_open=True)
#: a number at or above 0
nonneg_float = float_range(0.0, None)
#: a fraction 0..1 (e.g. a visibility threshold)
fraction = float_range(0.0, 1.0)
#: a 0-10 rating (pain, difficulty)
rating_0_10 = float_range(0.0, 10.0)
#: a whole number >= 0 (sets, reps)
count = int_range(0, 100_000)
#: a whole number >= 1 (weeks, per week)
positive_int = int_range(1, 100_000)
#: a database id
row_id = int_range(1, 2**62)


def iso_date(text: str) -> str:
    """A calendar date YYYY-MM-DD between :data:`MIN_YEAR` and :data:`MAX_YEAR`; returned as text."""
    try:
        d = _dt.date.fromisoformat(text.strip())
    except (TypeError, ValueError):
        raise _bad(f"must be a date YYYY-MM-DD, not {text!r}") from None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise _bad(f"must be a date between {MIN_YEAR} and {MAX_YEAR}, not {text}")
    return d.isoformat()


def finite_list(text: str) -> list[float]:
    """Comma-separated finite numbers (``"1.5,3"``); empty items are skipped."""
    out = []
    for item in text.split(","):
        if item.strip():
            out.append(finite_float(item.strip()))
    return out


def meta_item(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` for ``--meta``: a plain key that movekit does not write itself."""
    from movekit.recording import RESERVED_META_KEYS

    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,63}", key):
        raise _bad(f"takes KEY=VALUE with a plain KEY (letters, digits, _.-), not {text!r}")
    if key in RESERVED_META_KEYS:
        raise _bad(f"{key!r} is written by movekit itself; choose another key")
    return key, value


def safe_name(text: str) -> str:
    """A name used as a file name: letters, digits, ``._-``, no path separators, not hidden."""
    if not _SAFE_NAME.match(text or "") or text in (".", ".."):
        raise _bad(f"must be letters, digits, '.', '_' or '-' (no '/' or leading '.'), not {text!r}")
    return text


def check_safe_name(text: str, what: str = "name") -> str:
    """:func:`safe_name` for values that do not come through argparse: raise a MovekitError."""
    from movekit.errors import MovekitError

    try:
        return safe_name(text)
    except argparse.ArgumentTypeError as exc:
        raise MovekitError(f"{what} {exc}") from None
