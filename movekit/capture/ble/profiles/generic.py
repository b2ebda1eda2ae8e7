"""Generic GATT profile from a TOML data file: a clinic adds a device without code.

Format (see ``witmotion.toml`` and ``generic_emg.toml`` beside this file)::

    name = "my_sensor"
    description = "..."
    kind = "emg"                       # imu, emg, inclinometer, goniometer, ...
    service_uuid = "ffe5"              # 16-bit or 128-bit
    notify_uuid = "ffe4"
    write_uuid = "ffe9"                # optional
    rate_hz = 100.0                    # nominal output rate
    latency_s = 0.0                    # optional constant delay to subtract (air + stack)
    name_prefixes = ["WT901"]          # optional, for `movekit devices scan`

    [packet]
    byteorder = "<"                    # struct byte order
    header = "5561"                    # optional hex prefix of every record
    record = "9h"                      # struct format of one record after the header
    records_per_notification = 0       # 0: as many as fit; else exactly this many
    ignore_headers = ["5571"]          # optional: known non-data packets, skipped quietly
    counter_field = 0                  # optional: index of a field that counts samples
    counter_modulo = 65536             # wrap of that counter

    [[streams]]
    suffix = "acc"
    fields = [0, 1, 2]                 # indices into the record's fields
    scale = 0.00048828125              # value = raw * scale + offset
    offset = 0.0
    unit = "g"
    channel_names = ["x", "y", "z"]

    [rate_command]                     # optional: how to set the output rate
    char = "ffe9"
    template = "ffaa03{code:02x}00"    # hex, {code} filled from codes
    codes = { "10" = 6, "100" = 9 }

    [[start_commands]]                 # optional, sent after subscribing
    char = "ffe9"
    hex = "62"
"""

from __future__ import annotations

import struct
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from movekit.capture.ble.profiles import Command, Decoded, DecodeError, Profile, StreamInfo
from movekit.errors import MovekitError


class StructDecoder:
    """Decoder for fixed-size records described by a ``struct`` format."""

    def __init__(self, profile: "GenericProfile") -> None:
        self.p = profile
        self.count = 0
        self._last_counter: int | None = None
        self._counter_base = 0

    def reset(self) -> None:
        self.count = 0
        self._last_counter = None
        self._counter_base = 0

    def feed(self, data: bytes) -> list[Decoded]:
        p = self.p
        data = bytes(data)
        hdr = p.header
        if any(data.startswith(h) for h in p.ignore_headers):
            return []
        size = len(hdr) + p.record_struct.size
        if p.records_per_notification:
            n = p.records_per_notification
            if len(data) < n * size:
                raise DecodeError(f"{p.name}: {len(data)} bytes, expected {n * size}")
        else:
            n = len(data) // size
            if n == 0:
                raise DecodeError(f"{p.name}: {len(data)} bytes is shorter than one {size}-byte record")
        rows = []
        for k in range(n):
            rec = data[k * size:(k + 1) * size]
            if hdr and not rec.startswith(hdr):
                raise DecodeError(f"{p.name}: record starts {rec[:len(hdr)].hex()}, expected {hdr.hex()}")
            rows.append(p.record_struct.unpack_from(rec, len(hdr)))
        raw = np.asarray(rows, dtype=np.float64)
        if p.counter_field is not None:
            idx = np.empty(n, dtype=np.int64)
            for k in range(n):
                c = int(raw[k, p.counter_field])
                if self._last_counter is not None and c < self._last_counter:
                    self._counter_base += p.counter_modulo
                self._last_counter = c
                idx[k] = self._counter_base + c
        else:
            idx = np.arange(self.count, self.count + n, dtype=np.int64)
        self.count += n
        out = []
        for s, (fields, scale, offset) in zip(p.streams, p.stream_fields):
            out.append(Decoded(s.suffix, idx, (raw[:, fields] * scale + offset).astype(np.float32)))
        return out


