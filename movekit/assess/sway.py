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

A force-plate centre of pressure is low-passed and resampled before any measure
(:func:`prepare_cop`): path length and mean velocity sum every sample-to-sample step, so plate
noise above the sway band inflates them in proportion to the sampling rate (a real 2000 Hz
Vicon/Kistler trial: mean velocity 7606 mm/s raw, 99 mm/s after the low-pass). Prieto 1996
sampled the COP at 100 Hz and low-passed it with a zero-phase Butterworth filter (5 Hz, fourth
order, as we recall the paper: verify) before the measures; Ruhe et al. 2010 (The
test-retest reliability of centre of pressure measures in bipedal static task conditions, Gait
Posture 32:436-445) recommend 100 Hz with a 10 Hz cut-off, the defaults here
(:data:`COP_CUTOFF_HZ`, :data:`COP_RATE_HZ`). The measures of the prepared trajectory then do not
depend on the plate's raw rate.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps
from scipy import stats

from movekit.assess.result import rate_ok

PRIETO = (
    "Prieto et al. 1996, Measures of postural steadiness: differences between healthy young "
    "and elderly adults, IEEE Trans Biomed Eng 43:956-966"
)
SCHUBERT = (
    "Schubert & Kirchner 2014, Ellipse area calculations and their applicability in "
    "posturography, Gait Posture 39:518-522 (95% prediction ellipse)"
)
SCOPPA = "Scoppa et al. 2013, Clinical stabilometry standardization, Gait Posture 37:290-292 (>= 25 s at >= 50 Hz)"

RUHE = (
    "Ruhe et al. 2010, The test-retest reliability of centre of pressure measures in bipedal "
    "static task conditions, Gait Posture 32:436-445 (100 Hz, 10 Hz low-pass)"
)

MIN_DURATION_S = 25.0  #: Scoppa 2013
MIN_RATE_HZ = 50.0  #: Scoppa 2013
COP_CUTOFF_HZ = 10.0  #: CoP low-pass cut-off (Hz), Ruhe 2010
COP_ORDER = 2  #: Butterworth order, run forward and backward: zero phase, 4th-order roll-off
COP_RATE_HZ = 100.0  #: rate the CoP is resampled to before the measures (Hz), Prieto 1996, Ruhe 2010
#: Missing CoP samples are interpolated across gaps up to this long (s) before the low-pass; a
#: longer gap is left missing (and refuses a trial: :func:`movekit.assess.balance.cop_sway`).
#: 0.1 s is one step of a 10 Hz signal: shorter gaps hold no sway the neighbours do not show.
COP_MAX_GAP_S = 0.1


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
    nan = {"area": np.nan, "semi_major": np.nan, "semi_minor": np.nan, "angle_deg": np.nan, "k2": np.nan, "n": n}
    if n < 3:
        return nan
    cov = np.cov(np.vstack([x, y]), ddof=1)
    lam, vec = np.linalg.eigh(cov)
    lam = np.clip(lam, 0.0, None)
    k2 = 2.0 * (n + 1) * (n - 1) / (n * (n - 2)) * stats.f.ppf(p, 2, n - 2)
    major = vec[:, 1]
    ang = float(np.degrees(np.arctan2(major[1], major[0])))
    ang = (ang + 90.0) % 180.0 - 90.0
    return {
        "area": float(np.pi * k2 * np.sqrt(lam[0] * lam[1])),
        "semi_major": float(np.sqrt(k2 * lam[1])),
        "semi_minor": float(np.sqrt(k2 * lam[0])),
        "angle_deg": ang,
        "k2": float(k2),
        "n": n,
    }


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
    return {
        "total_power": float(m0),
        "f50_hz": float(np.interp(0.5 * m0, cum0, edges)),
        "f95_hz": float(np.interp(0.95 * m0, cum0, edges)),
        "centroid_hz": float(np.sqrt(m2 / m0)),
        "dispersion": float(np.sqrt(max(0.0, 1.0 - m1 * m1 / (m0 * m2)))),
    }


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
    p_pass, p_stop = float(np.mean(h**2)), float(np.mean((1.0 - h) ** 2))
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
        "duration": (
            dur >= min_duration_s,
            dur,
            f"trial lasts {dur:.1f} s; sway measures need >= {min_duration_s:g} s (Scoppa 2013)",
        ),
        "rate": (
            rate_ok(rate, min_rate_hz),
            rate,
            f"sampled at {rate:.1f} Hz; sway measures need >= {min_rate_hz:g} Hz (Scoppa 2013)",
        ),
    }


