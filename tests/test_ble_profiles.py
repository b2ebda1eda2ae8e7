"""Byte-level decoding against packets worked out by hand from the protocol documents."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from movekit.capture.ble.profiles import DecodeError, available_profiles, get_profile, guess_profile
from movekit.capture.ble.profiles import ganglion as gp
from movekit.capture.ble.profiles import witmotion as wm
from movekit.capture.ble.profiles.generic import load_profile
from movekit.errors import MovekitError

# WitMotion 0x55 0x61 (low byte first), worked out by hand:
#   ax 00 08 = 2048 -> 2048/32768*16 = 1 g;  ay 00 F8 = -2048 -> -1 g;  az 00 10 = 4096 -> 2 g
#   gx 00 40 = 16384 -> 1000 deg/s;  gy FF FF = -1 -> -2000/32768;  gz 00 00 -> 0
#   roll 00 20 = 8192 -> 45 deg;  pitch 00 C0 = -16384 -> -90 deg;  yaw FF 7F = 32767 -> 179.9945 deg
WIT_PACKET = bytes.fromhex("55 61 00 08 00 F8 00 10 00 40 FF FF 00 00 00 20 00 C0 FF 7F")


def test_witmotion_hand_worked_packet():
    dec = get_profile("witmotion").new_decoder()
    out = {d.suffix: d for d in dec.feed(WIT_PACKET)}
    assert out["acc"].data.tolist() == [[1.0, -1.0, 2.0]]
    assert out["gyro"].data[0] == pytest.approx([1000.0, -2000 / 32768, 0.0])
    assert out["angle"].data[0] == pytest.approx([45.0, -90.0, 32767 * 180 / 32768])
    assert out["acc"].index.tolist() == [0]
    assert dec.feed(WIT_PACKET)[0].index.tolist() == [1]  # no counter: running count
    assert wm.encode_packet([1, -1, 2], [1000, -2000 / 32768, 0], [45, -90, 32767 * 180 / 32768]) == WIT_PACKET


def test_witmotion_register_reply_skipped_and_garbage_rejected():
    dec = get_profile("witmotion").new_decoder()
    assert dec.feed(bytes.fromhex("5571") + bytes(18)) == []
    with pytest.raises(DecodeError, match="expected 5561"):
        dec.feed(bytes.fromhex("AA61") + bytes(18))
    with pytest.raises(DecodeError):
        dec.feed(b"\x55\x61\x00")


def _wit_records(n):
    """n distinct 0x55 0x61 records: acc x = 0, 1, 2, ... g (hand-checkable)."""
    return [wm.encode_packet([k, 0, 1], [0, 0, 0], [0, 0, 0]) for k in range(n)]


@pytest.mark.parametrize(
    "parts,acc_x,bad",
    [
        ([0, 1, 2], [0, 1, 2], 0),  # three records coalesced in one notification
        ([("cut", 0, 12), ("cut", 1, 12), 2], [2], 2),  # two records cut to 12 bytes, then a whole one
        ([("old",), 3], [3], 1),  # an old-protocol 11-byte 0x55 0x51 packet before a good record
        ([0, ("raw", "aabb"), 1], [0, 1], 1),  # garbage between two records: resynchronised on 55 61
        ([0, ("cut", 1, 5)], [0], 1),  # a record cut short at the end
        ([("raw", "5571" + "00" * 18), 1], [1], 0),  # a register reply (skipped quietly), then a record
    ],
)
def test_witmotion_records_decoded_one_by_one_with_resync(parts, acc_x, bad):
    recs = _wit_records(4)
    data = b""
    for p in parts:
        if isinstance(p, int):
            data += recs[p]
        elif p[0] == "cut":
            data += recs[p[1]][: p[2]]
        elif p[0] == "old":
            body = b"\x55\x51" + bytes(8)
            data += body + bytes([sum(body) & 0xFF])
        else:
            data += bytes.fromhex(p[1])
    dec = get_profile("witmotion").new_decoder()
    out = {d.suffix: d for d in dec.feed(data)}
    assert out["acc"].data[:, 0].tolist() == acc_x
    assert out["acc"].index.tolist() == list(range(len(acc_x)))
    assert dec.bad_records == bad


def test_witmotion_rate_commands():
    # FF AA <reg> <lo> <hi>; RRATE = 0x03; 0x03 = 1 Hz (maker's example FF AA 03 03 00), 0x09 = 100 Hz
    assert wm.rate_command(1) == bytes.fromhex("FFAA030300")
    assert wm.rate_command(100) == bytes.fromhex("FFAA030900")
    assert wm.rate_command(200) == bytes.fromhex("FFAA030B00")
    p = get_profile("witmotion")
    assert p.start_commands(50)[0].data == bytes.fromhex("FFAA030800")
    assert p.start_commands(50)[0].char_uuid == wm.WRITE_UUID
    with pytest.raises(MovekitError, match="not supported"):
        wm.rate_command(33)
    assert wm.parse_rate_command(bytes.fromhex("FFAA030800")) == 50.0


# Ganglion, worked out by hand (OpenBCI Ganglion Data Format):
#   ID 0: four 24-bit big-endian counts: 00 00 64 = 100, FF FF 9C = -100, 00 01 00 = 256, 80 00 00 = -8388608
GANGLION_RAW = bytes.fromhex("00 000064 FFFF9C 000100 800000") + bytes(7)
#   ID 101 (19-bit): deltas 2, -1, 0, 4 | 0, 0, -3, 6 (negatives odd, LSB = sign), MSB first:
#   0000000000000000010 1111111111111111111 0000000000000000000 0000000000000000100
#   0000000000000000000 0000000000000000000 1111111111111111101 0000000000000000110
GANGLION_19 = bytes([101]) + bytes.fromhex("00 00 5f ff fc 00 00 00 00 40 00 00 00 00 3f ff e8 00 06")
#   ID 1 (18-bit): deltas 2, -1, 0, 0 | 0, 0, 0, 0; last byte is an accelerometer axis (ignored)
GANGLION_18 = bytes([1]) + bytes.fromhex("00 00 bf ff f0 00 00 00 00 00 00 00 00 00 00 00 00 00") + b"\x05"


def test_ganglion_hand_worked_packets():
    dec = get_profile("ganglion").new_decoder()
    (raw,) = dec.feed(GANGLION_RAW)
    assert raw.index.tolist() == [0]
    assert raw.data[0] == pytest.approx(np.array([100, -100, 256, -8388608]) * gp.UV_PER_COUNT)
    (d,) = dec.feed(GANGLION_19)
    # sample1 = previous - deltas[0:4]; sample2 = sample1 - deltas[4:8]
    expect = np.array([[98, -99, 256, -8388612], [98, -99, 259, -8388618]]) * gp.UV_PER_COUNT
    assert d.data == pytest.approx(expect.astype(np.float32))
    assert d.index.tolist() == [1, 2]
    (d18,) = dec.feed(GANGLION_18)
    assert d18.data[1] == pytest.approx(np.array([96, -98, 259, -8388618]) * gp.UV_PER_COUNT)
    assert d18.index.tolist() == [201, 202]  # IDs restart: a new cycle, unwrapped
    assert gp.UV_PER_COUNT == pytest.approx(1.2e6 / (8388607 * 1.5 * 51))


def test_ganglion_impedance_ascii_and_errors():
    dec = get_profile("ganglion").new_decoder()
    assert dec.feed(bytes([203]) + b"12Z\n" + bytes(15)) == []
    assert dec.impedance_kohm == {3: 12.0}
    with pytest.raises(DecodeError, match="before the first raw"):
        dec.feed(GANGLION_19)
    with pytest.raises(DecodeError, match="20"):
        dec.feed(b"\x00\x01")
    with pytest.raises(DecodeError, match="unknown packet ID"):
        dec.feed(bytes([250]) + bytes(19))


def test_ganglion_encoder_roundtrip_matches_decoder():
    deltas = np.array([2, -1, 0, 4, 0, 0, -3, 6])
    assert gp.encode_deltas(deltas, 19) == GANGLION_19[1:]


def test_generic_toml_profile_from_a_file(tmp_path):
    f = tmp_path / "clinic_sensor.toml"
    f.write_text("""
