"""EMG processing: real PLUX recordings, synthetic bursts, streaming == batch, derived measures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from movekit.analysis import emg
from movekit.analysis.synthetic import emg_bursts
from movekit.errors import MovekitError

RATE = 1000.0


@pytest.fixture(scope="module")
def bursts():
    from movekit.datasets import fetch
    from movekit.emg_io import read_emg

    return read_emg(fetch("plux_emg_bursts"))


def synthetic(times_s, **kw):
    return emg_bursts(times_s, rate_hz=RATE, **kw)


# ------------------------------------------------------------------------------------- real data
def test_plux_file_converted_to_microvolts(bursts):
    assert bursts.rate_hz == 1000.0
    assert bursts.data_uv.shape == (28519, 1)
    # 16-bit ADC through (ADC/2^16 - 1/2) * 3 V / 1000: range +-1500 uV, small offset
    assert -1500 <= bursts.data_uv.min() < -500 and 400 < bursts.data_uv.max() <= 1500
    assert abs(np.mean(bursts.data_uv)) < 10


def _independent_envelope(x, rate, window):
    sos = signal.butter(4, [20, 450], "bandpass", fs=rate, output="sos")
    zi = signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
    f, _ = signal.sosfilt(sos, x, axis=0, zi=zi)
    sq = f**2
    ms = np.stack([np.convolve(sq[:, c], np.ones(window) / window)[: len(x)] for c in range(x.shape[1])], 1)
    return f, np.sqrt(ms)


def test_real_envelope_matches_independent_computation(bursts):
    res = emg.process(bursts.t_s, bursts.data_uv, bursts.rate_hz, ("biceps",))
    f, env = _independent_envelope(bursts.data_uv, 1000.0, 100)
    np.testing.assert_allclose(res.filtered_uv, f, atol=1e-9)
    np.testing.assert_allclose(res.envelope_uv, env, atol=1e-6)
    # bursts are ~10-20x rest
    assert np.percentile(res.envelope_uv, 95) > 10 * np.percentile(res.envelope_uv, 5)


def _independent_onsets(x, rate, k=3.0, on_w=25, off_w=100, min_burst=100, base=(100, 600)):
    """Sample-by-sample Hodges & Bui (1996) state machine, written without the library's code."""
    sos = signal.butter(4, [20, 450], "bandpass", fs=rate, output="sos")
    f, _ = signal.sosfilt(sos, x, zi=signal.sosfilt_zi(sos) * x[0])
    lp = signal.butter(2, 50, "lowpass", fs=rate, output="sos")
    r = np.abs(f)
    d, _ = signal.sosfilt(lp, r, zi=signal.sosfilt_zi(lp) * r[0])
    thr = d[base[0] : base[1]].mean() + k * d[base[0] : base[1]].std()
    pad = np.concatenate([np.zeros(max(on_w, off_w)), d])
    events, state, onset, resume = [], "off", None, 0
    for n in range(len(d)):
        m_on = pad[n + max(on_w, off_w) - on_w + 1 : n + max(on_w, off_w) + 1].mean()
        m_off = pad[n + max(on_w, off_w) - off_w + 1 : n + max(on_w, off_w) + 1].mean()
        if n < resume:
            continue
        if state == "off" and m_on > thr:
            first = next(i for i in range(max(n - on_w + 1, 0), n + 1) if d[i] > thr)
            onset, state, resume = first, "on", n + off_w
        elif state == "on" and m_off < thr:
            off = n - off_w + 1
            if off - onset >= min_burst:
                events.append((onset, off))
            state, resume = "off", n + on_w
    if state == "on":
        events.append((onset, None))
    return thr, events


def test_real_onsets_match_independent_state_machine(bursts):
    res = emg.process(bursts.t_s, bursts.data_uv, bursts.rate_hz, ("biceps",))
    thr, ref = _independent_onsets(bursts.data_uv[:, 0], 1000.0)
    assert res.threshold[0] == pytest.approx(thr, rel=1e-9)
    pairs = emg.onset_offset_pairs(res, "biceps")
    got = [(int(round(a * 1000)), None if np.isnan(b) else int(round(b * 1000))) for a, b in pairs]
    assert got == ref


