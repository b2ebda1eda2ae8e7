"""OpenBCI Ganglion (4 channels, 200 Hz) over BLE.

Verified against OpenBCI's "Ganglion Data Format" (docs.openbci.com/Ganglion/GanglionDataFormat) and
the maker's drivers (OpenBCI_NodeJS_Ganglion, as ported to OpenBCI_Python ``ganglion.py``), checked
against BrainFlow's ``ganglion.cpp``:

* GATT: service ``fe84``; receive (notify) ``2d30c082-f39f-4ce6-923f-3484ea480596``; send (write)
  ``2d30c083-...``; disconnect ``2d30c084-...``. Write ASCII ``b`` to start streaming, ``s`` to stop.
* Every notification is 20 bytes: a packet ID byte then 19 bytes.
  - ID 0: uncompressed: four 24-bit big-endian two's-complement counts (bytes 1..12). It sets the
    reference for the deltas that follow.
  - ID 1..100: 18-bit compression (accelerometer on): eight 18-bit deltas, bit-packed MSB first in
    bytes 1..18 (2 samples x 4 channels); byte 19 carries one accelerometer axis (not decoded here).
    Sample numbers ``(id - 1) * 2 + 1`` and ``+ 2``.
  - ID 101..200: 19-bit compression (accelerometer off): eight 19-bit deltas in bytes 1..19.
    Sample numbers ``(id - 101) * 2 + 1`` and ``+ 2``.
  - The deltas are *subtracted*: sample1 = previous sample - delta[0:4]; sample2 = sample1 - delta[4:8].
  - Sign: the compressed numbers carry their sign in the least significant bit ("LSB bit 1 used as
    sign", OpenBCI_Python ``conv19bitToInt32``): when bit 0 is set the number is ``raw - 2**N``.
    (BrainFlow tests the most significant bit instead and subtracts one more count: it differs by at
    most 1 count = 0.0019 uV; we follow the maker.)
  - ID 201..205: impedance of channels 1-4 and reference, ASCII digits ending ``Z\\n`` (kOhm);
    206/207: ASCII message / end of message. Reported as events, not samples.
* Scale: ``1.2 V * 1e6 / (8388607 * 1.5 * 51)`` uV per count (MCP3912 Vref 1.2 V, gain 51, x1.5;
  OpenBCI_Python ``scale_fac_uVolts_per_count``; the OpenBCI page prints the formula with ``*`` for
  ``/``).
* Sample index: the packet ID cycles through 1..200 (two samples each, 100 packets per second); the
  decoder unwraps it into a running sample index so the clock mapping sees lost packets as gaps.
"""

from __future__ import annotations

import numpy as np

from movekit.capture.ble.profiles import Command, Decoded, DecodeError, Profile, StreamInfo

SERVICE_UUID = "0000fe84-0000-1000-8000-00805f9b34fb"
RECEIVE_UUID = "2d30c082-f39f-4ce6-923f-3484ea480596"
SEND_UUID = "2d30c083-f39f-4ce6-923f-3484ea480596"
DISCONNECT_UUID = "2d30c084-f39f-4ce6-923f-3484ea480596"
UV_PER_COUNT = 1.2e6 / (8388607.0 * 1.5 * 51.0)
RATE_HZ = 200.0


def _bits_to_ints(payload: bytes, nbits: int, count: int) -> list[int]:
    """``count`` unsigned ``nbits``-bit numbers packed MSB first."""
    v = int.from_bytes(payload, "big")
    total = len(payload) * 8
    out = []
    for k in range(count):
        shift = total - (k + 1) * nbits
        out.append((v >> shift) & ((1 << nbits) - 1))
    return out


def _signed_lsb(u: int, nbits: int) -> int:
    return u - (1 << nbits) if (u & 1) else u


def _int24_be(b: bytes) -> int:
    v = int.from_bytes(b, "big")
    return v - (1 << 24) if v & 0x800000 else v


