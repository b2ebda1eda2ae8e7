"""Sway measures: synthetic paths with known answers, and a real Kistler force-plate recording
checked against an independent computation (centre of pressure recomputed from the plate's
forces and moments, measures recomputed here with plain loops)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from movekit.assess import sway as S
from movekit.assess.balance import cop_sway
from movekit.cli import main


def test_circle_path_distance_and_ellipse():
    fs, dur, R, f = 100.0, 32.0, 5.0, 0.25  # mm, Hz; whole turns, so the mean is the centre
    t = np.arange(0, dur, 1 / fs)
    ap, ml = R * np.sin(2 * np.pi * f * t), R * np.cos(2 * np.pi * f * t)
    m = S.sway_metrics(t, ap, ml)
    turns = f * (t[-1] - t[0])
    assert m["sway_path_length_mm"][0] == pytest.approx(2 * np.pi * R * turns, rel=1e-3)
    assert m["sway_mean_velocity_mm_per_s"][0] == pytest.approx(2 * np.pi * R * f, rel=1e-3)
    assert m["sway_mean_distance_mm"][0] == pytest.approx(R, rel=1e-3)
    assert m["sway_rms_distance_mm"][0] == pytest.approx(R, rel=1e-3)
    assert m["sway_rms_ap_mm"][0] == pytest.approx(R / np.sqrt(2), rel=1e-2)
    # cov = R^2/2 I -> prediction area = pi * k2 * R^2 / 2, k2 ~ chi2(0.95, 2) for large n
    assert m["sway_ellipse95_area_mm2"][0] == pytest.approx(np.pi * stats.chi2.ppf(0.95, 2) * R**2 / 2, rel=2e-3)
    assert m["sway_f50_ap_hz"][0] == pytest.approx(f, abs=0.02)
    assert m["sway_centroid_frequency_ml_hz"][0] == pytest.approx(f, abs=0.03)
    assert m["sway_ellipse95_area_mm2"][1] == "mm2"


def test_prediction_ellipse_covers_95_percent_of_new_points():
    rng = np.random.default_rng(1)
    a = np.radians(30)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    sample = (rng.normal(size=(4000, 2)) * [3.0, 1.0]) @ rot.T
    el = S.prediction_ellipse(sample[:, 0], sample[:, 1])
    assert el["area"] == pytest.approx(np.pi * stats.chi2.ppf(0.95, 2) * 3.0, rel=0.05)
    assert el["angle_deg"] == pytest.approx(30.0, abs=2.0)
    new = (rng.normal(size=(20000, 2)) * [3.0, 1.0]) @ rot.T
    c = np.cov(sample.T)
    d2 = np.einsum("ij,jk,ik->i", new - sample.mean(0), np.linalg.inv(c), new - sample.mean(0))
    assert np.mean(d2 <= el["k2"]) == pytest.approx(0.95, abs=0.01)
    # small samples: the exact factor is larger than chi2 (Schubert & Kirchner 2014)
    assert S.prediction_ellipse(sample[:10, 0], sample[:10, 1])["k2"] > stats.chi2.ppf(0.95, 2) * 1.3


def test_noise_floor_recovers_white_noise_level():
    rng = np.random.default_rng(2)
    fs = 100.0
    t = np.arange(0, 30, 1 / fs)
    slow = 4 * np.sin(2 * np.pi * 0.3 * t)
    floor = S.noise_floor(t, slow + rng.normal(0, 0.5, t.size))
    # white noise keeps the share of its power above 6 Hz: sqrt(44/50) of its SD
    assert floor == pytest.approx(0.5 * np.sqrt(44 / 50), rel=0.1)
    assert S.noise_floor(t, slow) < 0.01


def test_one_axis_gives_no_two_axis_measures():
    t = np.arange(0, 30, 0.02)
    m = S.sway_metrics(t, np.sin(t))
    assert "sway_rms_ap_mm" in m and "sway_ellipse95_area_mm2" not in m and "sway_rms_distance_mm" not in m
    assert S.sway_metrics(t[:2], [0, 1], [0, 1]) == {}


def _read_kistler():
    from movekit.assess.sources import read_bioware
    from movekit.datasets import fetch

    return read_bioware(fetch("kistler_cop"))


def _independent(t, x, y):
    """Prieto 1996 measures with plain Python loops (no movekit code)."""
    n = len(t)
    mx, my = sum(x) / n, sum(y) / n
    xs, ys = [v - mx for v in x], [v - my for v in y]
    rd = [math.hypot(a, b) for a, b in zip(xs, ys)]
    path = sum(math.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i]) for i in range(n - 1))
    sxx = sum(a * a for a in xs) / (n - 1)
    syy = sum(b * b for b in ys) / (n - 1)
    sxy = sum(a * b for a, b in zip(xs, ys)) / (n - 1)
    fcrit = stats.f.ppf(0.95, 2, n - 2)
    area = math.pi * 2 * (n + 1) * (n - 1) / (n * (n - 2)) * fcrit * math.sqrt(sxx * syy - sxy * sxy)
    return {
        "mean": sum(rd) / n,
        "rms": math.sqrt(sum(r * r for r in rd) / n),
        "path": path,
        "vel": path / (t[-1] - t[0]),
        "area": area,
    }


def test_real_kistler_cop_against_independent_computation():
    t, cols = _read_kistler()
    assert len(t) == 500 and t[1] - t[0] == pytest.approx(0.02)
    x_mm, y_mm = cols["Ax"] * 1000, cols["Ay"] * 1000
    # the plate's own COP agrees with COP = (-My, Mx) / Fz within the top-plate offset term
    assert np.max(np.abs(-cols["My"] / cols["Fz"] * 1000 - x_mm)) < 1.0
    assert np.max(np.abs(cols["Mx"] / cols["Fz"] * 1000 - y_mm)) < 1.0
    ind = _independent(list(t), list(x_mm), list(y_mm))
    m = S.sway_metrics(t, y_mm, x_mm)
    assert m["sway_mean_distance_mm"][0] == pytest.approx(ind["mean"], rel=1e-9)
    assert m["sway_rms_distance_mm"][0] == pytest.approx(ind["rms"], rel=1e-9)
    assert m["sway_path_length_mm"][0] == pytest.approx(ind["path"], rel=1e-9)
    assert m["sway_mean_velocity_mm_per_s"][0] == pytest.approx(ind["vel"], rel=1e-9)
    assert m["sway_ellipse95_area_mm2"][0] == pytest.approx(ind["area"], rel=1e-9)
    # COP recomputed from forces and moments gives nearly the same sway
    mx = S.sway_metrics(t, cols["Mx"] / cols["Fz"] * 1000, -cols["My"] / cols["Fz"] * 1000)
    assert mx["sway_rms_distance_mm"][0] == pytest.approx(ind["rms"], rel=0.03)
    assert 10.0 < ind["rms"] < 40.0  # a real standing trial: centimetre-scale sway


def test_real_kistler_too_short_gives_no_numbers(tmp_path):
    from movekit.datasets import fetch

    out = tmp_path / "b.json"
    assert main(["assess", "balance", str(fetch("kistler_cop")), "--json", str(out)]) == 3  # NOT VALID: too short
    res = json.loads(out.read_text())
    assert {"test", "metrics", "reps", "flags", "validity", "references"} <= set(res)
    assert res["validity"]["duration"]["ok"] is False and "25 s" in res["validity"]["duration"]["message"]
    assert res["metrics"] == {}  # 10 s < 25 s (Scoppa 2013): nothing invented
    assert any("Scoppa" in r for r in res["references"])


def _circle_csv(t, radius_mm):
    w = 0.4 * np.pi  # 0.2 Hz: whole turns in 30 s
    rows = [f"{a:.4f},{radius_mm * np.cos(w * a):.5f},{radius_mm * np.sin(w * a):.5f}" for a in t]
    return "time_s,cop_x_mm,cop_y_mm\n" + "\n".join(rows) + "\n"


def test_cli_balance_cop_csv_and_change_from_previous(tmp_path, capsys):
    fs = 100.0
    t = np.arange(0, 30, 1 / fs)
    csv = tmp_path / "cop.csv"
    csv.write_text(_circle_csv(t, 3.0))
    prev = tmp_path / "prev.json"
    assert main(["assess", "balance", str(csv), "--json", str(prev)]) == 0
    res = json.loads(prev.read_text())
    assert res["validity"]["duration"]["ok"] and res["validity"]["sampling_rate"]["ok"]
    assert res["metrics"]["sway_rms_distance_mm"] == {"value": pytest.approx(3.0, rel=1e-3), "unit": "mm"}
    assert "sway_noise_floor_mm" in res["metrics"]
    # a second session with twice the sway: +100 % path length
    csv.write_text(_circle_csv(t, 6.0))
    out = tmp_path / "now.json"
    assert main(["assess", "balance", str(csv), "--previous", str(prev), "--json", str(out)]) == 0
    now = json.loads(out.read_text())
    assert now["metrics"]["sway_path_length_change_pct"]["value"] == pytest.approx(100.0, rel=1e-3)
    assert "sway_path_length_mm" in capsys.readouterr().out


def test_cop_sway_below_noise_floor_is_flagged():
    t = np.arange(0, 30, 0.01)
    rng = np.random.default_rng(3)
    r = cop_sway(t, rng.normal(0, 1.0, t.size), rng.normal(0, 1.0, t.size), noise_floor_mm=3.0)
    assert r.valid, r.summary()
    assert any(f.code == "below_noise_floor" for f in r.flags)
    assert r.value("sway_noise_floor_mm") == 3.0


def test_filtered_noise_floor_is_the_noise_left_after_the_low_pass():
    """The floor shown beside video sway is the jitter left in the cleaned (6 Hz) COM, not the
    raw jitter: check the white-noise estimate against the noise actually left by the filter."""
    from movekit.analysis.filters import lowpass

    rng = np.random.default_rng(5)
    fs = 30.0
    t = np.arange(0, 60, 1 / fs)
    slow = 4 * np.sin(2 * np.pi * 0.3 * t)
    noise = rng.normal(0, 2.0, t.size)
    left = lowpass(slow + noise, fs, 6.0) - lowpass(slow, fs, 6.0)  # noise in the cleaned signal
    est = S.filtered_noise_floor(t, slow + noise)
    assert est == pytest.approx(float(np.sqrt(np.mean(left**2))), rel=0.1)
    assert est < 0.9 * 2.0  # well below the raw jitter SD
    assert S.filtered_noise_floor(t, slow) < 0.01
    assert np.isnan(S.filtered_noise_floor(t[:10], slow[:10]))


# --- low-pass and resampling before the measures (Prieto 1996, Ruhe 2010) -------------------------


def test_prepare_cop_removes_plate_noise_and_resamples():
    """2000 Hz: a 0.3 Hz, 5 mm sway plus 0.5 mm of white plate noise. Raw, the noise multiplies the
    path by ~100; prepared (10 Hz zero-phase, 100 Hz) the path is the sway's own within 5 %."""
    fs = 2000.0
    t = np.arange(0, 30, 1 / fs)
    rng = np.random.default_rng(7)
    ap, ml = 5 * np.sin(2 * np.pi * 0.3 * t), 3 * np.cos(2 * np.pi * 0.3 * t)
    noisy_ml, noisy_ap = ml + rng.normal(0, 0.5, t.size), ap + rng.normal(0, 0.5, t.size)
    tp, xp, yp, info = S.prepare_cop(t, noisy_ml, noisy_ap)
    assert info["resampled_hz"] == 100.0 and info["cutoff_hz"] == 10.0 and info["zero_phase"] is True
    assert info["raw_rate_hz"] == pytest.approx(2000.0)
    assert np.allclose(np.diff(tp), 0.01) and tp[0] == 0.0 and tp[-1] == pytest.approx(t[-1], abs=0.01)
    err = yp - 5 * np.sin(2 * np.pi * 0.3 * tp)  # no lag (zero phase); the ends carry filter edge effects
    assert np.max(np.abs(err[50:-50])) < 0.5 and np.sqrt(np.mean(err**2)) < 0.15
    true_path = S.sway_metrics(t, ap, ml)["sway_path_length_mm"][0]
    assert S.sway_metrics(t, noisy_ap, noisy_ml)["sway_path_length_mm"][0] > 30 * true_path
    assert S.sway_metrics(tp, yp, xp)["sway_path_length_mm"][0] == pytest.approx(true_path, rel=0.05)
    shift, at = S.cop_shifts(tp, xp, yp, 0.5)
    assert shift == pytest.approx(2 * 5 * np.sin(np.pi * 0.3 * 0.5), rel=0.1)  # the longest chord of the ellipse