def test_real_bursts_found_where_they_are(bursts):
    """Every contraction seen by a zero-phase 250 ms RMS (an offline view) has an onset near its rise."""
    x = bursts.data_uv[:, 0]
    sos = signal.butter(4, [20, 450], "bandpass", fs=1000, output="sos")
    f = signal.sosfiltfilt(sos, x)
    rms = np.sqrt(np.convolve(f**2, np.ones(250) / 250, "same"))
    on = rms > 0.25 * np.percentile(rms, 99)
    edges = np.flatnonzero(np.diff(on.astype(int)))
    rises = [(edges[i] + 1) / 1000 for i in range(len(edges)) if not on[edges[i]]]
    falls = [(edges[i] + 1) / 1000 for i in range(len(edges)) if on[edges[i]]]
    regions = [(a, b) for a, b in zip(rises, [b for b in falls if b > rises[0]]) if b - a > 0.4]
    assert 9 <= len(regions) <= 11  # the file's cyclic biceps contractions
    res = emg.process(bursts.t_s, bursts.data_uv, 1000.0, ("biceps",))
    onsets = res.onsets("biceps")
    for a, b in regions:
        near = onsets[(onsets > a - 0.4) & (onsets < a + 0.2)]
        assert len(near) == 1, (a, b, onsets)
    # no onset in the middle of a contraction region
    for a, b in regions:
        assert not np.any((onsets > a + 0.2) & (onsets < b - 0.4))


def test_fatigue_trend_on_real_fatiguing_contractions():
    from movekit.datasets import fetch
    from movekit.emg_io import read_emg

    s = read_emg(fetch("plux_emg_fatigue"))
    assert s.data_uv.shape == (126900, 1)
    res = emg.process(s.t_s, s.data_uv, s.rate_hz, ("biceps",))
    t, mdf = emg.median_frequency(s.data_uv, s.rate_hz, active=emg.activity_mask(res))
    trend = emg.fatigue_trend(t, mdf)
    assert trend.n[0] > 50
    assert trend.slope_hz_per_s[0] < -0.05  # median frequency falls over the set
    assert trend.r[0] < -0.5
    assert 40 < trend.intercept_hz[0] < 120


# ------------------------------------------------------------------------------------- synthetic
@pytest.mark.parametrize("method", ["hodges", "tkeo"])
def test_synthetic_bursts_found_within_10ms(method):
    times = [1.0, 2.3, 3.75, 5.0]
    t, x = synthetic(times, dur_s=0.6, channels=2)
    cfg = emg.EMGConfig(onset_method=method)
    res = emg.process(t, x, RATE, ("vmo", "vl"), cfg)
    for ch in ("vmo", "vl"):
        pairs = emg.onset_offset_pairs(res, ch)
        assert len(pairs) == len(times)
        np.testing.assert_allclose(pairs[:, 0], times, atol=0.010)
        np.testing.assert_allclose(pairs[:, 1], np.array(times) + 0.6, atol=0.030)


def test_short_spike_is_not_a_burst():
    t, x = synthetic([2.0], dur_s=0.05)
    res = emg.process(t, x, RATE, ("m",))
    assert len(res.onsets("m")) == 0


@pytest.mark.parametrize(
    "cfg",
    [
        emg.EMGConfig(),
        emg.EMGConfig(envelope="linear", notch_hz=50.0, onset_method="tkeo"),
        emg.EMGConfig(rms_window_s=0.25, min_on_s=0.01),
    ],
)
def test_streaming_equals_batch(cfg):
    t, x = synthetic([0.9, 2.0, 3.1, 4.4], channels=2, seed=3)
    x[1500:1520, 1] = np.nan  # lost packets
    batch = emg.process(t, x, RATE, ("a", "b"), cfg)
    rng = np.random.default_rng(7)
    s = emg.EMGStream(RATE, ("a", "b"), cfg)
    envs, events, i = [], [], 0
    while i < len(t):
        n = int(rng.choice([1, 2, 7, 33, 160, 501]))
        out = s.process(t[i : i + n], x[i : i + n])
        envs.append(out.envelope_uv)
        events += out.events
        i += n
    env = np.concatenate(envs)
    np.testing.assert_allclose(env, batch.envelope_uv, rtol=0, atol=1e-9, equal_nan=True)
    assert np.isnan(env[1500:1520, 1]).all() and np.isfinite(env[1500:1520, 0]).all()
    key = lambda e: (e.channel, e.kind, e.index)  # noqa: E731
    assert sorted(events, key=key) == sorted(batch.events, key=key)
    assert len(batch.events) >= 14