def encode_deltas(deltas: np.ndarray, nbits: int = 19) -> bytes:
    """Pack eight signed deltas (sample order, 4 channels each) into 19 (or 18) bytes; for simulators.

    The sign rule forces the LSB: negatives odd, non-negatives even (the firmware loses one bit).
    """
    v = 0
    for d in np.asarray(deltas, dtype=np.int64).ravel():
        d = int(d)
        d = d | 1 if d < 0 else d & ~1
        v = (v << nbits) | (d & ((1 << nbits) - 1))
    nbytes = (8 * nbits + 7) // 8
    v <<= nbytes * 8 - 8 * nbits
    return v.to_bytes(nbytes, "big")


class GanglionDecoder:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.last: np.ndarray | None = None  # last sample, counts (4,)
        self._cycle = 0
        self._last_num: int | None = None
        self.impedance_kohm: dict[int, float] = {}
        self.messages: list[str] = []
        self._ascii = ""

    def _index(self, sample_num: int) -> int:
        # sample numbers 1..200 per cycle (0 for the raw packet); unwrap into a running index
        if self._last_num is not None and sample_num <= self._last_num:
            self._cycle += 1
        self._last_num = sample_num
        return self._cycle * 200 + sample_num

    def feed(self, data: bytes) -> list[Decoded]:
        data = bytes(data)
        if len(data) != 20:
            raise DecodeError(f"ganglion: {len(data)}-byte packet, expected 20")
        pid = data[0]
        if pid == 0:
            counts = np.array([_int24_be(data[1 + 3 * i : 4 + 3 * i]) for i in range(4)], dtype=np.int64)
            self.last = counts
            num = 0 if self._last_num is None else self._last_num + 1
            idx = np.array([self._index(num if num <= 200 else 1)], dtype=np.int64)
            return [Decoded("emg", idx, (counts * UV_PER_COUNT).astype(np.float32)[None, :])]
        if 1 <= pid <= 200:
            nbits = 18 if pid <= 100 else 19
            base = (pid - 1) * 2 if pid <= 100 else (pid - 101) * 2
            if self.last is None:
                raise DecodeError("ganglion: compressed packet before the first raw (ID 0) packet")
            raw = _bits_to_ints(data[1 : 1 + (8 * nbits + 7) // 8], nbits, 8)
            deltas = np.array([_signed_lsb(u, nbits) for u in raw], dtype=np.int64).reshape(2, 4)
            s1 = self.last - deltas[0]
            s2 = s1 - deltas[1]
            self.last = s2
            idx = np.array([self._index(base + 1), self._index(base + 2)], dtype=np.int64)
            samples = np.stack([s1, s2]).astype(np.float64) * UV_PER_COUNT
            return [Decoded("emg", idx, samples.astype(np.float32))]
        if 201 <= pid <= 205:
            text = data[1:].split(b"Z")[0].decode("ascii", errors="replace").strip()
            try:
                self.impedance_kohm[pid - 200] = float(text)
            except ValueError:
                raise DecodeError(f"ganglion: impedance packet {pid} not a number: {text!r}") from None
            return []
        if pid in (206, 207):
            self._ascii += data[1:].decode("ascii", errors="replace").rstrip("\x00")
            if pid == 207:
                self.messages.append(self._ascii)
                self._ascii = ""
            return []
        raise DecodeError(f"ganglion: unknown packet ID {pid}")


class GanglionProfile(Profile):
    def __init__(self) -> None:
        super().__init__(
            name="ganglion",
            description="OpenBCI Ganglion, 4-channel EMG/EEG at 200 Hz (compressed deltas)",
            kind="emg",
            service_uuid=SERVICE_UUID,
            notify_uuid=RECEIVE_UUID,
            write_uuid=SEND_UUID,
            streams=(StreamInfo("emg", ("ch1", "ch2", "ch3", "ch4"), "uV", RATE_HZ, "emg"),),
            name_prefixes=("Ganglion",),
            rate_hz=RATE_HZ,
            has_counter=True,
            source=__file__,
        )

    def new_decoder(self) -> GanglionDecoder:
        return GanglionDecoder()

    def start_commands(self, rate_hz: float | None = None) -> list[Command]:
        return [Command(SEND_UUID, b"b", True)]

    def stop_commands(self) -> list[Command]:
        return [Command(SEND_UUID, b"s", True)]
