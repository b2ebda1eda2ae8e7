"""The live path's Butterworth design equals scipy's, bit for bit (movekit.analysis.iir)."""

import numpy as np
import pytest
from scipy import signal as sps

from movekit.analysis.iir import butter_lowpass_sos, sosfilt_zi


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 8])
def test_butter_equals_scipy(order):
    for fs_hz in (7.5, 10.0, 25.0, 29.97, 30.0, 60.0, 120.0, 1000.0):
        for cutoff_hz in (0.5, 3.0, 6.0, 12.0):
            if cutoff_hz >= 0.4 * fs_hz:
                continue
            ours = butter_lowpass_sos(order, cutoff_hz, fs_hz)
            ref = sps.butter(order, cutoff_hz, fs=fs_hz, output="sos")
            assert np.array_equal(ours, ref), (order, fs_hz, cutoff_hz)
            assert np.array_equal(sosfilt_zi(ours), sps.sosfilt_zi(ref))


def test_filter_response_is_butterworth():
    """-3 dB at the cut-off and unity gain at DC, whatever the implementation."""
    sos = butter_lowpass_sos(2, 6.0, 30.0)
    w, h = sps.sosfreqz(sos, worN=[0.0, 6.0], fs=30.0)
    assert abs(abs(h[0]) - 1) < 1e-12
    assert abs(20 * np.log10(abs(h[1])) + 3.0103) < 1e-3


def test_bad_design_is_refused():
    with pytest.raises(ValueError, match="cutoff"):
        butter_lowpass_sos(2, 16.0, 30.0)
    with pytest.raises(ValueError):
        butter_lowpass_sos(0, 6.0, 30.0)
