"""Butterworth low-pass design for the live path, without importing ``scipy.signal``.

``import scipy.signal`` takes 1.1-1.4 s on the project's 2-core machine (most of it building
docstrings for array-API backends), more than a whole short capture's other start-up; the live
cleaner needs only the filter design and its steady-state initial conditions. Both are computed
here as ``scipy.signal.butter(..., output="sos")`` and ``scipy.signal.sosfilt_zi`` compute them
(analog prototype poles, frequency pre-warping, bilinear transform, one second-order section per
conjugate pole pair), and tests check them against scipy to 1e-12.

References
----------
Butterworth, S. (1930). On the theory of filter amplifiers. Wireless Engineer 7, 536-541.
Oppenheim, A. V., & Schafer, R. W. (2010). Discrete-Time Signal Processing, 3rd ed., sec. 7.2
(bilinear transformation with pre-warping).
"""

from __future__ import annotations

import numpy as np


def butter_lowpass_sos(order: int, cutoff_hz: float, fs_hz: float) -> np.ndarray:
    """Second-order sections ``(sections, 6)`` of a digital Butterworth low-pass.

    Parameters
    ----------
    order : filter order (>= 1)
    cutoff_hz : -3 dB frequency, Hz (0 < cutoff < fs / 2)
    fs_hz : sampling rate, Hz

    Returns
    -------
    ndarray
        Rows ``[b0, b1, b2, 1, a1, a2]``, as ``scipy.signal.butter(order, cutoff_hz, fs=fs_hz,
        output="sos")`` gives them (sections with the poles nearest the unit circle last).
    """
    if order < 1 or not 0 < cutoff_hz < fs_hz / 2:
        raise ValueError(f"need order >= 1 and 0 < cutoff ({cutoff_hz} Hz) < fs/2 ({fs_hz / 2} Hz)")
    m = np.arange(-order + 1, order, 2)
    poles_analog = -np.exp(1j * np.pi * m / (2 * order))  # unit-cut-off prototype (left half plane)
    fs2 = 2.0 * 2.0  # scipy designs at fs = 2 (normalised frequency), so 2 * fs = 4
    warped = 2.0 * 2.0 * np.tan(np.pi * (2 * cutoff_hz / fs_hz) / 2.0)
    p = warped * poles_analog
    k = warped**order
    pz = (fs2 + p) / (fs2 - p)  # bilinear transform; the zeros all land at z = -1
    kz = k * np.real(1.0 / np.prod(fs2 - p))
    # sections as scipy's zpk2sos ('nearest' pairing) builds them: an odd order gets a pole and a zero
    # at the origin; the pole closest to the unit circle is taken first (its section goes last) with
    # the two zeros nearest to it; a real pole is paired with the origin pole
    zeros = [-1.0] * order + ([0.0] if order % 2 else [])
    units = [(q, [1.0, -(q + q.conjugate()).real, (q * q.conjugate()).real]) for q in pz[np.imag(pz) > 0]]
    units += [(r, [1.0, -r.real, 0.0]) for r in pz[np.imag(pz) == 0]]
    sections = []
    while units:
        k = min(range(len(units)), key=lambda i: abs(1 - abs(units[i][0])))
        pole, a = units.pop(k)
        pair = []
        for _ in range(2):
            j = min(range(len(zeros)), key=lambda i: abs(zeros[i] - pole))
            pair.append(zeros.pop(j))
        b = [1.0, -(pair[0] + pair[1]), pair[0] * pair[1]]
        sections.insert(0, [*b, *a])
    sos = np.array(sections, dtype=np.float64) + 0.0  # + 0.0: no negative zeros
    sos[0, :3] *= kz
    return sos


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Initial state ``(sections, 2)`` of each section for a step response's steady state (input 1),
    as ``scipy.signal.sosfilt_zi``: scale by the first sample to start a filter without a transient."""
    sos = np.asarray(sos, dtype=np.float64)
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for i, (b0, b1, b2, a0, a1, a2) in enumerate(sos):
        b = np.array([b0, b1, b2]) / a0
        a = np.array([1.0, a1 / a0, a2 / a0])
        # lfilter_zi for a biquad: solve (I - A^T-companion) zi = B
        companion = np.array([[-a[1], 1.0], [-a[2], 0.0]])
        rhs = b[1:] - a[1:] * b[0]
        zi[i] = scale * np.linalg.solve(np.eye(2) - companion, rhs)
        scale *= b.sum() / a.sum()
    return zi
