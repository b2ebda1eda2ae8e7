"""Device profiles: what to subscribe to, what to write, and how bytes become samples with units.

A profile is a :class:`Profile` (names, UUIDs, streams, commands) with a :meth:`Profile.new_decoder`
that returns a stateful :class:`Decoder`: ``feed(bytes) -> list[Decoded]``. A decoder knows nothing of
time; it gives each sample a device-side *index* (the device's own counter, unwrapped, or a running
count at the nominal rate), and :mod:`movekit.capture.ble.clock_sync` maps indices to the session
clock.

Profiles ship as data (``*.toml`` beside this file, read by :mod:`.generic`) wherever the packet fits
that form; the OpenBCI Ganglion's bit-packed deltas do not, so :mod:`.ganglion` is code.
Clinics add devices by dropping a TOML file in a folder named by ``$MOVEKIT_BLE_PROFILES``
(``os.pathsep``-separated) or passing its path as the profile name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from movekit.errors import MovekitError

PROFILE_DIR = Path(__file__).parent


class DecodeError(ValueError):
    """A notification that does not fit the profile (garbage, wrong device, truncated)."""


@dataclass(frozen=True)
class StreamInfo:
    """One output stream of a device: ``suffix`` is appended to the device's stream name."""

    suffix: str
    channel_names: tuple[str, ...]
    unit: str
    rate_hz: float
    kind: str  #: imu, emg, goniometer, inclinometer, ...

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.channel_names),)


@dataclass
class Decoded:
    """Samples of one stream from one notification, before clock mapping."""

    suffix: str
    index: np.ndarray  #: int64 (N,), device sample index (unwrapped counter or running count)
    data: np.ndarray  #: float32 (N, channels), in the stream's unit


class Decoder(Protocol):
    """Optionally also ``bad_records`` (int, bad runs of bytes skipped so far, including inside
    notifications that also held good records) and ``last_problem`` (str): the transport then counts
    and reports those too, and the clock mapping places the samples after them by arrival time."""

    def feed(self, data: bytes) -> list[Decoded]:
        """Decode one notification; raise :class:`DecodeError` for bytes that do not fit."""

    def reset(self) -> None:
        """Forget state (after a reconnect: counters restart, deltas need a new reference)."""


@dataclass
class Command:
    char_uuid: str
    data: bytes
    response: bool = True


@dataclass
class Profile:
    name: str
    description: str
    kind: str
    service_uuid: str
    notify_uuid: str
    write_uuid: str | None
    streams: tuple[StreamInfo, ...]
    name_prefixes: tuple[str, ...] = ()
    rate_hz: float = 0.0
    latency_s: float = 0.0  #: typical air + stack delay added by the clock mapping (0: unknown)
    has_counter: bool = False
    source: str = ""  #: file or module it came from
    options: dict = field(default_factory=dict)

    def new_decoder(self) -> Decoder:  # pragma: no cover - abstract
        raise NotImplementedError

    def start_commands(self, rate_hz: float | None = None) -> list[Command]:
        return []

    def stop_commands(self) -> list[Command]:
        return []

    def matches(self, name: str | None, uuids: list[str]) -> bool:
        from movekit.capture.ble.mock_bluez import full_uuid

        if full_uuid(self.service_uuid) in {full_uuid(u) for u in uuids}:
            return True
        return bool(name) and any(name.startswith(p) for p in self.name_prefixes)


def _search_dirs() -> list[Path]:
    dirs = [PROFILE_DIR]
    extra = os.environ.get("MOVEKIT_BLE_PROFILES")
    if extra:
        dirs = [Path(d) for d in extra.split(os.pathsep) if d] + dirs
    return dirs


def available_profiles() -> list[str]:
    names = {"ganglion"}
    for d in _search_dirs():
        names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def get_profile(name: str) -> Profile:
    """A profile by name (``witmotion``, ``ganglion``, ``generic_emg``, ...) or TOML file path."""
    if name.endswith(".toml") or os.sep in name:
        from movekit.capture.ble.profiles.generic import load_profile

        return load_profile(Path(name))
    if name == "ganglion":
        from movekit.capture.ble.profiles.ganglion import GanglionProfile

        return GanglionProfile()
    if name in ("witmotion", "wt901ble"):
        from movekit.capture.ble.profiles.witmotion import witmotion_profile

        return witmotion_profile()
    for d in _search_dirs():
        path = d / f"{name}.toml"
        if path.exists():
            from movekit.capture.ble.profiles.generic import load_profile

            return load_profile(path)
    raise MovekitError(f"unknown BLE profile {name!r}; known: {', '.join(available_profiles())}")


def guess_profile(name: str | None, uuids: list[str]) -> str | None:
    """Name of the profile movekit would use for an advertisement, or None."""
    for pname in available_profiles():
        try:
            prof = get_profile(pname)
        except MovekitError:
            continue
        if prof.matches(name, uuids):
            return prof.name
    return None
