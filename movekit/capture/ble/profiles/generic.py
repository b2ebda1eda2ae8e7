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
    records_per_notification = 0       # 0: as many as fit; else exactly this many (no header only:
                                       # with a header, every whole record is decoded)
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
    """Decoder for fixed-size records described by a ``struct`` format.

    With a ``header``, a notification is parsed record by record: any number of records per
    notification (devices coalesce them at high rates), and after bytes that fit no record (wrong
    header, a truncated record, another packet format) the parser resynchronises on the next header.
    Bytes that fit no record are counted in :attr:`bad_records` (one per unparseable run) and never
    become samples; ``feed`` raises :class:`DecodeError` only when a notification held no record at
    all. Without a header, records are cut at fixed offsets (``records_per_notification``).
    """

    def __init__(self, profile: GenericProfile) -> None:
        self.p = profile
        self.bad_records = 0  #: runs of bytes that fit no record, since the decoder was made
        self.last_problem = ""  #: why the most recent bad run was rejected
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self._last_counter: int | None = None
        self._counter_base = 0

    def _bad(self, why: str) -> None:
        self.bad_records += 1
        self.last_problem = why

    def _split_by_header(self, data: bytes) -> list[bytes]:
        """The whole records in ``data``, resynchronising on the header after bad bytes."""
        p, hdr = self.p, self.p.header
        size = len(hdr) + p.record_struct.size
        known = (hdr, *p.ignore_headers)

        def whole(q: int) -> bool:  # a record at q, followed by the end or by another known header
            return (
                data.startswith(hdr, q)
                and q + size <= len(data)
                and (q + size == len(data) or any(data.startswith(h, q + size) for h in known))
            )

        recs, pos = [], 0
        while pos < len(data):
            if any(data.startswith(h, pos) for h in p.ignore_headers):
                if pos + size >= len(data) or any(data.startswith(h, pos + size) for h in known):
                    pos += size  # a known non-data packet (same size): skipped quietly
                else:
                    nxt = data.find(hdr, pos + 1)
                    pos = len(data) if nxt < 0 else nxt
                continue
            if data.startswith(hdr, pos):
                if whole(pos):
                    recs.append(data[pos : pos + size])
                    pos += size
                    continue
                # a header inside the span: this record was cut short and another one begins there
                inner = data.find(hdr, pos + 1)
                if pos + size <= len(data) and not 0 <= inner < pos + size:
                    recs.append(data[pos : pos + size])  # a whole record followed by garbage
                    pos += size
                    continue
                end = len(data) if inner < 0 else inner
                self._bad(f"{p.name}: a record cut short ({end - pos} of {size} bytes)")
                pos = end
                continue
            nxt = data.find(hdr, pos + 1)
            end = len(data) if nxt < 0 else nxt
            self._bad(
                f"{p.name}: {end - pos} byte(s) starting {data[pos : pos + len(hdr)].hex()}, expected {hdr.hex()}"
            )
            pos = end
        return recs

    def _split_fixed(self, data: bytes) -> list[bytes]:
        p = self.p
        size = p.record_struct.size
        n = p.records_per_notification or len(data) // size
        if n == 0 or len(data) < n * size:
            self._bad(f"{p.name}: {len(data)} bytes, expected {max(n, 1) * size}")
            return []
        return [data[k * size : (k + 1) * size] for k in range(n)]

    def feed(self, data: bytes) -> list[Decoded]:
        p = self.p
        data = bytes(data)
        bad_before = self.bad_records
        recs = self._split_by_header(data) if p.header else self._split_fixed(data)
        if not recs:
            if self.bad_records > bad_before:
                raise DecodeError(self.last_problem)
            return []
        n = len(recs)
        raw = np.asarray([p.record_struct.unpack_from(r, len(p.header)) for r in recs], dtype=np.float64)
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
            raise MovekitError(
                f"profile {self.name}: rate {rate_hz} Hz not supported; "
                f"choose one of {', '.join(f'{k:g}' for k in sorted(codes))}"
            )
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
            streams.append(
                StreamInfo(
                    s["suffix"],
                    names,
                    s["unit"],
                    float(s.get("rate_hz", d["rate_hz"])),
                    s.get("kind", d.get("kind", "generic")),
                )
            )
            fields.append((idx, scale, offset))
        p = GenericProfile(
            name=d["name"],
            description=d.get("description", ""),
            kind=d.get("kind", "generic"),
            service_uuid=d["service_uuid"],
            notify_uuid=d["notify_uuid"],
            write_uuid=d.get("write_uuid"),
            streams=tuple(streams),
            name_prefixes=tuple(d.get("name_prefixes", ())),
            rate_hz=float(d["rate_hz"]),
            latency_s=float(d.get("latency_s", 0.0)),
            has_counter=pk.get("counter_field") is not None,
            source=source,
            options=dict(d.get("options", {})),
        )
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
