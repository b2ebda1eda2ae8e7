"""Postural sway measures from a centre-of-pressure or centre-of-mass trajectory (pure maths).

Time-domain and frequency-domain measures after Prieto et al. 1996 (Measures of postural steadiness:
differences between healthy young and elderly adults, IEEE Trans Biomed Eng 43:956-966): the
trajectory is referenced to its mean, RD is the resultant distance from the mean,

* mean distance ``MDIST = mean(RD)``, RMS distance ``RDIST = sqrt(mean(RD^2))`` (per axis: mean
  absolute and RMS displacement);
* path length (total excursion) ``sum |p[i+1] - p[i]|``, mean velocity = path length / duration;
* 95 % **prediction** ellipse area as recommended by Schubert & Kirchner 2014 (Ellipse area
  calculations and their applicability in posturography, Gait Posture 39:518-522), with the exact
  finite-sample factor (Chew 1966; see Duarte 2015, Gait Posture 41:44-45):
  ``area = pi * k2 * sqrt(l1 * l2)``, ``k2 = 2 (n+1)(n-1) / (n (n-2)) * F_0.95(2, n-2)``,
  ``l1, l2`` the eigenvalues of the sample covariance (ddof 1). For large ``n`` ``k2 -> chi2_0.95(2)
  = 5.991``; Prieto's "95 % confidence ellipse" ``2 pi F sqrt(det)`` is numerically the same
  large-sample prediction region, not a confidence region of the mean;
* frequency measures from the power spectral density (Welch) of each axis and of RD, over
  0.15-5 Hz (Prieto 1996): total power, 50 % and 95 % power frequencies, centroidal frequency
  ``sqrt(m2/m0)`` and frequency dispersion ``sqrt(1 - m1^2/(m0 m2))``.

Trials should last >= 25 s sampled at >= 50 Hz for reliable measures (Scoppa et al. 2013,
Clinical stabilometry standardization, Gait Posture 37:290-292); :func:`trial_checks` reports
that. The noise floor of the source is estimated by :func:`noise_floor` so a result can be shown
beside it.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps
from scipy import stats

PRIETO = ("Prieto et al. 1996, Measures of postural steadiness: differences between healthy young "
          "and elderly adults, IEEE Trans Biomed Eng 43:956-966")
SCHUBERT = ("Schubert & Kirchner 2014, Ellipse area calculations and their applicability in "
            "posturography, Gait Posture 39:518-522 (95% prediction ellipse)")
SCOPPA = ("Scoppa et al. 2013, Clinical stabilometry standardization, Gait Posture 37:290-292 "
          "(>= 25 s at >= 50 Hz)")

MIN_DURATION_S = 25.0  #: Scoppa 2013
MIN_RATE_HZ = 50.0  #: Scoppa 2013


def _finite_xy(t_s, x, y=None):
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = None if y is None else np.asarray(y, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(x)
    if y is not None:
        ok &= np.isfinite(y)
    return t[ok], x[ok], (None if y is None else y[ok])


def prediction_ellipse(x, y, p: float = 0.95) -> dict[str, float]:
    """Prediction ellipse of a bivariate sample (Schubert & Kirchner 2014).

    Parameters
    ----------
    x, y : array (n,)
        Coordinates (any length unit); NaN samples are dropped.
    p : float
        Probability that a new observation falls inside (0.95).

    Returns
    -------
    dict
        ``area`` (unit^2), ``semi_major``, ``semi_minor`` (unit), ``angle_deg`` (major axis vs
        the x axis, -90..90), ``k2`` (the squared scale factor), ``n``. NaN when fewer than 3 samples.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = x.size
    nan = {"area": np.nan, "semi_major": np.nan, "semi_minor": np.nan, "angle_deg": np.nan,
           "k2": np.nan, "n": n}
    if n < 3:
        return nan
    cov = np.cov(np.vstack([x, y]), ddof=1)
    lam, vec = np.linalg.eigh(cov)
    lam = np.clip(lam, 0.0, None)
    k2 = 2.0 * (n + 1) * (n - 1) / (n * (n - 2)) * stats.f.ppf(p, 2, n - 2)
    major = vec[:, 1]
    ang = float(np.degrees(np.arctan2(major[1], major[0])))
    ang = (ang + 90.0) % 180.0 - 90.0
    return {"area": float(np.pi * k2 * np.sqrt(lam[0] * lam[1])),
            "semi_major": float(np.sqrt(k2 * lam[1])), "semi_minor": float(np.sqrt(k2 * lam[0])),
            "angle_deg": ang, "k2": float(k2), "n": n}


