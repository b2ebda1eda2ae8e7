"""WitMotion BLE 5.0 IMUs (WT901BLE / WT901BLECL / BWT901BLE family).

Protocol, as verified (the profile itself is data: ``witmotion.toml``):

* GATT: service ``0000ffe5-0000-1000-8000-00805f9a34fb``, notify ``...ffe4...``, write ``...ffe9...``.
  Note the base: WitMotion uses ``...-00805f9a34fb``, not the Bluetooth base ``...-00805f9b34fb``
  (as listed by bleak against a WT901BLECL; zenn.dev/fastriver "wt901blecl_change_settings"), so look
  these characteristics up by their full UUID, never by a 16-bit short form.
* Data packet (WitMotion BLE 5.0 protocol, "Module to Host Computer", Flag 0x61, the default upload):
  20 bytes ``0x55 0x61`` then nine little-endian int16: acceleration X,Y,Z (value/32768*16 g),
  angular velocity X,Y,Z (value/32768*2000 deg/s), angle X,Y,Z (roll, pitch, yaw; value/32768*180 deg).
  A ``0x55 0x71`` packet is a register reply (magnetometer, battery, ...): skipped, not garbage.
* Commands: ``FF AA <reg> <low> <high>``; output rate register ``RRATE = 0x03`` with codes
  0x01 0.2 Hz, 0x02 0.5, 0x03 1, 0x04 2, 0x05 5, 0x06 10 (factory default), 0x07 20, 0x08 50,
  0x09 100, 0x0B 200 Hz (WitMotion C SDK ``wit_c_sdk.h``, ``RRATE_*``); e.g. ``FF AA 03 03 00`` sets
  1 Hz. movekit does not send SAVE (``FF AA 00 00 00``): the rate applies to this connection only
  unless the user saves it with the maker's app.
* No sample counter in the packet: the clock mapping uses the running count at the set rate.

Euler angles: the device reports roll (X), pitch (Y), yaw (Z); movekit composes them as
R = Rz(yaw) Ry(pitch) Rx(roll) (the usual aerospace ZYX order) -- verify against the maker before
relying on yaw-coupled angles; the inclinometer uses the acceleration vector and does not depend on it.
"""

from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np

from movekit.capture.ble.profiles import PROFILE_DIR
from movekit.capture.ble.profiles.generic import GenericProfile, load_profile

SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"
ACC_G_PER_COUNT = 16.0 / 32768.0
GYRO_DPS_PER_COUNT = 2000.0 / 32768.0
ANGLE_DEG_PER_COUNT = 180.0 / 32768.0
RATE_CODES = {
    0.2: 0x01,
    0.5: 0x02,
    1.0: 0x03,
    2.0: 0x04,
    5.0: 0x05,
    10.0: 0x06,
    20.0: 0x07,
    50.0: 0x08,
    100.0: 0x09,
    200.0: 0x0B,
}


@lru_cache(maxsize=1)
def _load() -> GenericProfile:
    return load_profile(PROFILE_DIR / "witmotion.toml")


def witmotion_profile() -> GenericProfile:
    return _load()


def write_register(reg: int, value: int) -> bytes:
    """``FF AA reg lo hi``."""
    return bytes([0xFF, 0xAA, reg & 0xFF, value & 0xFF, (value >> 8) & 0xFF])


def rate_command(rate_hz: float) -> bytes:
    from movekit.errors import MovekitError

    try:
        return write_register(0x03, RATE_CODES[float(rate_hz)])
    except KeyError:
        raise MovekitError(
            f"WitMotion rate {rate_hz} Hz not supported; choose one of {', '.join(f'{k:g}' for k in RATE_CODES)}"
        ) from None


def parse_rate_command(data: bytes) -> float | None:
    """The rate an ``FF AA 03 code 00`` command sets, or None for another command."""
    if len(data) >= 5 and data[0] == 0xFF and data[1] == 0xAA and data[2] == 0x03:
        inv = {v: k for k, v in RATE_CODES.items()}
        return inv.get(data[3])
    return None


def encode_packet(acc_g, gyro_dps, angle_deg) -> bytes:
    """One 20-byte 0x55 0x61 packet (for simulated devices); values are clipped to int16."""
    vals = np.concatenate(
        [
            np.asarray(acc_g, float) / ACC_G_PER_COUNT,
            np.asarray(gyro_dps, float) / GYRO_DPS_PER_COUNT,
            np.asarray(angle_deg, float) / ANGLE_DEG_PER_COUNT,
        ]
    )
    ints = np.clip(np.rint(vals), -32768, 32767).astype(int)
    return b"\x55\x61" + struct.pack("<9h", *ints)


def inclination_deg(acc_g: np.ndarray, axis=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Angle (deg, 0..180) between the sensor's ``axis`` and vertical, from acceleration.

    Valid when the segment moves slowly (acceleration ~ gravity); NaN rows stay NaN.
    """
    a = np.asarray(acc_g, dtype=np.float64).reshape(-1, 3)
    ax = np.asarray(axis, dtype=np.float64)
    ax = ax / np.linalg.norm(ax)
    norm = np.linalg.norm(a, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.clip((a @ ax) / norm, -1.0, 1.0)
    return np.degrees(np.arccos(c))
