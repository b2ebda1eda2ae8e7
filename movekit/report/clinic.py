"""The clinic header of a report, from a small TOML file (``movekit report --clinic clinic.toml``).

Example::

    [clinic]
    name = "Northside Physiotherapy"
    address = ["12 High Street", "Leeds LS1 4AB"]   # or one string
    phone = "0113 496 0000"
    email = "front.desk@example.org"
    logo = "logo.png"        # PNG, JPEG or SVG, relative to this file, at most 1 MB

The keys may also sit at the top level of the file. The logo is embedded in the report (a data URI),
so the report stays one self-contained file.
"""

from __future__ import annotations

import base64
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from movekit.errors import MovekitError

__all__ = ["ClinicHeader", "load_clinic"]

#: keys a clinic file may hold
CLINIC_KEYS = ("name", "address", "phone", "email", "website", "logo")
#: logo file suffix -> media type
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
LOGO_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class ClinicHeader:
    """What the report's first page shows at its top."""

    name: str
    address_lines: tuple[str, ...] = ()
    contact: tuple[str, ...] = ()  #: phone, email, website as given
    logo_data_uri: str | None = None


def _text(value, key: str, path: Path) -> str:
    if not isinstance(value, str):
        raise MovekitError(f"{path}: clinic '{key}' must be text, not {type(value).__name__}")
    return value.strip()


def _logo(value, path: Path) -> str:
    logo = Path(_text(value, "logo", path)).expanduser()
    logo = logo if logo.is_absolute() else path.parent / logo
    kind = LOGO_TYPES.get(logo.suffix.lower())
    if kind is None:
        raise MovekitError(f"{path}: clinic logo {logo.name} must be {', '.join(LOGO_TYPES)}")
    try:
        size = logo.stat().st_size
        if size > LOGO_MAX_BYTES:
            raise MovekitError(f"{path}: clinic logo {logo} is {size} bytes; at most {LOGO_MAX_BYTES} fit a report")
        data = logo.read_bytes()
    except OSError as exc:
        raise MovekitError(f"{path}: cannot read the clinic logo {logo}: {exc.strerror or exc}") from None
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def load_clinic(path: str | os.PathLike) -> ClinicHeader:
    """Read a clinic header file (see the module docstring).

    Raises
    ------
    MovekitError
        The file is missing, not TOML, has unknown keys, no ``name``, or an unreadable logo.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MovekitError(f"cannot read clinic file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MovekitError(f"{path} is not a valid TOML clinic file: {exc}") from None
    table = doc.get("clinic", doc)
    if not isinstance(table, dict):
        raise MovekitError(f"{path}: [clinic] must be a table")
    unknown = sorted(set(table) - set(CLINIC_KEYS))
    if unknown:
        raise MovekitError(f"{path}: unknown clinic key(s) {', '.join(unknown)}; allowed: {', '.join(CLINIC_KEYS)}")
    if not table.get("name"):
        raise MovekitError(f'{path}: the clinic file needs a name (name = "...")')
    address = table.get("address", [])
    lines = [address] if isinstance(address, str) else address
    if not isinstance(lines, list):
        raise MovekitError(f"{path}: clinic 'address' must be text or a list of lines")
    return ClinicHeader(
        name=_text(table["name"], "name", path),
        address_lines=tuple(_text(v, "address", path) for v in lines if str(v).strip()),
        contact=tuple(_text(table[k], k, path) for k in ("phone", "email", "website") if table.get(k)),
        logo_data_uri=_logo(table["logo"], path) if table.get("logo") else None,
    )