def _prieto_reference(t, x, y, fs):
    """The same trial filtered as Prieto 1996 / Ruhe 2010 describe, computed with scipy only:
    zero-phase Butterworth at 10 Hz, then every (fs/100)-th sample (100 Hz)."""
    from scipy import signal as sps

    sos = sps.butter(2, 10.0, fs=fs, output="sos")
    k = int(round(fs / 100))
    return S.sway_metrics(t[::k], sps.sosfiltfilt(sos, y)[::k], sps.sosfiltfilt(sos, x)[::k])


SWAY_KEYS = (
    "sway_mean_distance_mm",
    "sway_rms_distance_mm",
    "sway_path_length_mm",
    "sway_mean_velocity_mm_per_s",
    "sway_ellipse95_area_mm2",
    "sway_range_ml_mm",
    "sway_range_ap_mm",
)


def _real_quiet(name):
    from movekit.assess.sources import read_bioware_plates, read_vicon_devices_cop
    from movekit.datasets import fetch

    if name == "kistler_cmj":  # 1000 Hz, standing still for 2.5 s before the countermovement
        t, pl, _ = read_bioware_plates(fetch(name))
        s = t < 2.5
        return t[s], pl[0]["Ax"][s] * 1000, pl[0]["Ay"][s] * 1000, pl[0]["Fz"][s], 1000.0
    c = read_vicon_devices_cop(fetch(name))  # 2000 Hz, standing still for 3.3 s before the jump
    s = c.t_s < 3.3
    return c.t_s[s], c.x_mm[s], c.y_mm[s], c.fz_n[s], 2000.0