def test_empty_single_and_short_inputs():
    r = emg.process(np.zeros(0), np.zeros((0, 2)), RATE, ("a", "b"))
    assert r.envelope_uv.shape == (0, 2) and r.events == []
    r = emg.process(np.zeros(1), np.ones((1, 1)), RATE, ("a",))
    assert r.envelope_uv.shape == (1, 1) and r.events == []
    t, x = synthetic([], total_s=0.3)
    r = emg.process(t, x, RATE, ("a",))  # shorter than the baseline window: no crash, no bursts
    assert r.events == [] and np.isfinite(r.threshold).all()


def test_band_capped_below_nyquist_and_rejected_when_empty():
    sos = emg.bandpass_sos(500.0)
    w, h = signal.sosfreqz(sos, worN=[100.0, 240.0], fs=500.0)
    assert abs(h[0]) == pytest.approx(1.0, abs=0.05) and abs(h[1]) < 0.5
    with pytest.raises(MovekitError, match="empty at 10 Hz"):
        emg.bandpass_sos(10.0)


def test_notch_removes_mains():
    t = np.arange(5000) / RATE
    x = (200 * np.sin(2 * np.pi * 50 * t) + 20 * np.sin(2 * np.pi * 120 * t))[:, None]
    a = emg.process(t, x, RATE, ("m",), emg.EMGConfig(notch_hz=50.0)).filtered_uv[2000:, 0]
    amp50 = 2 * abs(np.mean(a * np.exp(-2j * np.pi * 50 * t[2000:])))
    amp120 = 2 * abs(np.mean(a * np.exp(-2j * np.pi * 120 * t[2000:])))
    assert amp50 < 2.0 and amp120 == pytest.approx(20, rel=0.1)


def test_mvc_normalisation():
    t = np.arange(4000) / RATE
    mvc_trial = (400 * np.sin(2 * np.pi * 100 * t))[:, None]
    ref = emg.mvc_reference(mvc_trial, RATE)
    assert ref[0] == pytest.approx(400 / np.sqrt(2), rel=0.01)  # RMS of a sine
    task = mvc_trial * 0.25
    res = emg.process(t, task, RATE, ("m",), mvc_uv=ref)
    assert np.median(res.pct_mvc[500:, 0]) == pytest.approx(25.0, rel=0.02)
    with pytest.raises(MovekitError):
        emg.mvc_reference(np.zeros((1000, 1)), RATE)


def test_vmo_vl_ratio_and_onset_difference():
    np.testing.assert_allclose(emg.vmo_vl_ratio([20, 30, 5], [20, 15, 0]), [1.0, 2.0, np.nan])
    d = emg.onset_difference_s([1.02, 3.0, 9.0], [1.0, 2.95, 6.0])
    np.testing.assert_allclose(d, [0.02, 0.05, np.nan], atol=1e-12)
    # VL first by 30 ms on synthetic bursts (Cowan 2001's pattern)
    t, x = synthetic([1.0, 3.0], channels=1, seed=4)
    _, y = synthetic([1.03, 3.03], channels=1, seed=5)
    res = emg.process(t, np.hstack([y, x]), RATE, ("vmo", "vl"))
    diff = emg.onset_difference_s(res.onsets("vmo"), res.onsets("vl"))
    np.testing.assert_allclose(diff, [0.03, 0.03], atol=0.01)


def test_median_frequency_of_known_spectra():
    t = np.arange(3000) / RATE
    x = np.column_stack([np.sin(2 * np.pi * 80 * t), np.sin(2 * np.pi * 150 * t)])
    tc, mdf = emg.median_frequency(x, RATE)
    assert len(tc) == 5
    np.testing.assert_allclose(mdf[:, 0], 80, atol=4)
    np.testing.assert_allclose(mdf[:, 1], 150, atol=4)
    tr = emg.fatigue_trend(np.arange(10.0), 100 - 2 * np.arange(10.0), min_span_s=0, min_windows=3)
    assert tr.slope_hz_per_s[0] == pytest.approx(-2) and tr.pct_per_min[0] == pytest.approx(-120)


def test_teager_kaiser_of_a_sine_is_constant():
    # psi[A sin(w n)] = A^2 sin^2(w) (Kaiser 1990), the energy the TKEO onset option tracks (Li 2007)
    n = np.arange(500)
    w = 2 * np.pi * 50 / RATE
    psi = emg.teager_kaiser(3.0 * np.sin(w * n))
    np.testing.assert_allclose(psi, 9.0 * np.sin(w) ** 2, rtol=1e-9)
