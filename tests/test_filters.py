"""Cleaning: masking, gap fill, Hampel, Butterworth; streaming equals causal batch."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from movekit.analysis.filters import (CleanConfig, StreamingCleaner, clean, fill_gaps, hampel,
                                      lowpass, mask_by_visibility)

RNG = np.random.default_rng(7)


def _signal(n=600, ch=5):
    t = np.arange(n) / 30.0
    x = np.stack([40 * np.sin(2 * np.pi * (0.3 + 0.1 * c) * t) + RNG.normal(0, 1, n) for c in range(ch)], 1)
    return t, x


def test_mask_by_visibility():
    p = np.ones((2, 33, 3))
    vis = np.ones((2, 33))
    vis[1, 5] = 0.3
    vis[0, 7] = np.nan
    out = mask_by_visibility(p, vis, 0.5)
    assert np.isnan(out[1, 5]).all() and np.isnan(out[0, 7]).all() and np.isfinite(out[0, 5]).all()
    assert np.isfinite(p).all()  # input untouched


def test_gap_fill_offline_and_causal():
    x = np.arange(20, dtype=float)
    x[3:6] = np.nan   # 3-sample gap: filled
    x[10:17] = np.nan  # 7-sample gap: stays NaN
    off = fill_gaps(x, 5)
    np.testing.assert_allclose(off[3:6], [3, 4, 5])
    assert np.isnan(off[10:17]).all()
    cau = fill_gaps(x, 5, causal=True)
    np.testing.assert_allclose(cau[3:6], [2, 2, 2])
    np.testing.assert_allclose(cau[10:15], 9.0)  # held for max_gap samples...
    assert np.isnan(cau[15:17]).all()  # ...then NaN
    lead = np.array([np.nan, np.nan, 1.0, 2.0])
    assert np.isnan(fill_gaps(lead, 5)[:2]).all()


def test_hampel_removes_spikes_keeps_signal():
    t, x = _signal()
    spiked = x.copy()
    idx = [50, 51, 300, 450]
    spiked[idx, 2] += 80.0
    out = hampel(spiked, 3, 3.0)
    assert np.max(np.abs(out[idx, 2] - x[idx, 2])) < 10.0
    untouched = np.ones(len(x), bool)
    untouched[idx] = False
    # most clean samples are left exactly as they were
    assert np.mean(out[untouched, 2] == x[untouched, 2]) > 0.95
    np.testing.assert_array_equal(hampel(x[:, 0], 0), x[:, 0])


def test_lowpass_zero_phase_matches_scipy_and_restarts_at_gaps():
    t, x = _signal()
    sos = sps.butter(2, 6.0, fs=30.0, output="sos")
    np.testing.assert_allclose(lowpass(x, 30.0), sps.sosfiltfilt(sos, x, axis=0), atol=1e-9)
    y = x.copy()
    y[200:260, 1] = np.nan
    out = lowpass(y, 30.0)
    assert np.isnan(out[200:260, 1]).all()
    np.testing.assert_allclose(out[260:, 1], sps.sosfiltfilt(sos, y[260:, 1]), atol=1e-9)
    causal = lowpass(x, 30.0, zero_phase=False)
    zi = sps.sosfilt_zi(sos)[:, :, None] * x[0]
    np.testing.assert_allclose(causal, sps.sosfilt(sos, x, axis=0, zi=zi)[0], atol=1e-9)
    # zero-phase: no lag on a slow sine; causal: lags behind
    lag_zp = np.argmax(np.correlate(lowpass(x, 30.0)[:, 0], x[:, 0], "full")) - (len(x) - 1)
    assert lag_zp == 0


def test_streaming_equals_causal_batch_to_float_precision():
    t, x = _signal(900, 6)
    x[100:104, 0] = np.nan  # short gap
    x[300:340, :] = np.nan  # long gap, all channels
    x[500, 3] += 100.0  # spike
    x[700:702, 4] = np.nan
    cfg = CleanConfig(max_gap_s=0.2, hampel_half_window=3, cutoff_hz=6.0, order=2)
    batch = clean(x, 30.0, cfg, mode="causal")
    s = StreamingCleaner(6, 30.0, cfg)
    stream = np.array([s.update(row) for row in x])
    np.testing.assert_array_equal(np.isnan(batch), np.isnan(stream))
    np.testing.assert_allclose(stream, batch, rtol=0, atol=1e-9)
    assert np.isnan(batch[300:340]).any() and np.isfinite(batch[100:104, 0]).all()


@pytest.mark.parametrize("mode", ["offline", "causal"])
def test_empty_single_nan(mode):
    assert clean(np.zeros((0, 3)), 30.0, mode=mode).shape == (0, 3)
    one = clean(np.ones((1, 3)), 30.0, mode=mode)
    np.testing.assert_allclose(one, 1.0)
    allnan = clean(np.full((20, 2), np.nan), 30.0, mode=mode)
    assert np.isnan(allnan).all()
    with pytest.raises(ValueError):
        clean(np.ones((5, 2)), 30.0, mode="sideways")