@pytest.mark.parametrize("name", ["kistler_cmj", "vicon_cmj_emg"])
def test_real_1_2_khz_sway_does_not_depend_on_the_raw_rate(name):
    """Issue 16: a raw 1-2 kHz plate gave a mean velocity of metres per second. Now the raw trial,
    the same trial at half and a tenth of the rate (plain decimation, no anti-alias filter) all
    give sway within 10 % (measured: <= 4.3 %) of the trial filtered as Prieto describes."""
    t, x, y, fz, fs = _real_quiet(name)
    ref = _prieto_reference(t, x, y, fs)
    raw = S.sway_metrics(t, y, x)
    assert raw["sway_mean_velocity_mm_per_s"][0] > 20 * ref["sway_mean_velocity_mm_per_s"][0]  # the old defect
    for step in (1, 2, 10):
        r = cop_sway(t[::step], x[::step], y[::step], fz_n=fz[::step], min_duration_s=2.0)
        assert r.valid, r.summary()
        for k in SWAY_KEYS:
            assert r.value(k) == pytest.approx(ref[k][0], rel=0.10), (step, k)
        assert r.value("sway_mean_velocity_mm_per_s") == pytest.approx(ref["sway_mean_velocity_mm_per_s"][0], rel=0.05)
        p = r.validity["processing"]
        assert p.ok and p.value["cutoff_hz"] == 10.0 and p.value["order"] == 2 and p.value["zero_phase"]
        assert p.value["resampled_hz"] == 100.0
        assert p.value["raw_rate_hz"] == pytest.approx(fs / step, rel=1e-3)
    # centimetre-scale, tens of mm/s: a standing person, not metres per second
    assert 5.0 < ref["sway_mean_velocity_mm_per_s"][0] < 150.0