name = "clinic_sensor"
kind = "inclinometer"
service_uuid = "abcd"
notify_uuid = "abce"
rate_hz = 25
[packet]
byteorder = ">"
header = "a5"
record = "Hh"
counter_field = 0
counter_modulo = 65536
[[streams]]
suffix = "tilt"
fields = [1]
scale = 0.01
unit = "deg"
channel_names = ["tilt"]
""")
    p = get_profile(str(f))
    dec = p.new_decoder()
    # two records: A5 | FF FF (counter 65535) | 11 94 (4500 -> 45.00 deg); A5 | 00 00 (wraps) | FF 9C (-100 -> -1 deg)
    (d,) = dec.feed(bytes.fromhex("A5FFFF1194A50000FF9C"))
    assert d.index.tolist() == [65535, 65536]
    assert d.data[:, 0] == pytest.approx([45.0, -1.0])
    assert p.has_counter and p.streams[0].unit == "deg"
    with pytest.raises(DecodeError):
        dec.feed(bytes.fromhex("B5FFFF1194"))


def test_generic_toml_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n')
    with pytest.raises(MovekitError, match="missing key"):
        load_profile(bad)
    with pytest.raises(MovekitError, match="not found"):
        load_profile(tmp_path / "nope.toml")
    with pytest.raises(MovekitError, match="unknown BLE profile"):
        get_profile("nonesuch")


def test_shipped_profiles_and_guessing():
    assert {"witmotion", "ganglion", "generic_emg"} <= set(available_profiles())
    assert guess_profile("WT901BLE68", []) == "witmotion"
    assert guess_profile(None, ["0000fe84-0000-1000-8000-00805f9b34fb"]) == "ganglion"
    assert guess_profile("Ganglion-1a2b", []) == "ganglion"
    assert guess_profile("Keyboard", []) is None


def test_device_spec_parsing():
    from movekit.capture.ble.transport import DeviceSpec

    s = DeviceSpec.parse("c0:ff:ee:00:00:01:witmotion@thigh,rate=50")
    assert (s.address, s.profile, s.label, s.rate_hz) == ("C0:FF:EE:00:00:01", "witmotion", "thigh", 50.0)
    assert DeviceSpec.parse("C0:FF:EE:00:00:03:ganglion").label is None
    assert DeviceSpec.parse("name=WT901BLE68:witmotion").address == "name=WT901BLE68"
    for bad in (
        "C0:FF:EE:witmotion",
        "C0:FF:EE:00:00:01:",
        "C0:FF:EE:00:00:01:witmotion,speed=3",
        "C0:FF:EE:00:00:01:witmotion,rate=fast",
    ):
        with pytest.raises(MovekitError):
            DeviceSpec.parse(bad)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_witmotion_decoder_never_fails_on_arbitrary_bytes(data):
    """Any notification: records or a DecodeError naming the problem, never another exception."""
    dec = get_profile("witmotion").new_decoder()
    try:
        out = dec.feed(data)
    except DecodeError:
        return
    for d in out:
        assert np.isfinite(d.data).all()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 7), st.binary(min_size=1, max_size=9)), min_size=1, max_size=8))
def test_witmotion_every_whole_record_survives_garbage_around_it(parts):
    """Whole records with garbage between them (none starting with the 55 61 header): every whole
    record is decoded, in order, and the sample count advances once per record."""
    recs = _wit_records(8)
    data, expected = b"", []
    for p in parts:
        if isinstance(p, int):
            data += recs[p]
            expected.append(p)
        else:
            data += p.replace(b"\x55", b"\x56")  # garbage that cannot start a record
    dec = get_profile("witmotion").new_decoder()
    try:
        out = {d.suffix: d for d in dec.feed(data)}
    except DecodeError:
        assert not expected
        return
    assert out["acc"].data[:, 0].tolist() == [float(k) for k in expected]
    assert out["acc"].index.tolist() == list(range(len(expected)))