def resample_uniform(t_s, columns, rate_hz: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Linear interpolation of ``columns`` (each ``(n,)``) onto ``t0, t0 + 1/rate_hz, ...``.

    Grid points further than 1.5 raw sample intervals from a finite raw sample (a gap) are NaN.
    Meant for a signal already low-passed well below ``rate_hz / 2`` (then interpolation neither
    aliases nor bends the trajectory measurably).
    """
    t = np.asarray(t_s, dtype=np.float64)
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    ok = np.isfinite(t)
    for c in cols:
        ok &= np.isfinite(c)
    if ok.sum() < 2:
        return np.empty(0), [np.empty(0) for _ in cols]
    tk = t[ok]
    n = int(np.floor((tk[-1] - tk[0]) * rate_hz + 1e-9)) + 1
    grid = tk[0] + np.arange(n) / rate_hz
    dt = float(np.median(np.diff(tk)))
    near = np.searchsorted(tk, grid).clip(1, tk.size - 1)
    gap = np.minimum(np.abs(grid - tk[near - 1]), np.abs(tk[near] - grid)) > 1.5 * dt
    gap |= (tk[near] - tk[near - 1]) > 1.5 * dt
    out = []
    for c in cols:
        v = np.interp(grid, tk, c[ok])
        v[gap] = np.nan
        out.append(v)
    return grid, out


def prepare_cop(
    t_s, x_mm, y_mm, *, cutoff_hz: float = COP_CUTOFF_HZ, order: int = COP_ORDER, rate_hz: float = COP_RATE_HZ
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Low-pass and resample a centre of pressure before the sway measures (Prieto 1996; Ruhe 2010).

    A zero-phase Butterworth low-pass (:func:`movekit.analysis.filters.lowpass`, forward and
    backward, so the roll-off is that of order ``2 * order`` and there is no lag) at ``cutoff_hz``
    on the raw samples, then linear resampling to ``rate_hz`` (:func:`resample_uniform`).

    Parameters
    ----------
    t_s : array (n,)
        Sample times (s), increasing.
    x_mm, y_mm : array (n,)
        Medio-lateral and antero-posterior CoP (mm); NaN gaps restart the filter.
    cutoff_hz, order, rate_hz : float, int, float
        Low-pass cut-off (Hz), Butterworth order, output rate (Hz).

    Returns
    -------
    t_s, x_mm, y_mm, info
        The resampled trajectory and ``info``: ``raw_rate_hz``, ``lowpass`` ("Butterworth"),
        ``cutoff_hz`` (after the filter's cap at 0.4 x the raw rate), ``order``,
        ``zero_phase`` (True), ``resampled_hz``, ``method`` (plain words).
    """
    from movekit.analysis.filters import MAX_CUTOFF_FRACTION, fill_gaps, lowpass

    t = np.asarray(t_s, dtype=np.float64)
    fin = np.isfinite(t)
    raw = 1.0 / float(np.median(np.diff(t[fin]))) if fin.sum() > 1 else float("nan")
    info = {
        "raw_rate_hz": raw,
        "lowpass": "Butterworth",
        "cutoff_hz": float(cutoff_hz),
        "order": int(order),
        "zero_phase": True,
        "resampled_hz": float(rate_hz),
    }
    if not np.isfinite(raw) or raw <= 0:
        info["method"] = "too few samples to filter"
        return t, np.asarray(x_mm, float), np.asarray(y_mm, float), info
    info["cutoff_hz"] = float(min(cutoff_hz, MAX_CUTOFF_FRACTION * raw))
    xy = np.column_stack([x_mm, y_mm]).astype(np.float64)
    missing = ~np.isfinite(xy).all(axis=1)
    xy[missing] = np.nan
    xy = fill_gaps(xy, int(COP_MAX_GAP_S * raw))
    info["interpolated_samples"] = int(missing.sum() - (~np.isfinite(xy).all(axis=1)).sum())
    xy = lowpass(xy, raw, info["cutoff_hz"], order, zero_phase=True)
    g, (x, y) = resample_uniform(t, [xy[:, 0], xy[:, 1]], rate_hz)
    info["method"] = (
        f"zero-phase Butterworth low-pass at {info['cutoff_hz']:g} Hz (order {order}, run forward "
        f"and backward) on the raw {raw:.4g} Hz samples, then resampled to {rate_hz:g} Hz "
        "(Prieto 1996; Ruhe 2010)"
        + (
            f"; {info['interpolated_samples']} missing raw samples in gaps up to {COP_MAX_GAP_S:g} s interpolated first"
            if info["interpolated_samples"]
            else ""
        )
    )
    return g, x, y, info


def cop_shifts(t_s, x_mm, y_mm, window_s: float) -> tuple[float, float]:
    """Largest CoP displacement (mm) between two samples at most ``window_s`` apart, and when (s).

    Pure; ``t_s`` uniformly sampled (e.g. from :func:`prepare_cop`). ``(0.0, nan)`` for fewer
    than two finite samples.
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x_mm, dtype=np.float64)
    y = np.asarray(y_mm, dtype=np.float64)
    if t.size < 2:
        return 0.0, float("nan")
    dt = float(np.median(np.diff(t)))
    k = max(1, min(t.size - 1, int(round(window_s / dt))))
    best, at = 0.0, float("nan")
    for lag in range(1, k + 1):
        d = np.hypot(x[lag:] - x[:-lag], y[lag:] - y[:-lag])
        if not np.isfinite(d).any():
            continue
        i = int(np.nanargmax(d))
        if d[i] > best:
            best, at = float(d[i]), float(t[i])
    return best, at