def test_real_50_hz_kistler_cop_json_states_the_processing(tmp_path):
    from movekit.datasets import fetch

    out = tmp_path / "b.json"
    assert main(["assess", "balance", str(fetch("kistler_cop")), "--min-duration", "5", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert all(c["ok"] for c in res["validity"].values())
    p = res["validity"]["processing"]
    assert p["value"]["cutoff_hz"] == 10.0 and p["value"]["resampled_hz"] == 100.0
    assert p["value"]["raw_rate_hz"] == pytest.approx(50.0) and p["value"]["zero_phase"] is True
    assert "zero-phase Butterworth" in p["message"] and "100 Hz" in p["message"]
    v = res["metrics"]["sway_mean_velocity_mm_per_s"]["value"]
    t, cols = _read_kistler()
    raw = S.sway_metrics(t, cols["Ay"] * 1000, cols["Ax"] * 1000)["sway_mean_velocity_mm_per_s"][0]
    assert v == pytest.approx(99.5, abs=1.0) and 0.9 * raw < v < raw  # 50 Hz: the low-pass removes little
    assert any("Ruhe" in r for r in res["references"])
    # its vertical force swings -8 %..+11 % of body weight: passed, but flagged as movement
    assert any(f["code"] == "vertical_force_varies" for f in res["flags"])
