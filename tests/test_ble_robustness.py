"""Real-world BLE trouble through the real bleak backend and the project's mock BlueZ, with
real-motion WitMotion packets (a forearm IMU moved by a real goniometer trace, see
``simulate.elbow_pair_from_plux_goniometer``): malformed and coalesced records, an absent device,
a device that vanishes, a stall at start-up. Truth: when the simulated device measured each sample."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from ble_helpers import Collector, until

from movekit.capture.ble import transport as tr
from movekit.capture.ble.clock_sync import ClockSync
from movekit.capture.ble.mock_bluez import PrivateSystemBus, mock_in_thread, start_mock
from movekit.capture.ble.profiles import witmotion as wm
from movekit.capture.ble.simulate import (
    MALFORMED,
    SimulatedWitMotion,
    elbow_pair_from_plux_goniometer,
)

RATE = 100.0
PERIOD = 1.0 / RATE
FAST = {
    "policy": tr.ReconnectPolicy(initial_s=0.05, factor=2.0, max_s=0.4),
    "scan_timeout_s": 1.0,
    "connect_timeout_s": 1.0,
}


@pytest.fixture(scope="module")
def forearm():
    _, fore, _, rate = elbow_pair_from_plux_goniometer(rate_out=RATE)
    assert rate == RATE
    return fore


@pytest.fixture
def private_bus():
    with PrivateSystemBus(set_env=True) as bus:
        yield bus


def run(coro, timeout=30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _imu(fore, address="C0:FF:EE:00:00:01", **kw) -> SimulatedWitMotion:
    dev = SimulatedWitMotion(address, fore["acc"], fore["gyro"], fore["angle"], RATE, rate_hz=RATE, **kw)
    dev.record_send_times = True
    return dev


async def _stream(devices, specs, n_samples, stream="x_acc", during=None, **kw):
    """Run ``specs`` against the mock until ``stream`` has ``n_samples``; return (collector, session)."""
    mock = await start_mock(devices)
    col = Collector()
    stop = asyncio.Event()
    task = asyncio.create_task(tr.run_ble_devices(specs, col.chunks.append, col.events.append, stop, **{**FAST, **kw}))
    if during is not None:
        await during(col)
    await until(lambda: len(col.stream(stream)[0]) >= n_samples, timeout=15)
    stop.set()
    session = await task
    await mock.stop()
    return col, session


def _check_against_truth(col, dev, fore, stream="x", after_s=None):
    """Nothing that was sent whole is lost, values are the source's, times within one period
    (from 1 s after the first sample, or from ``after_s``)."""
    t, acc = col.stream(f"{stream}_acc")
    whole = np.flatnonzero(dev.sample_whole)
    n = len(t)
    # every whole record up to the last one received: none lost, none invented, in order
    assert n == np.searchsorted(whole, whole[n - 1]) + 1 and n >= len(whole) - 3 * dev.records_per_notification
    rows = whole[:n] % len(fore["acc"])
    assert np.allclose(acc, fore["acc"][rows], atol=wm.ACC_G_PER_COUNT)
    truth = np.asarray(dev.sample_times)[whole[:n]]
    err = t - truth
    settled = truth >= (truth[0] + 1.0 if after_s is None else after_s)  # the fit needs ~1 s of arrivals
    assert settled.sum() > 100
    assert np.abs(err[settled]).max() < PERIOD, np.percentile(np.abs(err[settled]), [50, 99, 100])
    assert np.all(np.diff(t) > 0)
    return err[settled]


# ------------------------------------------------------------------------------------------------
def test_malformed_records_lose_nothing_whole_and_do_not_shift_later_times(private_bus, forearm):
    dev = _imu(forearm)
    # one bad record in seven, each kind in turn: wrong header, truncated, old 11-byte format, garbage
    dev.faults = {s: MALFORMED[k % 4] for k, s in enumerate(range(10, 400, 7))}
    col, session = run(_stream([dev], [f"{dev.address}:witmotion@x,rate=100"], 250))
    err = _check_against_truth(col, dev, forearm)
    n_faults_sent = int(np.sum(~np.asarray(dev.sample_whole)))
    d = session.devices[0]
    assert d.stats["bad_records"] == n_faults_sent >= 30
    assert np.median(np.abs(err)) < 0.003
    bad = [e for e in col.events if e.kind == "device_bad_data"]
    assert 1 <= len(bad) <= 4 and "later timestamps unaffected" in bad[0].message  # rate-limited, 1/s
    assert "device_rate_mismatch" not in col.kinds()  # bad records still count as arrived


@pytest.mark.parametrize("records", [2, 3])
def test_coalesced_records_are_all_decoded_on_time(private_bus, forearm, records):
    dev = _imu(forearm)
    dev.records_per_notification = records
    dev.faults = {60: "truncated", 61: "truncated"} if records == 3 else {}
    col, _ = run(_stream([dev], [f"{dev.address}:witmotion@x,rate=100"], 250))
    _check_against_truth(col, dev, forearm)
    clock = next(e for e in col.events if e.kind == "device_stopped").data["clock"]["acc"]
    assert clock["fitted_rate_hz"] == pytest.approx(RATE, rel=0.005)
    assert "device_rate_mismatch" not in col.kinds()


def test_absent_device_listed_first_does_not_delay_a_present_one(private_bus, forearm):
    dev = _imu(forearm)
    starts = {}

    async def during(col):
        t0 = time.perf_counter()
        await until(lambda: len(col.stream("x_acc")[0]) > 0)
        starts["present_s"] = time.perf_counter() - t0

    specs = ["C0:FF:EE:00:00:09:witmotion@absent", f"{dev.address}:witmotion@x,rate=100"]
    col, _ = run(_stream([dev], specs, 250, during=during, scan_timeout_s=5.0))
    assert starts["present_s"] < 1.0  # was ~5 s: the absent device's scan held a lock
    _check_against_truth(col, dev, forearm)


def test_two_present_devices_are_found_by_one_shared_scan(private_bus, forearm):
    a, b = _imu(forearm, "C0:FF:EE:00:00:01"), _imu(forearm, "C0:FF:EE:00:00:02")
    specs = [f"{a.address}:witmotion@x,rate=100", f"{b.address}:witmotion@y,rate=100"]
    col, session = run(_stream([a, b], specs, 150, stream="y_acc"))
    assert all(d.stats["connects"] == 1 for d in session.devices)
    assert len(col.stream("x_acc")[0]) >= 140


def test_shutdown_after_the_device_vanished_is_prompt(private_bus, forearm):
    async def main():
        dev = _imu(forearm)
        mock = await start_mock([dev])
        col = Collector()
        stop = asyncio.Event()
        task = asyncio.create_task(
            tr.run_ble_devices(
                [f"{dev.address}:witmotion@x,rate=100"],
                col.chunks.append,
                col.events.append,
                stop,
                scan_timeout_s=5.0,
                connect_timeout_s=5.0,
            )
        )
        await until(lambda: len(col.stream("x_acc")[0]) >= 20)
        mock.remove(dev)  # out of range: link lost, no longer advertised
        await until(lambda: "device_disconnected" in col.kinds())
        await asyncio.sleep(0.6)  # now looking for it again (a 5 s scan)
        t0 = time.perf_counter()
        stop.set()
        await task
        stop_s = time.perf_counter() - t0
        await mock.stop()
        return col, stop_s

    col, stop_s = run(main())
    assert stop_s < 0.5, stop_s  # was ~5 s
    assert col.kinds()[-1] == "device_stopped"


def test_a_stall_at_start_up_gives_no_false_rate_warning(private_bus, forearm):
    """The receiving loop blocked for 0.3 s, then starved (12 ms per 10 ms sample) for 1.5 s, from
    0.5 s after connecting, as when the pose model loads in the same process: no rate warning (it
    was "85 samples/s, not 100 Hz"), nothing taken for lost, and times right once it has caught up."""
    dev = _imu(forearm)
    slow = {}

    async def main():
        col = Collector()
        stop = asyncio.Event()

        def on_chunk(ch):
            col.chunks.append(ch)
            since = ch.arrival_s - slow.setdefault("t0", ch.arrival_s)
            if 0.5 < since < 2.0 and ch.stream == "x_acc":
                if "end" not in slow:
                    slow["end"] = ch.arrival_s + 1.8
                    time.sleep(0.3)  # blocked: notifications queue up, then come in a burst
                time.sleep(0.012)  # starved: slower than the device sends

        task = asyncio.create_task(
            tr.run_ble_devices([f"{dev.address}:witmotion@x,rate=100"], on_chunk, col.events.append, stop, **FAST)
        )
        await until(lambda: len(col.stream("x_acc")[0]) >= 600, timeout=12)
        stop.set()
        return col, await task

    with mock_in_thread([dev]):  # the device lives in another thread: only the receiving loop stalls
        col, session = run(main())
    assert "end" in slow
    assert "device_rate_mismatch" not in col.kinds()
    clock = session.devices[0].clocks["acc"]
    assert clock.measured_rate_hz == pytest.approx(RATE, rel=0.01)
    assert clock.lost_samples == 0  # late deliveries are not losses
    err = _check_against_truth(col, dev, forearm, after_s=slow["end"] + 0.5)
    assert np.median(np.abs(err)) < 0.003


def test_bad_data_reaches_the_console_rate_limited(private_bus, forearm, tmp_path):
    from movekit.recording import RecordingWriter, open_recording

    dev = _imu(forearm)
    dev.faults = {s: "header" for s in range(10, 2000, 9)}
    lines = []
    with mock_in_thread([dev]), RecordingWriter(tmp_path / "r.mkrec", metadata={}) as w:
        rec = tr.BleRecorder(
            [f"{dev.address}:witmotion@x,rate=100"], w, console=lines.append, console_every_s=10.0, **FAST
        ).start()
        time.sleep(2.3)
        rec.stop()
    bad_events = [e for e in open_recording(tmp_path / "r.mkrec").events if e["kind"] == "device_bad_data"]
    assert len(bad_events) >= 2  # events.jsonl: at most one a second
    assert len(lines) == 1 and lines[0].startswith("BLE x: ") and "do not fit profile witmotion" in lines[0]


def test_console_line_is_a_movekit_notice_on_stderr(capsys):
    tr.say_on_console("BLE x: 3 bad packets")
    assert capsys.readouterr().err == "movekit: notice: BLE x: 3 bad packets\n"


# ------------------------------------------------------------------------------------------------
def test_clock_places_samples_after_lost_records_from_arrival_time():
    """Pure mapping: a running count with records lost (reported, or silently) and a late burst."""
    rng = np.random.default_rng(3)
    n = 3000
    t_true = 1.0 + np.arange(n) * PERIOD
    arrival = t_true + 0.002 + rng.exponential(0.0005, n)
    arrival[1500:1540] = np.maximum(arrival[1500:1540], t_true[1539] + 0.002)  # a 0.4 s stall, then a burst
    reported = set(range(200, n, 50))  # bad bytes the decoder saw
    silent = {925, 2425}  # notifications lost without a trace
    cs = ClockSync(RATE, counted=True)
    count, err = 0, []
    for i in range(n):
        if i in reported or i in silent:
            continue
        t = cs.map(np.array([count]), float(arrival[i]), lost=int(i - 1 in reported))
        count += 1
        err.append((i, t[0] - t_true[i]))
    i, e = np.array(err).T
    late = ((i > 925) & (i < 925 + 1.1 * RATE)) | ((i > 2425) & (i < 2425 + 1.1 * RATE))
    ok = (i > 100) & ~late  # a silent loss is placed once it persists (1 s)
    assert np.abs(e[ok]).max() < PERIOD / 2
    assert cs.lost_samples == len(reported) + len(silent) - sum(1 for r in reported if r < 100)
    assert cs.measured_rate_hz == pytest.approx(RATE, rel=0.01)
    assert not cs.rate_mismatch
