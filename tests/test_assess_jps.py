"""Joint position sense on a real goniometer recording's holds, and the error maths exactly.

No real inclinometer recording of a joint position sense protocol was found in the PyPI archives
searched (biosignalsnotebooks 0.6.14, scikit-kinematics 0.10.4, biomdp 0.11.2). The test uses the
real PLUX twin-axis goniometer trace ``plux_gonio_arm_flex`` (channel 1, 1000 Hz): the arm rests,
then flexes four times to a brief plateau near 122 deg and returns to rest each time. That is not a
JPS protocol (no separate target presentation, plateaus of ~0.3-0.5 s instead of seconds), so the
test reads it as one: the first plateau is the target and the next three are reproductions (target
protocol), or the rest position is the target and each return to rest a reproduction
(return-to-start protocol), with the hold thresholds relaxed to 15 deg/s and 0.2 s.

Degrees from ADC counts by PLUX's goniometer transfer function (GON datasheet, as given in the
biosignalsnotebooks "Goniometer Sensor - Unit Conversion" notebook):
``ANG = ((VCC / (2^n - 1)) ADC - VCC / 2) / (VCC / 2 x 606e-5)``, VCC = 3 V, n = 16.

Hand reading: on a plot of the raw counts with 1 s grid lines the four plateaus near 57 000 counts
lie at about 2.8-3.1, 6.8-7.3, 10.5-10.9 and 13.8-14.1 s; the rest position (~34 000 counts) is held
at 0-1.6 s, 4.5-5.3, 8.7-9.1, 12.3-12.6 and 15.3-18.75 s.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from movekit.assess.jps import assess_jps, assess_jps_session, holds, reposition_errors
from movekit.datasets import fetch
from movekit.errors import MovekitError

PLATEAUS_S = [(2.85, 3.0), (6.9, 7.2), (10.55, 10.85), (13.9, 14.05)]  # inside the hand-read plateaus
REST_S = [(0.2, 1.4), (4.6, 5.2), (8.75, 9.05), (12.35, 12.55)]


def _gon_deg(adc, n_bits=16, vcc=3.0):
    return ((vcc / (2**n_bits - 1)) * adc - vcc / 2) / (vcc / 2 * 606e-5)


@pytest.fixture(scope="module")
def gonio():
    import h5py

    with h5py.File(fetch("plux_gonio_arm_flex"), "r") as f:
        dev = next(iter(f))
        adc = f[dev]["raw"]["channel_1"][:, 0].astype(np.float64)
    return np.arange(adc.size) / 1000.0, _gon_deg(adc)


def _median_over(t, a, spans):
    return np.array([np.median(a[(t >= lo) & (t <= hi)]) for lo, hi in spans])


def test_target_protocol_on_real_goniometer_holds(gonio):
    t, a = gonio
    hand = _median_over(t, a, PLATEAUS_S)  # the plateaus' angles, from the hand-read windows
    assert 115 < hand.min() and hand.max() < 130  # full elbow flexion range, as the trace shows
    r = assess_jps(t, a, max_speed_deg_s=15.0, min_hold_s=0.2, joint="elbow", source="PLUX goniometer")
    assert r.valid, r.summary()
    assert r.value("target_angle_deg") == pytest.approx(hand[0], abs=0.3)
    assert r.value("reproductions_count") == 3
    got = [rep["reproduced_deg"] for rep in r.reps]
    assert got == pytest.approx(list(hand[1:]), abs=0.3)
    for rep, (lo, hi) in zip(r.reps, PLATEAUS_S[1:]):
        assert rep["start_s"] <= lo and rep["end_s"] >= hi  # found where the plot shows them
    e = hand[1:] - hand[0]
    assert r.value("absolute_error_deg") == pytest.approx(np.mean(np.abs(e)), abs=0.3)  # measured 0.80
    assert r.value("constant_error_deg") == pytest.approx(np.mean(e), abs=0.3)  # measured -0.24
    assert r.value("variable_error_deg") == pytest.approx(np.std(e), abs=0.3)  # measured 0.77
    assert r.value("absolute_error_deg") < 2.0
    assert "no_normal_limit" in {f.code for f in r.flags}
    json.dumps(r.to_json(), allow_nan=False)


def test_return_to_start_protocol_on_the_rest_holds(gonio):
    t, a = gonio
    r = assess_jps(t, a, protocol="return_to_start", max_speed_deg_s=15.0, min_hold_s=0.2, joint="cervical")
    assert r.valid, r.summary()
    rest = _median_over(t, a, REST_S)
    assert r.value("target_angle_deg") == pytest.approx(rest[0], abs=0.2)
    assert r.value("reproductions_count") == 4  # three returns between flexions and the final rest
    assert [rep["reproduced_deg"] for rep in r.reps][:3] == pytest.approx(list(rest[1:]), abs=0.3)
    assert r.value("constant_error_deg") < 0  # each return stops short of the first rest (~0.3-1 deg)
    assert any("Revel" in ref for ref in r.references)
    assert "above_revel_limit" not in {f.code for f in r.flags}  # < 4.5 deg


def test_default_holds_refuse_this_recording_with_a_reason(gonio):
    """With the default 1 s holds the brief plateaus are not holds: no target is found."""
    t, a = gonio
    r = assess_jps(t, a)
    assert not r.valid
    assert "no target position found" in r.validity["target"].message
    assert r.value("absolute_error_deg") is None
    assert len(holds(t, a)) == 2  # the rest at the start and at the end


def test_errors_are_exact_and_revel_limit_flags():
    err = reposition_errors(30.0, [33.0, 27.0, 36.0])
    assert err["errors_deg"] == [3.0, -3.0, 6.0]
    assert err["absolute_error_deg"] == pytest.approx(4.0)
    assert err["constant_error_deg"] == pytest.approx(2.0)
    assert err["variable_error_deg"] == pytest.approx(np.sqrt(((1) ** 2 + 5**2 + 4**2) / 3))
    # a synthetic neck: neutral 0, rotations to 60 deg, returns 6, -5, 7 deg off neutral
    fs = 50.0
    knots_t = [0, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17]
    knots_a = [0, 0, 60, 60, 6, 6, 60, 60, -5, -5, 60, 60]
    t = np.arange(0, 20, 1 / fs)
    a = np.interp(t, knots_t + [18, 20], knots_a + [7, 7])
    r = assess_jps(t, a, protocol="return_to_start", joint="cervical")
    assert r.valid, r.summary()
    assert [rep["error_deg"] for rep in r.reps] == pytest.approx([6.0, -5.0, 7.0], abs=0.05)
    assert r.value("absolute_error_deg") == pytest.approx(6.0, abs=0.05)
    assert "above_revel_limit" in {f.code for f in r.flags}
    wrong = assess_jps(t, a, protocol="target", joint="cervical")
    assert "revel_protocol" in {f.code for f in wrong.flags}


def test_from_a_recording_stream(gonio, tmp_path):
    from movekit.assess.sources import load_trial
    from movekit.recording import RecordingWriter, StreamSpec

    t, a = gonio
    path = tmp_path / "jps.mkrec"
    t100, a100 = t[::10], a[::10]  # a BLE inclinometer rate: 100 Hz
    with RecordingWriter(path, {"client": "c01"}) as rec:
        rec.add_stream(StreamSpec("elbow", (1,), "deg", 100.0, ("inclination",), kind="inclinometer"))
        rec.append("elbow", t100, a100[:, None].astype(np.float32))
    r = assess_jps_session(load_trial(path), max_speed_deg_s=15.0, min_hold_s=0.2)
    assert r.valid, r.summary()
    assert r.value("absolute_error_deg") == pytest.approx(0.8, abs=0.3)
    with pytest.raises(MovekitError, match="no angle channel"):
        assess_jps_session(load_trial(path), channel="knee_inclination")
    # a camera's live angles beside it are not a joint angle source (one camera measures none within
    # 5 deg): the inclinometer is still the one channel; alone, they are refused with that reason
    from movekit.live import LIVE_STREAM

    for name, with_device in (("both.mkrec", True), ("camera.mkrec", False)):
        with RecordingWriter(tmp_path / name, {"client": "c01"}) as rec:
            if with_device:
                rec.add_stream(StreamSpec("elbow", (1,), "deg", 100.0, ("inclination",), kind="inclinometer"))
                rec.append("elbow", t100, a100[:, None].astype(np.float32))
            rec.add_stream(StreamSpec(LIVE_STREAM, (2,), "deg", 30.0, ("left_knee_flexion", "right_knee_flexion"),
                                      kind="live_angles"))  # fmt: skip
            rec.append(LIVE_STREAM, t100[:50], np.full((50, 2), np.nan, np.float32))
        if with_device:
            assert assess_jps_session(load_trial(tmp_path / name), max_speed_deg_s=15.0, min_hold_s=0.2).valid
        else:
            with pytest.raises(MovekitError, match="a camera's angles do not count"):
                assess_jps_session(load_trial(tmp_path / name))


def test_bad_input_and_low_rate():
    t = np.arange(0, 10, 0.2)  # 5 Hz
    r = assess_jps(t, np.zeros_like(t))
    assert not r.valid and r.validity["sampling_rate"].value == pytest.approx(5.0)
    with pytest.raises(MovekitError, match="same length"):
        assess_jps(t, np.zeros(3))
    with pytest.raises(MovekitError, match="protocol is one of"):
        assess_jps(t, np.zeros_like(t), protocol="mirror")