class GenericProfile(Profile):
    header: bytes
    record_struct: struct.Struct
    records_per_notification: int
    ignore_headers: tuple[bytes, ...]
    counter_field: int | None
    counter_modulo: int
    stream_fields: list[tuple[list[int], np.ndarray, np.ndarray]]
    rate_command: dict | None
    extra_start: list[Command]
    extra_stop: list[Command]

    def new_decoder(self) -> StructDecoder:
        return StructDecoder(self)

    def rate_command_for(self, rate_hz: float) -> Command:
        rc = self.rate_command
        if not rc:
            raise MovekitError(f"profile {self.name} cannot set its output rate")
        codes = {float(k): int(v) for k, v in rc["codes"].items()}
        if float(rate_hz) not in codes:
            raise MovekitError(f"profile {self.name}: rate {rate_hz} Hz not supported; "
                               f"choose one of {', '.join(f'{k:g}' for k in sorted(codes))}")
        data = bytes.fromhex(rc["template"].format(code=codes[float(rate_hz)]))
        return Command(rc["char"], data, bool(rc.get("response", True)))

    def start_commands(self, rate_hz: float | None = None) -> list[Command]:
        cmds = []
        if self.rate_command:  # always set it: the device may have saved another rate
            cmds.append(self.rate_command_for(self.rate_hz if rate_hz is None else rate_hz))
        return cmds + list(self.extra_start)

    def stop_commands(self) -> list[Command]:
        return list(self.extra_stop)


def _commands(items: list[dict[str, Any]], where: str) -> list[Command]:
    out = []
    for c in items or []:
        try:
            out.append(Command(str(c["char"]), bytes.fromhex(str(c["hex"])), bool(c.get("response", True))))
        except (KeyError, ValueError) as exc:
            raise MovekitError(f"{where}: bad command {c!r}: {exc}") from None
    return out


def profile_from_dict(d: dict[str, Any], source: str = "<dict>") -> GenericProfile:
    try:
        pk = d.get("packet", {})
        order = pk.get("byteorder", "<")
        rec = struct.Struct(order + pk["record"])
        streams, fields = [], []
        nfields = len(rec.unpack(bytes(rec.size)))
        for s in d["streams"]:
            idx = [int(i) for i in s["fields"]]
            if any(i < 0 or i >= nfields for i in idx):
                raise MovekitError(f"{source}: stream {s['suffix']!r} field index out of 0..{nfields - 1}")
            names = tuple(s.get("channel_names") or [f"ch{i}" for i in range(len(idx))])
            if len(names) != len(idx):
                raise MovekitError(f"{source}: stream {s['suffix']!r} has {len(idx)} fields and {len(names)} names")
            scale = np.broadcast_to(np.asarray(s.get("scale", 1.0), dtype=np.float64), (len(idx),)).copy()
            offset = np.broadcast_to(np.asarray(s.get("offset", 0.0), dtype=np.float64), (len(idx),)).copy()
            streams.append(StreamInfo(s["suffix"], names, s["unit"], float(s.get("rate_hz", d["rate_hz"])),
                                      s.get("kind", d.get("kind", "generic"))))
            fields.append((idx, scale, offset))
        p = GenericProfile(
            name=d["name"], description=d.get("description", ""), kind=d.get("kind", "generic"),
            service_uuid=d["service_uuid"], notify_uuid=d["notify_uuid"], write_uuid=d.get("write_uuid"),
            streams=tuple(streams), name_prefixes=tuple(d.get("name_prefixes", ())),
            rate_hz=float(d["rate_hz"]), latency_s=float(d.get("latency_s", 0.0)),
            has_counter=pk.get("counter_field") is not None, source=source, options=dict(d.get("options", {})))
    except KeyError as exc:
        raise MovekitError(f"{source}: missing key {exc}") from None
    except struct.error as exc:
        raise MovekitError(f"{source}: bad struct format: {exc}") from None
    p.header = bytes.fromhex(pk.get("header", ""))
    p.record_struct = rec
    p.records_per_notification = int(pk.get("records_per_notification", 0))
    p.ignore_headers = tuple(bytes.fromhex(h) for h in pk.get("ignore_headers", []))
    cf = pk.get("counter_field")
    p.counter_field = None if cf is None else int(cf)
    p.counter_modulo = int(pk.get("counter_modulo", 65536))
    p.stream_fields = fields
    p.rate_command = d.get("rate_command")
    p.extra_start = _commands(d.get("start_commands", []), source)
    p.extra_stop = _commands(d.get("stop_commands", []), source)
    return p


def load_profile(path: Path) -> GenericProfile:
    path = Path(path)
    try:
        d = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise MovekitError(f"BLE profile file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MovekitError(f"{path}: not valid TOML: {exc}") from None
    return profile_from_dict(d, str(path))