def frequency_measures(x, fs_hz: float, band_hz: tuple[float, float] = (0.15, 5.0)) -> dict[str, float]:
    """Spectral sway measures of one signal (Prieto 1996), Welch PSD over ``band_hz``.

    Returns ``total_power`` (unit^2), ``f50_hz`` and ``f95_hz`` (frequencies below which 50 % and
    95 % of the band power lie), ``centroid_hz`` (``sqrt(m2/m0)``), ``dispersion`` (0..1). NaN when
    the signal is shorter than one period of the band's lower edge (``fs / band_low`` samples).
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    keys = ("total_power", "f50_hz", "f95_hz", "centroid_hz", "dispersion")
    lo, hi = band_hz
    hi = min(hi, fs_hz / 2.0)
    if x.size < max(8, int(np.ceil(fs_hz / lo))) or hi <= lo:
        return {k: np.nan for k in keys}
    nper = min(x.size, int(2 ** np.ceil(np.log2(fs_hz / lo * 2))))
    f, pxx = sps.welch(x - x.mean(), fs=fs_hz, nperseg=nper, detrend="constant")
    sel = (f >= lo) & (f <= hi)
    f, pxx = f[sel], pxx[sel]
    if f.size < 2 or not np.any(pxx > 0):
        return {k: np.nan for k in keys}
    df = f[1] - f[0]
    cum = np.cumsum(pxx) * df
    m0 = cum[-1]
    m1 = np.sum(f * pxx) * df
    m2 = np.sum(f * f * pxx) * df
    # the power of a bin is reached at its upper edge
    edges = np.concatenate(([f[0] - 0.5 * df], f + 0.5 * df))
    cum0 = np.concatenate(([0.0], cum))
    return {"total_power": float(m0),
            "f50_hz": float(np.interp(0.5 * m0, cum0, edges)),
            "f95_hz": float(np.interp(0.95 * m0, cum0, edges)),
            "centroid_hz": float(np.sqrt(m2 / m0)),
            "dispersion": float(np.sqrt(max(0.0, 1.0 - m1 * m1 / (m0 * m2))))}


def sway_metrics(t_s, ap, ml=None, *, unit: str = "mm", fs_hz: float | None = None) -> dict[str, tuple[float, str]]:
    """All sway measures of a trajectory, named with their units.

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s).
    ap, ml : array (n,)
        Antero-posterior and medio-lateral position in ``unit``. ``ml`` None when only one axis
        is seen (a single camera): the two-axis measures are then left out, not guessed; a caller
        whose one axis is medio-lateral passes it as ``ap`` and renames ``_ap_`` to ``_ml_``.
        Samples where either is NaN are dropped.
    unit : str
        ``"mm"`` (COP, COM) or ``"deg"`` (trunk inclination).
    fs_hz : float, optional
        Sampling rate for the frequency measures (default: from the median sample interval).

    Returns
    -------
    dict
        ``{name: (value, unit)}`` with names such as ``sway_rms_distance_mm``,
        ``sway_path_length_ap_mm``, ``sway_mean_velocity_mm_per_s``,
        ``sway_ellipse95_area_mm2``, ``sway_f50_ap_hz``. Empty for fewer than 3 samples.
    """
    t, a, m = _finite_xy(t_s, ap, ml)
    u, u2, uv = unit, f"{unit}2", f"{unit}/s"
    s, s2, sv = f"_{unit}", f"_{unit}2", f"_{unit}_per_s"
    out: dict[str, tuple[float, str]] = {}
    if t.size < 3:
        return out
    dur = float(t[-1] - t[0])
    if fs_hz is None:
        fs_hz = 1.0 / float(np.median(np.diff(t)))
    out["sway_duration_s"] = (dur, "s")
    axes = {"ap": a - a.mean()}
    if m is not None:
        axes["ml"] = m - m.mean()
    for name, v in axes.items():
        path = float(np.sum(np.abs(np.diff(v))))
        out[f"sway_mean_distance_{name}{s}"] = (float(np.mean(np.abs(v))), u)
        out[f"sway_rms_{name}{s}"] = (float(np.sqrt(np.mean(v * v))), u)
        out[f"sway_range_{name}{s}"] = (float(np.ptp(v)), u)
        out[f"sway_path_length_{name}{s}"] = (path, u)
        out[f"sway_mean_velocity_{name}{sv}"] = (path / dur if dur > 0 else np.nan, uv)
        fm = frequency_measures(v, fs_hz)
        out[f"sway_total_power_{name}{s2}"] = (fm["total_power"], u2)
        out[f"sway_f50_{name}_hz"] = (fm["f50_hz"], "Hz")
        out[f"sway_f95_{name}_hz"] = (fm["f95_hz"], "Hz")
        out[f"sway_centroid_frequency_{name}_hz"] = (fm["centroid_hz"], "Hz")
    if m is not None:
        rd = np.hypot(axes["ap"], axes["ml"])
        path = float(np.sum(np.hypot(np.diff(axes["ap"]), np.diff(axes["ml"]))))
        out[f"sway_mean_distance{s}"] = (float(rd.mean()), u)
        out[f"sway_rms_distance{s}"] = (float(np.sqrt(np.mean(rd * rd))), u)
        out[f"sway_path_length{s}"] = (path, u)
        out[f"sway_mean_velocity{sv}"] = (path / dur if dur > 0 else np.nan, uv)
        el = prediction_ellipse(axes["ml"], axes["ap"])
        out[f"sway_ellipse95_area{s2}"] = (el["area"], u2)
        out[f"sway_ellipse95_major_axis{s}"] = (2.0 * el["semi_major"], u)
        out[f"sway_ellipse95_minor_axis{s}"] = (2.0 * el["semi_minor"], u)
        fm = frequency_measures(rd, fs_hz)
        out["sway_f50_hz"] = (fm["f50_hz"], "Hz")
        out["sway_f95_hz"] = (fm["f95_hz"], "Hz")
        out["sway_centroid_frequency_hz"] = (fm["centroid_hz"], "Hz")
    return out


def noise_floor(t_s, x, cutoff_hz: float = 6.0) -> float:
    """RMS of what a ``cutoff_hz`` low-pass removes from ``x`` (same unit as ``x``).

    Human sway and COM movement in quiet stance lie well below ~6 Hz (Winter 2009, ch. 2), so the
    residual above the cut-off estimates the measurement noise of the source (pose jitter, plate
    noise). It is a floor: a sway RMS not clearly above it is not interpretable. NaN when the
    sampling rate is too low for the cut-off or fewer than 16 samples are finite.
    """
    t, v, _ = _finite_xy(t_s, x)
    if v.size < 16:
        return float("nan")
    fs = 1.0 / float(np.median(np.diff(t)))
    if cutoff_hz >= fs / 2.0:
        return float("nan")
    sos = sps.butter(2, cutoff_hz, fs=fs, output="sos")
    smooth = sps.sosfiltfilt(sos, v - v.mean())
    return float(np.sqrt(np.mean((v - v.mean() - smooth) ** 2)))


def filtered_noise_floor(t_s, raw, cutoff_hz: float = 6.0, order: int = 2) -> float:
    """RMS noise left in ``raw`` after a zero-phase Butterworth low-pass (same unit as ``raw``).

    The noise that passes the filter cannot be told from movement in the signal itself; it is
    estimated from the noise the filter removes (:func:`noise_floor`, the residual above
    ``cutoff_hz``), assuming white noise: scaled by ``sqrt(P_pass / P_stop)``, the filter's
    noise-power gain (``mean |H|^2`` of the zero-phase response ``H = |B|^2`` of the Butterworth
    ``B``) over that of its residual (``mean (1 - H)^2``), both over 0..Nyquist. Use it to show
    the noise floor of a signal cleaned by :func:`movekit.analysis.filters.lowpass` with the same
    ``cutoff_hz`` and ``order`` (Winter 2009, ch. 2: ~6 Hz for whole-body kinematics); ``raw`` is
    the same signal before the low-pass. Pose jitter is not exactly white (neighbouring frames
    correlate), so treat it as an estimate. NaN as :func:`noise_floor`.
    """
    t, v, _ = _finite_xy(t_s, raw)
    resid = noise_floor(t, v, cutoff_hz)
    if not np.isfinite(resid):
        return float("nan")
    fs = 1.0 / float(np.median(np.diff(t)))
    sos = sps.butter(order, cutoff_hz, fs=fs, output="sos")
    _, b = sps.sosfreqz(sos, worN=8192, fs=fs)
    h = np.abs(b) ** 2  # forward-backward: the magnitude response squared, zero phase
    p_pass, p_stop = float(np.mean(h ** 2)), float(np.mean((1.0 - h) ** 2))
    return float(resid * np.sqrt(p_pass / p_stop))


def trial_checks(t_s, *, min_duration_s: float = MIN_DURATION_S, min_rate_hz: float = MIN_RATE_HZ) -> dict:
    """Duration and sampling-rate checks of a sway trial against Scoppa 2013.

    Returns ``{"duration": (ok, value_s, message), "rate": (ok, value_hz, message)}``.
    """
    t = np.asarray(t_s, dtype=np.float64)
    t = t[np.isfinite(t)]
    dur = float(t[-1] - t[0]) if t.size > 1 else 0.0
    rate = float(1.0 / np.median(np.diff(t))) if t.size > 1 else 0.0
    return {
        "duration": (dur >= min_duration_s, dur,
                     f"trial lasts {dur:.1f} s; sway measures need >= {min_duration_s:g} s (Scoppa 2013)"),
        "rate": (rate >= min_rate_hz * (1 - 1e-3), rate,
                 f"sampled at {rate:.1f} Hz; sway measures need >= {min_rate_hz:g} Hz (Scoppa 2013)"),
    }
