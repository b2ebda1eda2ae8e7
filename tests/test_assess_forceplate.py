"""Force-plate sources: vertical-force checks (unloaded plate, jumps), two-plate BioWare exports,
CoP CSVs in metres, semicolon CSVs and the messages about unrecognised columns."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.assess import run
from movekit.assess.balance import QUIET_FZ_FRACTION, cop_sway, plate_loading
from movekit.assess.sources import (
    UNLOADED_N,
    load_trial,
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
    r = run("balance", load_trial(fetch(name)), min_duration_s=5.0)
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
    head = [
        "BioWare Version 5.6.1.0 Export",
        "File Information",
        "abs time\t" + "\t".join(names + names),
        "s\t" + "\t".join(["N", "N", "N", "m", "m"] * 2),
    ]
    rows = [
        f"{a:.3f}\t0\t0\t{f1:.3f}\t{x1:.5f}\t0\t0\t0\t{f2:.3f}\t{x2:.5f}\t0"
        for a, f1, f2, x1, x2 in zip(t, fz1, fz2, ax1, ax2)
    ]
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
    p = _two_plate_file(
        tmp_path, np.full(t.size, 3.0), np.full(t.size, 650.0), np.full(t.size, 9.0), 0.01 * np.sin(t), t
    )
    cop = read_bioware_cop(p)
    assert cop.problem is None and np.allclose(cop.x_mm, 10 * np.sin(t), atol=0.006)  # 0.01 mm steps in the file
    r = run("balance", load_trial(p))
    assert r.valid, r.summary()
    assert "plate 2 of 2 carried the load" in r.validity["source"].message


def test_cop_csv_in_metres_is_converted(tmp_path):
    t, x, y, fz = _quiet()
    f = tmp_path / "m.csv"
    np.savetxt(
        f,
        np.column_stack([t, x / 1000, y / 1000, fz]),
        delimiter=",",
        header="time_s,cop_x_m,cop_y_m,fz_n",
        comments="",
    )
    r = run("balance", load_trial(f))
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
    r = run("balance", load_trial(f))
    assert r.valid, r.summary()
    assert "semicolon" in r.validity["source"].message
    from movekit.analysis.filters import lowpass

    # measured after the 10 Hz zero-phase low-pass (the file is already at 100 Hz)
    assert r.value("sway_range_ml_mm") == pytest.approx(np.ptp(lowpass(np.round(x, 4), FS, 10.0)), abs=0.01)
    assert r.value("sway_range_ml_mm") < np.ptp(x)  # the 0.2 mm noise is smoothed away


def test_unrecognised_columns_are_named_briefly(tmp_path):
    t = np.arange(0, 30, 1 / FS)
    names = [f"chan{i}" for i in range(14)]
    f = tmp_path / "odd.csv"
    np.savetxt(f, np.column_stack([t] + [t] * 14), delimiter=",", header="time_s," + ",".join(names), comments="")
    r = run("balance", load_trial(f))
    msg = r.validity["source"].message
    assert not r.valid
    assert "cop_x_mm" in msg and "cop_x_m," in msg and "time_s, chan0" in msg and "and 5 more" in msg
    assert "chan13" not in msg
    semi = tmp_path / "semi.csv"
    semi.write_text("t;a;b\n0;1;2\n1;2;3\n")
    with pytest.raises(MovekitError, match="semicolon-separated CSV.*needs a time_s column; found t, a, b"):
        load_trial(semi)


def test_name_list():
    assert name_list([]) == "(none)"
    assert name_list(list("abc")) == "a, b, c"
    assert name_list([str(i) for i in range(12)], limit=10).endswith("8, 9 and 2 more")


# --- unit sanity, CoP jumps (steps, shuffling), real Vicon export, malformed and headerless files -----


def _kistler_cop():
    t, plates, _ = read_bioware_plates(fetch("kistler_cop"))
    return t, plates[0]


def test_real_cop_in_metres_under_mm_columns_is_refused(tmp_path):
    t, pl = _kistler_cop()
    f = tmp_path / "metres.csv"
    np.savetxt(
        f,
        np.column_stack([t, pl["Ax"], pl["Ay"], pl["Fz"]]),
        delimiter=",",
        header="time_s,cop_x_mm,cop_y_mm,fz_n",
        comments="",
    )  # metres under _mm names
    r = run("balance", load_trial(f), min_duration_s=5.0)
    c = r.validity["cop_units"]
    assert not r.valid and not c.ok and max(c.value) < 0.1
    assert "not in mm" in c.message and "cop_x_m" in c.message
    assert "sway_mean_velocity_mm_per_s" not in r.metrics
    f.write_text(f.read_text().replace("cop_x_mm,cop_y_mm", "cop_x_m,cop_y_m"))  # named right: accepted
    r = run("balance", load_trial(f), min_duration_s=5.0)
    assert r.valid, r.summary()
    assert r.validity["cop_units"].ok and r.validity["cop_steady"].ok


def test_real_quiet_standing_passes_and_weight_shifts_are_refused():
    t, pl = _kistler_cop()
    x, y = pl["Ax"] * 1000, pl["Ay"] * 1000
    r = cop_sway(t, x, y, fz_n=pl["Fz"], min_duration_s=5.0)
    assert r.valid and r.validity["cop_steady"].value < 60  # measured 53 mm in 0.5 s
    # the same real trial with a shuffle: weight onto the left foot and back (120 mm in 0.3 s)
    shuffle = 120 * np.clip((t - 4.0) / 0.3, 0, 1) * np.clip((6.3 - t) / 0.3, 0, 1)
    r = cop_sway(t, x - shuffle, y, fz_n=pl["Fz"], min_duration_s=5.0)
    c = r.validity["cop_steady"]
    assert not r.valid and not c.ok and c.value > 100
    assert "weight shift" in c.message and r.metrics.get("sway_path_length_mm") is None


def test_real_vicon_export_is_read_and_its_jump_and_step_refused():
    from movekit.assess.sources import read_vicon_devices_cop

    c = read_vicon_devices_cop(fetch("vicon_cmj_emg"))
    assert c.t_s.size == 16000 and c.t_s[1] == pytest.approx(1 / 2000)
    assert np.median(c.fz_n) == pytest.approx(750, abs=10)  # Fz exported negative: turned into the load
    assert any("lab frame" in n for n in c.notes)
    r = run("balance", load_trial(fetch("vicon_cmj_emg")), min_duration_s=2.0)
    assert not r.valid and not r.validity["plate_loaded"].ok and r.metrics == {}
    after = c.t_s > 5.0  # landed: the force settles, but he steps (the CoP moves 261 mm in 0.5 s)
    r = cop_sway(c.t_s[after], c.x_mm[after], c.y_mm[after], fz_n=c.fz_n[after], min_duration_s=1.5)
    assert not r.valid and not r.validity["cop_steady"].ok and r.validity["cop_steady"].value > 200


def test_cop_stream_in_a_recording_is_assessed(tmp_path):
    from movekit.recording import RecordingWriter, StreamSpec

    t, pl = _kistler_cop()
    rec = tmp_path / "plate.mkrec"
    with RecordingWriter(rec, metadata={"client": "test"}) as w:
        w.add_stream(
            StreamSpec(
                name="plate", shape=(3,), unit="m", rate_hz=50.0, channel_names=("x", "y", "fz"), kind="force_plate"
            )
        )
        w.append("plate", t, np.column_stack([pl["Ax"], pl["Ay"], pl["Fz"]]).astype(np.float32))
    r = run("balance", load_trial(rec), min_duration_s=5.0)
    assert r.valid, r.summary()
    ref = cop_sway(t, pl["Ax"] * 1000, pl["Ay"] * 1000, fz_n=pl["Fz"], min_duration_s=5.0)
    assert r.value("sway_rms_distance_mm") == pytest.approx(ref.value("sway_rms_distance_mm"), rel=1e-3)


def test_headerless_bioware_rows_are_recognised(tmp_path):
    src = fetch("kistler_cop").read_text().splitlines()
    head = next(i for i, ln in enumerate(src) if ln.startswith("abs time"))
    f = tmp_path / "noheader.txt"
    f.write_text("\n".join(src[head + 2 :]) + "\n")  # the 18 data columns only
    r = run("balance", load_trial(f), min_duration_s=5.0)
    ref = run("balance", load_trial(fetch("kistler_cop")), min_duration_s=5.0)
    assert r.valid, r.summary()
    assert "BioWare column layout" in r.validity["source"].message
    assert r.value("sway_path_length_mm") == pytest.approx(ref.value("sway_path_length_mm"), rel=1e-9)


def test_headerless_forces_and_moments_give_the_plate_cop(tmp_path):
    t, pl = _kistler_cop()
    f = tmp_path / "amti.txt"  # time + Fx Fy Fz Mx My Mz, tab-separated, no header
    np.savetxt(f, np.column_stack([t] + [pl[k] for k in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]), delimiter="\t")
    s = load_trial(f)
    assert np.max(np.abs(s.cop.x_mm - pl["Ax"] * 1000)) < 1.0  # (-My/Fz, Mx/Fz) vs the plate's own CoP
    assert np.max(np.abs(s.cop.y_mm - pl["Ay"] * 1000)) < 1.0
    r = run("balance", s, min_duration_s=5.0)
    assert r.valid and "(-My, Mx) / Fz" in r.validity["source"].message


def test_headerless_unknown_layout_says_what_was_expected_and_columns_option(tmp_path):
    from movekit.cli import main

    t, pl = _kistler_cop()
    f = tmp_path / "three.txt"
    np.savetxt(f, np.column_stack([t, pl["Ax"] * 1000, pl["Ay"] * 1000]), delimiter=" ")
    with pytest.raises(MovekitError) as e:
        load_trial(f)
    msg = str(e.value)
    assert "\n" not in msg and str(f) in msg and "3-column layout is not recognised" in msg
    assert "time_s,fx_n,fy_n,fz_n,mx_nm,my_nm,mz_nm" in msg and "--columns" in msg and "BioWare" in msg
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "assess",
                "balance",
                str(f),
                "--columns",
                "time_s,cop_x_mm,cop_y_mm",
                "--min-duration",
                "5",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    import json

    assert json.loads(out.read_text())["metrics"]["sway_rms_distance_mm"]["value"] > 10
    with pytest.raises(MovekitError, match="names 2 columns"):
        load_trial(f, columns=["time_s", "cop_x_mm"])
    assert main(["assess", "balance", str(f), "--columns", "cop_x_mm,cop_y_mm,z"]) == 2


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"time_s,cop_x_mm,cop_y_mm\n0,1,2,3\n0.01,1,2,3\n", "line 2 has 4 cells but the header names 3"),
        (b"", "empty file"),
        (b"time_s,cop_x_mm,cop_y_mm\n0,1,abc\n0.01,1,2\n", "'abc' is not a number"),
        ("time_s,cop_x_mm,cop_y_mm\n0,1,2\n0.01,1,2 caf\xe9\n".encode("latin-1"), "not a UTF-8 text file"),
        (b"time_s,time_s,cop_y_mm\n0,1,2\n0.01,1,2\n", "empty or repeated column names"),
    ],
)
def test_malformed_csv_gives_one_line_naming_the_file(tmp_path, capsys, content, expected):
    from movekit.cli import main

    f = tmp_path / "bad.csv"
    f.write_bytes(content)
    with pytest.raises(MovekitError, match=expected):
        load_trial(f)
    assert main(["assess", "balance", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("movekit: error:") and str(f) in err and len(err.splitlines()) == 1


def test_trailing_delimiter_is_an_empty_last_column(tmp_path):
    t, x, y, _ = _quiet()
    f = tmp_path / "trail.csv"
    f.write_text("time_s,cop_x_mm,cop_y_mm,\n" + "".join(f"{a:.2f},{b:.4f},{c:.4f},\n" for a, b, c in zip(t, x, y)))
    assert run("balance", load_trial(f)).valid


def test_missing_samples_short_gaps_interpolated_long_gaps_and_bad_times_refused():
    t, pl = _kistler_cop()
    x, y, fz = pl["Ax"] * 1000, pl["Ay"] * 1000, pl["Fz"]
    full = cop_sway(t, x, y, fz_n=fz, min_duration_s=5.0)
    holes = x.copy()
    holes[13::13] = np.nan  # one sample in 13 missing (an empty cell): interpolated, said so
    r = cop_sway(t, holes, y, fz_n=fz, min_duration_s=5.0)
    assert r.valid and r.validity["processing"].value["interpolated_samples"] == np.isnan(holes).sum()
    assert r.value("sway_rms_distance_mm") == pytest.approx(full.value("sway_rms_distance_mm"), rel=0.01)
    holes[200:240] = np.nan  # 0.8 s without a CoP: refused, with when
    r = cop_sway(t, holes, y, fz_n=fz, min_duration_s=5.0)
    assert not r.valid and "missing for 0.8" in r.validity["cop_complete"].message  # 0.8 s + the edge sample
    late = t.copy()
    late[300:] += 5.0  # 5 s of samples missing from the file
    r = cop_sway(late, x, y, min_duration_s=5.0)
    assert not r.valid and r.validity["time"].value == pytest.approx(5.02) and "5.98 s" in r.validity["time"].message
    r = cop_sway(np.full(t.size, 1.0), x, y, min_duration_s=5.0)  # no time base
    assert not r.valid and "do not increase" in r.validity["time"].message
