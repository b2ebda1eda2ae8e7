"""Clock mapping on bursty, drifting arrival times with a known truth."""

import numpy as np
import pytest

from movekit.capture.ble.clock_sync import ClockSync


def _simulate(
    rate=100.0, seconds=60.0, drift_ppm=150.0, per_notif=1, seed=0, min_lat=0.004, burst_s=0.06, outlier_frac=0.01
):
    """True sample times on the session clock; arrivals late by >= min_lat, in bursts, with outliers."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    idx = np.arange(n)
    t_true = 2.5 + idx / rate * (1 + drift_ppm * 1e-6)  # device clock runs slow/fast
    notif_last = idx[per_notif - 1 :: per_notif]
    tn = t_true[notif_last]
    lat = min_lat + rng.exponential(0.003, len(tn))
    # bursts: the OS delivers everything queued at the next burst boundary every ~burst_s
    burst = np.ceil((tn + lat) / burst_s) * burst_s
    use_burst = rng.random(len(tn)) < 0.5
    arr = np.where(use_burst, burst, tn + lat)
    out = rng.random(len(tn)) < outlier_frac
    arr[out] += rng.uniform(0.1, 0.8, out.sum())  # stalls
    arr = np.maximum.accumulate(arr)  # a stack delivers in order
    return idx, t_true, notif_last, arr


@pytest.mark.parametrize("per_notif,drift", [(1, 150.0), (2, -300.0), (10, 80.0)])
def test_mapping_recovers_truth_within_tolerance(per_notif, drift):
    rate = 100.0 if per_notif == 1 else 200.0 if per_notif == 2 else 1000.0
    idx, t_true, notif_last, arr = _simulate(rate=rate, per_notif=per_notif, drift_ppm=drift)
    cs = ClockSync(rate)
    t_map = np.empty(len(idx))
    for k, last in enumerate(notif_last):
        sl = slice(last - per_notif + 1, last + 1)
        t_map[sl] = cs.map(idx[sl], arr[k])
    assert np.all(np.diff(t_map) > 0)
    err = t_map - (t_true + 0.004)  # the minimum latency is not observable: bias by it
    settled = slice(int(5 * rate), None)  # after the first seconds
    assert np.abs(err[settled]).max() < 0.003
    assert abs(cs.drift_ppm - drift) < 40
    s = cs.summary()
    assert s["residual_s"] < 0.002 and s["jitter_p95_s"] > 0


def test_counter_restart_starts_new_segment():
    cs = ClockSync(50.0)
    for k in range(200):
        cs.map(np.array([k]), 1.0 + k / 50)
    t = cs.map(np.array([0]), 10.0)  # device reset: counter back to 0
    assert cs.segments == 2 and abs(t[0] - 10.0) < 1e-6


def test_times_never_exceed_arrival_and_never_go_back():
    cs = ClockSync(100.0)
    rng = np.random.default_rng(3)
    prev = -1.0
    for k in range(500):
        a = k / 100 + rng.exponential(0.01)
        t = cs.map(np.array([k]), a)
        assert t[0] <= a + 1e-12 and t[0] > prev
        prev = t[0]


def test_wrong_nominal_rate_is_flagged():
    cs = ClockSync(100.0)
    for k in range(400):
        cs.map(np.array([k]), 1.0 + k / 50.0)  # really 50 Hz
    assert cs.rate_mismatch and abs(cs.measured_rate_hz - 50.0) < 0.5
    ok = ClockSync(50.0)
    for k in range(400):
        ok.map(np.array([k]), 1.0 + k / 50.0)
    assert not ok.rate_mismatch
