"""Force-plate sources: vertical-force checks (unloaded plate, jumps), two-plate BioWare exports,
CoP CSVs in metres, semicolon CSVs and the messages about unrecognised columns."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.assess import run
from movekit.assess.balance import QUIET_FZ_FRACTION, cop_sway, plate_loading
from movekit.assess.sources import (
    UNLOADED_N,
    load_session,
    name_list,
    read_bioware,
    read_bioware_cop,
    read_bioware_plates,
)
from movekit.datasets import fetch
from movekit.errors import MovekitError

FS = 100.0


def _quiet(dur=30.0, bw=700.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(0, dur, 1 / FS)
    x = 5 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 0.2, t.size)
    y = 8 * np.cos(2 * np.pi * 0.1 * t) + rng.normal(0, 0.2, t.size)
    fz = bw + rng.normal(0, 0.02 * bw, t.size)
    return t, x, y, fz


def test_plate_loading_trims_stepping_on_and_off_and_finds_body_weight():
    t, x, y, fz = _quiet()
    fz[:150] = 2.0  # 1.5 s before stepping on
    fz[150:200] = np.linspace(20, 1.4 * 700, 50)  # one foot, then both, overshooting to 140 %
    fz[200:230] = np.linspace(1.4 * 700, 1.1 * 700, 30)  # settling into the quiet band at 2.0 s
    fz[-50:] = -3.0  # 0.5 s after stepping off
    fz[-80:-50] = 0.5 * 700  # one foot left the plate first
    ld = plate_loading(t, fz)
    assert ld["loaded"] and ld["quiet"]
    assert ld["body_weight_n"] == pytest.approx(700.0, rel=0.01)
    assert ld["trimmed_s"][0] == pytest.approx(2.0 + 0.3 * 15 / 30, abs=0.06)
    assert ld["trimmed_s"][1] == pytest.approx(0.8, abs=0.011)
    x[:150] = 3000.0  # garbage CoP on the unloaded plate: trimmed, not measured
    r = cop_sway(t, x, y, fz_n=fz)
    assert r.valid, r.summary()
    assert r.value("sway_duration_s") == pytest.approx(30.0 - 0.01 - sum(ld["trimmed_s"]), abs=0.02)
    assert r.value("sway_range_ml_mm") < 12.0
    assert any(f.code == "trimmed" for f in r.flags)


def test_flight_inside_the_trial_is_refused_with_its_time():
    t, x, y, fz = _quiet()
    fl = (t >= 12.0) & (t < 12.4)
    fz[fl] = 1.0
    r = cop_sway(t, x, y, fz_n=fz)
    assert not r.valid
    c = r.validity["plate_loaded"]
    assert not c.ok and c.value == pytest.approx(0.4, abs=0.011)
    assert "12.00" in c.message and "jump" in c.message
    assert r.metrics == {}


def test_force_beyond_a_quarter_of_body_weight_is_not_quiet_standing():
    t, x, y, fz = _quiet()
    fz_ok = fz.copy()
    fz_ok[1000:1050] = 700 * (1 + 0.8 * QUIET_FZ_FRACTION)  # 20 %: still quiet standing
    assert cop_sway(t, x, y, fz_n=fz_ok).valid
    fz[1000:1050] = 700 * 1.4  # a hop: 140 % of body weight, never unloaded
    r = cop_sway(t, x, y, fz_n=fz)
    assert r.validity["plate_loaded"].ok and not r.validity["quiet_standing"].ok
    assert "not quiet standing" in r.validity["quiet_standing"].message


def test_nobody_on_the_plate_or_never_settled():
    t, x, y, _ = _quiet()
    r = cop_sway(t, x, y, fz_n=np.full(t.size, UNLOADED_N / 4))
    assert not r.valid and "nobody stood" in r.validity["plate_loaded"].message
    bouncing = 700 * (1 + 0.6 * np.sin(2 * np.pi * 1.5 * t))  # hopping in place for 30 s
    r = cop_sway(t, x, y, fz_n=bouncing)
    assert not r.valid and "never stayed within" in r.validity["quiet_standing"].message


def test_cop_range_beyond_the_feet_is_refused_without_force():
    t, x, y, _ = _quiet()
    r = cop_sway(t, x * 50, y, fz_n=None)  # 500 mm medio-lateral: not under the feet
    assert not r.valid and not r.validity["cop_range"].ok
    assert "not checked" in r.validity["plate_loaded"].message


@pytest.mark.parametrize("name, reason", [("kistler_cmj", "plate_loaded"), ("kistler_dj_2plates", "plates")])
def test_real_jumps_are_refused(name, reason):
    r = run("balance", load_session(fetch(name)), min_duration_s=5.0)
    assert not r.valid
    assert not r.validity[reason].ok and not r.validity["quiet_standing"].ok
    assert r.metrics == {}


def test_real_cmj_numbers():
    t, plates, units = read_bioware_plates(fetch("kistler_cmj"))
    assert len(plates) == 1 and units[0]["Ax"] == "m"
    ld = plate_loading(t, plates[0]["Fz"])
    assert ld["body_weight_n"] == pytest.approx(766, abs=3)  # ~78 kg
    assert 0.4 < ld["unloaded_s"] < 0.7  # flight of a countermovement jump
    assert ld["fz_max_pct"] > 300


def test_two_plate_export_reads_both_plates():
    t, plates, _ = read_bioware_plates(fetch("kistler_dj_2plates"))
    assert len(plates) == 2 and all({"Fz", "Ax", "Ay"} <= set(p) for p in plates)
    # the drop box (plate 2) carries ~589 N before the drop, plate 1 after the landing
    assert np.median(plates[1]["Fz"][t < 2.0]) == pytest.approx(588, abs=5)
    assert np.median(plates[0]["Fz"][t > 5.0]) == pytest.approx(590, abs=5)
    _, cols = read_bioware(fetch("kistler_dj_2plates"))
    assert "Fz_plate2" in cols and not np.array_equal(cols["Fz"], cols["Fz_plate2"])
    cop = read_bioware_cop(fetch("kistler_dj_2plates"))
    assert cop.problem and "2 force plates carried load" in cop.problem
    assert np.isnan(cop.x_mm).all()  # never one plate silently


def _two_plate_file(tmp_path, fz1, fz2, ax1, ax2, t):
    names = ["Fx", "Fy", "Fz", "Ax", "Ay"]
    head = ["BioWare Version 5.6.1.0 Export", "File Information",
            "abs time\t" + "\t".join(names + names), "s\t" + "\t".join(["N", "N", "N", "m", "m"] * 2)]
    rows = [f"{a:.3f}\t0\t0\t{f1:.3f}\t{x1:.5f}\t0\t0\t0\t{f2:.3f}\t{x2:.5f}\t0"
            for a, f1, f2, x1, x2 in zip(t, fz1, fz2, ax1, ax2)]
    p = tmp_path / "two.txt"
    p.write_text("\n".join(head + rows) + "\n")
    return p


def test_two_loaded_plates_combine_force_weighted_with_origins(tmp_path):
    t = np.arange(0, 30, 1 / FS)
    # one foot on each plate, 60 % of 700 N on plate 1, each foot's CoP at its plate centre +- 10 mm
    fz1, fz2 = np.full(t.size, 420.0), np.full(t.size, 280.0)
    ax1, ax2 = 0.010 * np.sin(t), -0.010 * np.sin(t)
    p = _two_plate_file(tmp_path, fz1, fz2, ax1, ax2, t)
    assert read_bioware_cop(p).problem is not None
    cop = read_bioware_cop(p, plate_origins_mm=[(-150.0, 0.0), (150.0, 0.0)])
    want = (420 * (-150 + 10 * np.sin(t)) + 280 * (150 - 10 * np.sin(t))) / 700
    assert np.allclose(cop.x_mm, want, atol=0.006)
    assert cop.fz_n == pytest.approx(np.full(t.size, 700.0))
    with pytest.raises(MovekitError, match="2 plates but 1"):
        read_bioware_cop(p, plate_origins_mm=[(0.0, 0.0)])


def test_two_plate_file_with_one_plate_loaded_uses_it_and_says_so(tmp_path):
    t = np.arange(0, 30, 1 / FS)
    p = _two_plate_file(tmp_path, np.full(t.size, 3.0), np.full(t.size, 650.0),
                        np.full(t.size, 9.0), 0.01 * np.sin(t), t)
    cop = read_bioware_cop(p)
    assert cop.problem is None and np.allclose(cop.x_mm, 10 * np.sin(t), atol=0.006)  # 0.01 mm steps in the file
    r = run("balance", load_session(p))
    assert r.valid, r.summary()
    assert "plate 2 of 2 carried the load" in r.validity["source"].message


def test_cop_csv_in_metres_is_converted(tmp_path):
    t, x, y, fz = _quiet()
    f = tmp_path / "m.csv"
    np.savetxt(f, np.column_stack([t, x / 1000, y / 1000, fz]), delimiter=",",
               header="time_s,cop_x_m,cop_y_m,fz_n", comments="")
    r = run("balance", load_session(f))
    assert r.valid, r.summary()
    assert "converted to mm" in r.validity["source"].message
    ref = cop_sway(t, x, y)
    assert r.value("sway_rms_distance_mm") == pytest.approx(ref.value("sway_rms_distance_mm"), rel=1e-4)
    assert r.validity["quiet_standing"].ok


def test_semicolon_csv_with_decimal_commas(tmp_path):
    t, x, y, _ = _quiet()
    f = tmp_path / "semi.csv"
    lines = ["time_s;cop_x_mm;cop_y_mm"] + [f"{a:.2f};{b:.4f};{c:.4f}".replace(".", ",") for a, b, c in zip(t, x, y)]
    f.write_text("\n".join(lines) + "\n")
    r = run("balance", load_session(f))
    assert r.valid, r.summary()
    assert "semicolon" in r.validity["source"].message
    assert r.value("sway_range_ml_mm") == pytest.approx(np.ptp(x), abs=0.01)


def test_unrecognised_columns_are_named_briefly(tmp_path):
    t = np.arange(0, 30, 1 / FS)
    names = [f"chan{i}" for i in range(14)]
    f = tmp_path / "odd.csv"
    np.savetxt(f, np.column_stack([t] + [t] * 14), delimiter=",", header="time_s," + ",".join(names), comments="")
    r = run("balance", load_session(f))
    msg = r.validity["source"].message
    assert not r.valid
    assert "cop_x_mm" in msg and "cop_x_m," in msg and "time_s, chan0" in msg and "and 5 more" in msg
    assert "chan13" not in msg
    semi = tmp_path / "semi.csv"
    semi.write_text("t;a;b\n0;1;2\n1;2;3\n")
    with pytest.raises(MovekitError, match="semicolon-separated CSV.*needs a time_s column; found t, a, b"):
        load_session(semi)


def test_name_list():
    assert name_list([]) == "(none)"
    assert name_list(list("abc")) == "a, b, c"
    assert name_list([str(i) for i in range(12)], limit=10).endswith("8, 9 and 2 more")
